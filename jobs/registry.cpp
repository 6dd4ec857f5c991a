#include "jobs/registry.hpp"

#include "jobs/builtin/builtin.hpp"

namespace recado::jobs {

const JobKindTable& all_kinds() {
  static const JobKindTable table = {
      {"noop", builtin::noop},
      {"sleep", builtin::sleep},
      {"scripted", builtin::scripted},
      {"http_call", builtin::http_call},
  };
  return table;
}

}  // namespace recado::jobs
