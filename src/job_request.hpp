#pragma once
// The body of POST /v1/jobs (and of `recadoctl enqueue`), validated:
//   {"queue": "default", "kind": "noop", "payload": {...}, "priority": 0,
//    "run_at": "2026-11-25T10:00:00Z" | "run_in": "5m", "dedup_key": "...",
//    "sequence_key": "...", "max_attempts": 25}
// Only "kind" is required. Unknown fields, wrong types and unknown kinds are errors.
#include <set>
#include <string>
#include <string_view>
#include <variant>

#include "src/clock.hpp"
#include "src/job.hpp"

namespace recado {

struct JobRequestError {
  std::string reason;  // names the field
};

// `kinds`: the job kinds a worker can run (empty: accept any). `now` resolves run_in.
std::variant<NewJob, JobRequestError> parse_job_request(std::string_view body,
                                                        const std::set<std::string>& kinds,
                                                        Timestamp now);

}  // namespace recado
