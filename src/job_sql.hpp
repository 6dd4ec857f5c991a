#pragma once
// SQL shared by the stores (job_store, inbound_store) and the operator's tools
// (queue_admin): running prepared statements, and how a job moves between the live table
// (recado.jobs) and the finished one (recado.jobs_finished).
#include <pqxx/pqxx>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace recado::job_sql {

// Runs `sql` as a statement prepared once per connection under `name`; registering the
// same name and text again is free.
template <typename... Args>
pqxx::result exec(pqxx::transaction_base& tx, const char* name, const std::string& sql, Args&&... args) {
  tx.conn().prepare(name, sql);
  return tx.exec_prepared(name, std::forward<Args>(args)...);
}

// A PostgreSQL array literal, an element at a time: {"a","b"}, {1,NULL}, {t,f}. A batch's
// rows travel as one such array per column (unnest($1::int[], $2::text[], ...)), which the
// server reads several times faster than the same rows as JSON.
class ArrayLiteral {
 public:
  ArrayLiteral& text(std::string_view s);
  ArrayLiteral& number(int64_t v);
  ArrayLiteral& boolean(bool b);
  ArrayLiteral& null();
  // The literal; the builder is spent.
  const std::string& done();

 private:
  void next() { out_ += out_.empty() ? '{' : ','; }
  std::string out_;
};

// The columns both tables have, in one order.
inline constexpr std::string_view kSharedColumns =
    "id, queue, kind, payload, priority, run_at, state, attempt, max_attempts, errors, "
    "dedup_key, sequence_key, created_at, attempted_at, result";

// INSERT INTO jobs_finished the rows of `source` (a CTE of deleted live jobs) as `state`,
// their errors given by `errors` (an SQL expression over source's columns).
std::string archive(std::string_view source, std::string_view state,
                    std::string_view errors = "errors");

// INSERT INTO jobs the rows of `source` (a CTE of deleted finished jobs), ready to run now
// with a fresh attempt count; RETURNING queue.
std::string revive(std::string_view source);

}  // namespace recado::job_sql
