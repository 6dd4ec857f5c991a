#pragma once
// The two command lines. Each main is one call into here, handing in the job kinds table
// (the mains are the only files of src/ that see jobs/).
#include "src/job_kind.hpp"

namespace recado {

int recado_main(int argc, char** argv, const JobKindTable& kinds);
int recadoctl_main(int argc, char** argv, const JobKindTable& kinds);

}  // namespace recado
