#include "src/queue_admin.hpp"

#include "src/job_sql.hpp"

namespace recado::queue_admin {

namespace {

using json = nlohmann::json;

// One row shape for both tables, as JSON.
constexpr const char* kJobJson = R"SQL(
  jsonb_build_object(
    'id', id, 'queue', queue, 'kind', kind, 'state', state, 'attempt', attempt,
    'max_attempts', max_attempts, 'priority', priority,
    'run_at', to_char(run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'created_at', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'finished_at', to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'last_error', errors -> -1 ->> 'error', 'result', result)
)SQL";

std::string all_jobs_sql() {
  return "(SELECT " + std::string(job_sql::kSharedColumns) +
         ", lease_owner, lease_until, NULL::timestamptz AS finished_at, "
         "(state = 'available' AND run_at > now()) AS scheduled FROM recado.jobs "
         "UNION ALL SELECT " + std::string(job_sql::kSharedColumns) +
         ", NULL, NULL, finished_at, false FROM recado.jobs_finished)";
}

}  // namespace

json queues(pqxx::connection& conn) {
  pqxx::read_transaction tx(conn);
  auto r = tx.exec(R"SQL(
    WITH live AS (
      SELECT queue,
             count(*) FILTER (WHERE state = 'available' AND run_at <= now()) AS available,
             count(*) FILTER (WHERE state = 'available' AND run_at > now()) AS scheduled,
             count(*) FILTER (WHERE state = 'running') AS running,
             count(*) FILTER (WHERE state = 'retryable') AS retryable,
             extract(epoch FROM now() - min(run_at) FILTER (
               WHERE state IN ('available', 'retryable') AND run_at <= now())) AS oldest
      FROM recado.jobs GROUP BY queue
    ), finished AS (
      SELECT queue,
             count(*) FILTER (WHERE state = 'completed') AS completed,
             count(*) FILTER (WHERE state = 'discarded') AS discarded,
             count(*) FILTER (WHERE state = 'cancelled') AS cancelled
      FROM recado.jobs_finished GROUP BY queue
    ), names AS (
      SELECT queue FROM live UNION SELECT queue FROM finished UNION SELECT name FROM recado.queues
    )
    SELECT coalesce(jsonb_agg(jsonb_build_object(
      'queue', n.queue, 'paused', coalesce(q.paused, false),
      'available', coalesce(l.available, 0), 'scheduled', coalesce(l.scheduled, 0),
      'running', coalesce(l.running, 0), 'retryable', coalesce(l.retryable, 0),
      'completed', coalesce(f.completed, 0), 'discarded', coalesce(f.discarded, 0),
      'cancelled', coalesce(f.cancelled, 0),
      'oldest_available_age_s', round(coalesce(l.oldest, 0)::numeric, 3)) ORDER BY n.queue), '[]')
    FROM names n LEFT JOIN live l USING (queue) LEFT JOIN finished f USING (queue)
    LEFT JOIN recado.queues q ON q.name = n.queue
  )SQL");
  return json::parse(r[0][0].as<std::string>());
}

json list_jobs(pqxx::connection& conn, const JobFilter& f) {
  pqxx::read_transaction tx(conn);
  std::string where = "true";
  if (f.queue) where += " AND queue = " + tx.quote(*f.queue);
  if (f.state) {
    if (*f.state == "scheduled") {
      where += " AND scheduled";
    } else if (*f.state == "available") {
      where += " AND state = 'available' AND NOT scheduled";
    } else {
      where += " AND state = " + tx.quote(*f.state) + "::recado.job_state";
    }
  }
  auto r = tx.exec("SELECT coalesce(jsonb_agg(j ORDER BY (j->>'id')::bigint DESC), '[]') FROM ("
                   "SELECT " + std::string(kJobJson) + " AS j FROM " + all_jobs_sql() +
                   " AS a WHERE " + where + " ORDER BY id DESC LIMIT " + std::to_string(f.limit) + ") s");
  return json::parse(r[0][0].as<std::string>());
}

std::optional<json> show_job(pqxx::connection& conn, int64_t id) {
  pqxx::read_transaction tx(conn);
  auto r = tx.exec_params(
      "SELECT " + std::string(kJobJson) + R"SQL( || jsonb_build_object(
         'payload', payload, 'errors', errors, 'dedup_key', dedup_key,
         'sequence_key', sequence_key, 'lease_owner', lease_owner,
         'lease_until', to_char(lease_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
         'attempted_at', to_char(attempted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
         'scheduled', scheduled)
       FROM )SQL" + all_jobs_sql() + " AS a WHERE id = $1",
      id);
  if (r.empty()) return std::nullopt;
  return json::parse(r[0][0].as<std::string>());
}

json retry_job(pqxx::connection& conn, int64_t id) {
  pqxx::work tx(conn);
  auto live = tx.exec_params("SELECT state, lease_owner FROM recado.jobs WHERE id = $1 FOR UPDATE", id);
  if (!live.empty()) {
    if (live[0][0].as<std::string>() == "running")
      throw Refused("job " + std::to_string(id) + " is running on worker " +
                    live[0][1].as<std::string>("?") + "; it cannot be retried until it finishes");
    tx.exec_params("UPDATE recado.jobs SET run_at = now() WHERE id = $1", id);
    tx.exec_params("SELECT pg_notify('recado_jobs', queue) FROM recado.jobs WHERE id = $1", id);
    tx.commit();
    return {{"id", id}, {"action", "runs now"}};
  }
  auto finished = tx.exec_params(
      "SELECT dedup_key FROM recado.jobs_finished WHERE id = $1 FOR UPDATE", id);
  if (finished.empty()) throw Refused("no job with id " + std::to_string(id));
  if (!finished[0][0].is_null()) {
    const std::string key = finished[0][0].as<std::string>();
    auto holder = tx.exec_params("SELECT id FROM recado.jobs WHERE dedup_key = $1", key);
    if (!holder.empty())
      throw Refused("job " + std::to_string(id) + " cannot be retried: live job " +
                    holder[0][0].as<std::string>() + " already holds its dedup key '" + key + "'");
  }
  auto moved = tx.exec_params(
      "WITH gone AS (DELETE FROM recado.jobs_finished WHERE id = $1 RETURNING *) " +
          job_sql::revive("gone"),
      id);
  tx.exec_params("SELECT pg_notify('recado_jobs', $1)", moved[0][0].as<std::string>());
  tx.commit();
  return {{"id", id}, {"action", "requeued"}};
}

int retry_discarded(pqxx::connection& conn, const std::optional<std::string>& queue) {
  pqxx::work tx(conn);
  auto r = tx.exec_params(R"SQL(
    WITH picked AS (
      -- One job per dedup key (the newest), and none whose key a live job holds.
      SELECT DISTINCT ON (coalesce(dedup_key, 'id:' || id)) id
      FROM recado.jobs_finished f
      WHERE state = 'discarded' AND ($2 OR queue = $1)
        AND (dedup_key IS NULL OR NOT EXISTS (
          SELECT 1 FROM recado.jobs j WHERE j.dedup_key = f.dedup_key))
      ORDER BY coalesce(dedup_key, 'id:' || id), id DESC
    ), gone AS (
      DELETE FROM recado.jobs_finished WHERE id IN (SELECT id FROM picked)
      RETURNING *
    ), moved AS (
  )SQL" + job_sql::revive("gone") + R"SQL(
    ), woken AS (
      SELECT pg_notify('recado_jobs', queue) FROM (SELECT DISTINCT queue FROM moved) q
    )
    SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM woken)
  )SQL", queue.value_or(""), !queue.has_value());
  tx.commit();
  return r[0][0].as<int>();
}

json cancel_job(pqxx::connection& conn, int64_t id) {
  pqxx::work tx(conn);
  auto live = tx.exec_params("SELECT state, lease_owner FROM recado.jobs WHERE id = $1 FOR UPDATE", id);
  if (live.empty()) {
    auto fin = tx.exec_params("SELECT state FROM recado.jobs_finished WHERE id = $1", id);
    if (fin.empty()) throw Refused("no job with id " + std::to_string(id));
    throw Refused("job " + std::to_string(id) + " is already " + fin[0][0].as<std::string>());
  }
  if (live[0][0].as<std::string>() == "running")
    throw Refused("job " + std::to_string(id) + " is running on worker " +
                  live[0][1].as<std::string>("?") + "; it cannot be cancelled until it finishes");
  tx.exec_params("WITH gone AS (DELETE FROM recado.jobs WHERE id = $1 RETURNING *) " +
                     job_sql::archive("gone", "cancelled"),
                 id);
  tx.commit();
  return {{"id", id}, {"action", "cancelled"}};
}

void set_paused(pqxx::connection& conn, const std::string& queue, bool paused) {
  pqxx::work tx(conn);
  tx.exec_params(
      "INSERT INTO recado.queues (name, paused) VALUES ($1, $2) "
      "ON CONFLICT (name) DO UPDATE SET paused = $2, updated_at = now()",
      queue, paused);
  if (!paused) tx.exec_params("SELECT pg_notify('recado_jobs', $1)", queue);
  tx.commit();
}

json workers(pqxx::connection& conn) {
  pqxx::read_transaction tx(conn);
  auto r = tx.exec(R"SQL(
    SELECT coalesce(jsonb_agg(jsonb_build_object(
      'id', w.id, 'host', w.host, 'pid', w.pid, 'queues', to_jsonb(w.queues),
      'started_at', to_char(w.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
      'heartbeat_at', to_char(w.heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
      'heartbeat_age_s', round(extract(epoch FROM now() - w.heartbeat_at)::numeric, 1),
      'running', (SELECT count(*) FROM recado.jobs j WHERE j.lease_owner = w.id AND j.state = 'running')
    ) ORDER BY w.started_at), '[]')
    FROM recado.workers w
  )SQL");
  return json::parse(r[0][0].as<std::string>());
}

}  // namespace recado::queue_admin
