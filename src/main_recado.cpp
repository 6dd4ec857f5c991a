// The composition root of `recado`: the job kinds table meets the runtime.
#include "jobs/registry.hpp"
#include "src/app.hpp"

int main(int argc, char** argv) { return recado::recado_main(argc, argv, recado::jobs::all_kinds()); }
