#include "src/job_sql.hpp"

namespace recado::job_sql {

ArrayLiteral& ArrayLiteral::text(std::string_view s) {
  next();
  out_ += '"';
  // Copied in runs; only " and \ are escaped.
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '"' && s[i] != '\\') continue;
    out_.append(s.data() + run, i - run);
    out_ += '\\';
    run = i;
  }
  out_.append(s.data() + run, s.size() - run);
  out_ += '"';
  return *this;
}

ArrayLiteral& ArrayLiteral::number(int64_t v) {
  next();
  out_ += std::to_string(v);
  return *this;
}

ArrayLiteral& ArrayLiteral::boolean(bool b) {
  next();
  out_ += b ? 't' : 'f';
  return *this;
}

ArrayLiteral& ArrayLiteral::null() {
  next();
  out_ += "NULL";
  return *this;
}

const std::string& ArrayLiteral::done() {
  if (out_.empty()) out_ += '{';
  out_ += '}';
  return out_;
}

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
