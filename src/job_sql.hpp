#pragma once
// SQL shared by the store (job_store) and the operator's tools (queue_admin): how a job
// moves between the live table (recado.jobs) and the finished one (recado.jobs_finished).
#include <string>
#include <string_view>

namespace recado::job_sql {

// The columns both tables have, in one order.
inline constexpr std::string_view kSharedColumns =
    "id, queue, kind, payload, priority, run_at, state, attempt, max_attempts, errors, "
    "dedup_key, sequence_key, created_at, attempted_at";

// INSERT INTO jobs_finished the rows of `source` (a CTE of deleted live jobs) as `state`,
// their errors given by `errors` (an SQL expression over source's columns).
std::string archive(std::string_view source, std::string_view state,
                    std::string_view errors = "errors");

// INSERT INTO jobs the rows of `source` (a CTE of deleted finished jobs), ready to run now
// with a fresh attempt count; RETURNING queue.
std::string revive(std::string_view source);

}  // namespace recado::job_sql
