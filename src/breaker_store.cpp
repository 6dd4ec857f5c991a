#include "src/breaker_store.hpp"

#include "src/job_sql.hpp"

namespace recado::breaker_store {

namespace {

const std::string kColumns = R"SQL(
  name, state, forced, run_failures, (extract(epoch FROM window_start) * 1000000)::bigint,
  window_calls, window_failures, (extract(epoch FROM opened_at) * 1000000)::bigint,
  (extract(epoch FROM probe_at) * 1000000)::bigint, probes, coalesce(last_error, ''), transitions,
  (extract(epoch FROM updated_at) * 1000000)::bigint
)SQL";

std::optional<Timestamp> optional_time(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return from_epoch_micros(f.as<int64_t>());
}

Breaker from_row(const pqxx::row& r) {
  Breaker b;
  b.name = r[0].as<std::string>();
  b.state = parse_breaker_state(r[1].as<std::string>()).value_or(BreakerState::closed);
  b.forced = r[2].as<bool>();
  b.run_failures = r[3].as<int>();
  b.window_start = from_epoch_micros(r[4].as<int64_t>());
  b.window_calls = r[5].as<int>();
  b.window_failures = r[6].as<int>();
  b.opened_at = optional_time(r[7]);
  b.probe_at = optional_time(r[8]);
  b.probes = r[9].as<int>();
  b.last_error = r[10].as<std::string>();
  b.transitions = r[11].as<int64_t>();
  b.updated_at = from_epoch_micros(r[12].as<int64_t>());
  return b;
}

// The breaker's row, locked for this transaction; created (closed) if new.
Breaker lock(pqxx::work& tx, const std::string& name, Timestamp now) {
  job_sql::exec(tx, "recado_breaker_create", R"SQL(
    INSERT INTO recado.breakers (name, window_start, updated_at)
    VALUES ($1, 'epoch'::timestamptz + $2 * interval '1 microsecond', 'epoch'::timestamptz + $2 * interval '1 microsecond')
    ON CONFLICT (name) DO NOTHING
  )SQL", name, epoch_micros(now));
  return from_row(job_sql::exec(tx, "recado_breaker_lock",
                                "SELECT " + kColumns + " FROM recado.breakers WHERE name = $1 FOR UPDATE", name)[0]);
}

std::optional<int64_t> micros(const std::optional<Timestamp>& t) {
  if (!t) return std::nullopt;
  return epoch_micros(*t);
}

void write(pqxx::work& tx, const Breaker& b) {
  job_sql::exec(tx, "recado_breaker_write", R"SQL(
    UPDATE recado.breakers SET
      state = $2, forced = $3, run_failures = $4,
      window_start = 'epoch'::timestamptz + $5 * interval '1 microsecond',
      window_calls = $6, window_failures = $7,
      opened_at = 'epoch'::timestamptz + $8 * interval '1 microsecond',
      probe_at = 'epoch'::timestamptz + $9 * interval '1 microsecond',
      probes = $10, last_error = nullif($11, ''), transitions = $12,
      updated_at = 'epoch'::timestamptz + $13 * interval '1 microsecond'
    WHERE name = $1
  )SQL", b.name, std::string(to_string(b.state)), b.forced, b.run_failures, epoch_micros(b.window_start),
                b.window_calls, b.window_failures, micros(b.opened_at), micros(b.probe_at), b.probes, b.last_error,
                b.transitions, epoch_micros(b.updated_at));
}

}  // namespace

std::vector<Breaker> load_all(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  std::vector<Breaker> out;
  for (const auto& row : job_sql::exec(tx, "recado_breaker_all", "SELECT " + kColumns + " FROM recado.breakers ORDER BY name"))
    out.push_back(from_row(row));
  return out;
}

std::optional<Breaker> load(pqxx::connection& conn, const std::string& name) {
  pqxx::nontransaction tx(conn);
  const auto r = job_sql::exec(tx, "recado_breaker_one", "SELECT " + kColumns + " FROM recado.breakers WHERE name = $1", name);
  if (r.empty()) return std::nullopt;
  return from_row(r[0]);
}

Breaker report(pqxx::connection& conn, const std::string& name, const BreakerReport& report,
               const BreakerConfig& config, Timestamp now) {
  pqxx::work tx(conn);
  Breaker b = lock(tx, name, now);
  apply_report(b, report, config, now);
  write(tx, b);
  tx.commit();
  return b;
}

std::pair<bool, Breaker> try_probe(pqxx::connection& conn, const std::string& name, const BreakerConfig& config,
                                   Timestamp now) {
  pqxx::work tx(conn);
  Breaker b = lock(tx, name, now);
  const bool started = start_probe(b, config, now);
  if (started) write(tx, b);
  tx.commit();
  return {started, b};
}

bool force_open(pqxx::connection& conn, const std::string& name, Timestamp now) {
  pqxx::work tx(conn);
  Breaker b = lock(tx, name, now);
  recado::force_open(b, now);
  write(tx, b);
  tx.commit();
  return true;
}

bool force_close(pqxx::connection& conn, const std::string& name, Timestamp now) {
  pqxx::work tx(conn);
  const auto r = job_sql::exec(tx, "recado_breaker_lock",
                               "SELECT " + kColumns + " FROM recado.breakers WHERE name = $1 FOR UPDATE", name);
  if (r.empty()) return false;
  Breaker b = from_row(r[0]);
  recado::force_close(b, now);
  write(tx, b);
  tx.commit();
  return true;
}

bool reset(pqxx::connection& conn, const std::string& name) {
  pqxx::work tx(conn);
  const auto r = tx.exec_params("DELETE FROM recado.breakers WHERE name = $1", name);
  tx.commit();
  return r.affected_rows() > 0;
}

}  // namespace recado::breaker_store
