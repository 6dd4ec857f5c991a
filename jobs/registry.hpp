#pragma once
// The one explicit table of job kinds this build can run.
#include "src/job_kind.hpp"

namespace recado::jobs {

const JobKindTable& all_kinds();

}  // namespace recado::jobs
