// The composition root of `recadoctl`.
#include "jobs/registry.hpp"
#include "src/app.hpp"

int main(int argc, char** argv) { return recado::recadoctl_main(argc, argv, recado::jobs::all_kinds()); }
