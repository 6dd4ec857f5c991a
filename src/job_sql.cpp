#include "src/job_sql.hpp"

namespace recado::job_sql {

std::string archive(std::string_view source, std::string_view state, std::string_view errors) {
  std::string sql = "INSERT INTO recado.jobs_finished (";
  sql += kSharedColumns;
  sql += ") SELECT id, queue, kind, payload, priority, run_at, '";
  sql += state;
  sql += "', attempt, max_attempts, ";
  sql += errors;
  sql += ", dedup_key, sequence_key, created_at, attempted_at, result FROM ";
  sql += source;
  return sql;
}

std::string revive(std::string_view source) {
  std::string sql =
      "INSERT INTO recado.jobs (id, queue, kind, payload, priority, run_at, state, attempt, "
      "max_attempts, errors, dedup_key, sequence_key, created_at) "
      "SELECT id, queue, kind, payload, priority, now(), 'available', 0, max_attempts, errors, "
      "dedup_key, sequence_key, created_at FROM ";
  sql += source;
  sql += " RETURNING queue";
  return sql;
}

}  // namespace recado::job_sql
