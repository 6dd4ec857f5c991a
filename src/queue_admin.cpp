#include "src/queue_admin.hpp"

#include <algorithm>

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

// An SQL timestamp as the JSON text every recadoctl time uses (UTC, milliseconds).
std::string ts(const std::string& column) {
  return "to_char(" + column + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

// `now() - d` as SQL.
std::string ago(Duration d) { return "(now() - " + std::to_string(d.count()) + " * interval '1 microsecond')"; }

// Live jobs per queue: counts by state (available: due now; scheduled: due later) and the
// oldest due wait in seconds. `queues` and `status` both start from it.
constexpr const char* kLiveByQueue = R"SQL(
    WITH live AS (
      SELECT queue,
             count(*) FILTER (WHERE state = 'available' AND run_at <= now()) AS available,
             count(*) FILTER (WHERE state = 'available' AND run_at > now()) AS scheduled,
             count(*) FILTER (WHERE state = 'running') AS running,
             count(*) FILTER (WHERE state = 'retryable') AS retryable,
             extract(epoch FROM now() - min(run_at) FILTER (
               WHERE state IN ('available', 'retryable') AND run_at <= now())) AS oldest
      FROM recado.jobs GROUP BY queue
    ))SQL";

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
  auto r = tx.exec(std::string(kLiveByQueue) + R"SQL(, finished AS (
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
  if (f.kind) where += " AND kind = " + tx.quote(*f.kind);
  if (f.tenant) where += " AND payload->>'tenant' = " + tx.quote(*f.tenant);
  if (f.older_than) where += " AND coalesce(finished_at, created_at) < " + ago(*f.older_than);
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

json delete_job(pqxx::connection& conn, int64_t id) {
  pqxx::work tx(conn);
  auto live = tx.exec_params(
      "SELECT CASE WHEN state = 'available' AND run_at > now() THEN 'scheduled' ELSE state::text END, lease_owner "
      "FROM recado.jobs WHERE id = $1 FOR UPDATE",
      id);
  std::string state;
  if (!live.empty()) {
    state = live[0][0].as<std::string>();
    if (state == "running")
      throw Refused("job " + std::to_string(id) + " is running on worker " + live[0][1].as<std::string>("?") +
                    "; it cannot be deleted until it finishes");
    tx.exec_params("DELETE FROM recado.jobs WHERE id = $1", id);
  } else {
    auto finished = tx.exec_params("DELETE FROM recado.jobs_finished WHERE id = $1 RETURNING state::text", id);
    if (finished.empty()) throw Refused("no job with id " + std::to_string(id));
    state = finished[0][0].as<std::string>();
  }
  tx.commit();
  return {{"id", id}, {"action", "deleted"}, {"state", state}};
}

// --- bulk actions ---------------------------------------------------------------------------

namespace {

const std::vector<std::string> kWaitingStates = {"available", "scheduled", "retryable"};
const std::vector<std::string> kFinishedStates = {"completed", "discarded", "cancelled"};
const std::vector<std::string> kNotRunningStates = {"available", "scheduled", "retryable",
                                                    "completed", "discarded", "cancelled"};
const std::vector<std::string> kDiscarded = {"discarded"};

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The WHERE clauses of a bulk action over the live and the finished table ("false" when the
// action's states leave one out). Running jobs never match.
struct BulkWhere {
  std::string live = "false", finished = "false";
};

BulkWhere bulk_where(pqxx::transaction_base& tx, BulkAction action, const BulkFilter& f) {
  const auto& states = f.states.empty() ? bulk_default_states(action) : f.states;
  std::string common;
  if (f.queue) common += " AND queue = " + tx.quote(*f.queue);
  if (f.kind) common += " AND kind = " + tx.quote(*f.kind);
  if (f.tenant) common += " AND payload->>'tenant' = " + tx.quote(*f.tenant);
  std::vector<std::string> live, finished;
  for (const std::string& s : states) {
    if (!contains(bulk_states(action), s))
      throw std::invalid_argument(std::string("jobs ") + to_string(action) + " cannot take " + s + " jobs");
    if (s == "available") live.push_back("(state = 'available' AND run_at <= now())");
    if (s == "scheduled") live.push_back("(state = 'available' AND run_at > now())");
    if (s == "retryable") live.push_back("state = 'retryable'");
    if (contains(kFinishedStates, s)) finished.push_back(tx.quote(s));
  }
  BulkWhere w;
  if (!live.empty()) {
    w.live = "state <> 'running' AND (";
    for (size_t i = 0; i < live.size(); ++i) w.live += (i ? " OR " : "") + live[i];
    w.live += ")" + common;
    if (f.older_than) w.live += " AND created_at < " + ago(*f.older_than);
  }
  if (!finished.empty()) {
    w.finished = "state::text IN (";
    for (size_t i = 0; i < finished.size(); ++i) w.finished += (i ? ", " : "") + finished[i];
    w.finished += ")" + common;
    if (f.older_than) w.finished += " AND finished_at < " + ago(*f.older_than);
  }
  return w;
}

// The CTE `picked (id, live)`: the oldest `limit` matching jobs of both tables.
std::string picked_cte(const BulkWhere& w, int limit) {
  return "picked AS (SELECT id, true AS live FROM recado.jobs WHERE " + w.live +
         " UNION ALL SELECT id, false FROM recado.jobs_finished WHERE " + w.finished + " ORDER BY id LIMIT " +
         std::to_string(limit) + ")";
}

}  // namespace

const char* to_string(BulkAction action) {
  switch (action) {
    case BulkAction::retry: return "retry";
    case BulkAction::cancel: return "cancel";
    case BulkAction::remove: return "delete";
  }
  return "?";
}

const std::vector<std::string>& bulk_states(BulkAction action) {
  return action == BulkAction::cancel ? kWaitingStates : kNotRunningStates;
}

const std::vector<std::string>& bulk_default_states(BulkAction action) {
  switch (action) {
    case BulkAction::retry: return kDiscarded;
    case BulkAction::cancel: return kWaitingStates;
    case BulkAction::remove: return kFinishedStates;
  }
  return kDiscarded;
}

int64_t bulk_count(pqxx::connection& conn, BulkAction action, const BulkFilter& filter) {
  pqxx::read_transaction tx(conn);
  const BulkWhere w = bulk_where(tx, action, filter);
  return tx.exec("SELECT (SELECT count(*) FROM recado.jobs WHERE " + w.live +
                 ") + (SELECT count(*) FROM recado.jobs_finished WHERE " + w.finished + ")")[0][0]
      .as<int64_t>();
}

json bulk_apply(pqxx::connection& conn, BulkAction action, const BulkFilter& filter, int limit) {
  pqxx::work tx(conn);
  const BulkWhere w = bulk_where(tx, action, filter);
  const std::string picked = "WITH " + picked_cte(w, limit);
  json out;
  if (action == BulkAction::retry) {
    // Waiting jobs run now; finished ones go back to the queue with a fresh attempt count,
    // one per dedup key (the newest) and none whose key a live job holds.
    auto r = tx.exec(picked + R"SQL(
      , run_now AS (
        UPDATE recado.jobs SET run_at = now()
        WHERE id IN (SELECT id FROM picked WHERE live) AND state <> 'running'
        RETURNING queue
      ), revivable AS (
        SELECT DISTINCT ON (coalesce(dedup_key, 'id:' || id)) id
        FROM recado.jobs_finished f
        WHERE id IN (SELECT id FROM picked WHERE NOT live)
          AND (dedup_key IS NULL OR NOT EXISTS (
            SELECT 1 FROM recado.jobs j WHERE j.dedup_key = f.dedup_key))
        ORDER BY coalesce(dedup_key, 'id:' || id), id DESC
      ), gone AS (
        DELETE FROM recado.jobs_finished WHERE id IN (SELECT id FROM revivable) RETURNING *
      ), moved AS (
    )SQL" + job_sql::revive("gone") + R"SQL(
      ), woken AS (
        SELECT pg_notify('recado_jobs', queue) FROM (SELECT queue FROM moved UNION SELECT queue FROM run_now) q
      )
      SELECT (SELECT count(*) FROM picked), (SELECT count(*) FROM moved), (SELECT count(*) FROM run_now),
             (SELECT count(*) FROM woken)
    )SQL");
    const int64_t matched = r[0][0].as<int64_t>(), requeued = r[0][1].as<int64_t>(), run_now = r[0][2].as<int64_t>();
    out = {{"matched", matched}, {"requeued", requeued}, {"run_now", run_now},
           {"skipped", matched - requeued - run_now}};
  } else if (action == BulkAction::cancel) {
    auto r = tx.exec(picked + R"SQL(
      , gone AS (
        DELETE FROM recado.jobs WHERE id IN (SELECT id FROM picked WHERE live) AND state <> 'running'
        RETURNING *
      ), archived AS (
    )SQL" + job_sql::archive("gone", "cancelled") + R"SQL( RETURNING id)
      SELECT (SELECT count(*) FROM picked), (SELECT count(*) FROM archived)
    )SQL");
    const int64_t matched = r[0][0].as<int64_t>(), cancelled = r[0][1].as<int64_t>();
    out = {{"matched", matched}, {"cancelled", cancelled}, {"skipped", matched - cancelled}};
  } else {
    auto r = tx.exec(picked + R"SQL(
      , live_gone AS (
        DELETE FROM recado.jobs WHERE id IN (SELECT id FROM picked WHERE live) AND state <> 'running'
        RETURNING id
      ), finished_gone AS (
        DELETE FROM recado.jobs_finished WHERE id IN (SELECT id FROM picked WHERE NOT live) RETURNING id
      )
      SELECT (SELECT count(*) FROM picked),
             (SELECT count(*) FROM live_gone) + (SELECT count(*) FROM finished_gone)
    )SQL");
    const int64_t matched = r[0][0].as<int64_t>(), deleted = r[0][1].as<int64_t>();
    out = {{"matched", matched}, {"deleted", deleted}, {"skipped", matched - deleted}};
  }
  tx.commit();
  return out;
}

// --- dead jobs ------------------------------------------------------------------------------

json dead(pqxx::connection& conn, const std::optional<Duration>& since, const std::optional<std::string>& queue,
          int limit) {
  pqxx::read_transaction tx(conn);
  std::string where = "state = 'discarded'";
  if (since) where += " AND finished_at > " + ago(*since);
  if (queue) where += " AND queue = " + tx.quote(*queue);
  auto r = tx.exec(R"SQL(
    WITH d AS (
      SELECT id, queue, kind, finished_at,
             CASE WHEN length(e) > 80 THEN left(e, 77) || '...' ELSE e END AS error
      FROM (SELECT *, errors -> -1 ->> 'error' AS e FROM recado.jobs_finished WHERE )SQL" + where + R"SQL() x
    ), g AS (
      SELECT queue, kind, error, count(*) AS n, max(finished_at) AS newest, min(finished_at) AS oldest,
             max(id) AS newest_id
      FROM d GROUP BY queue, kind, error
      ORDER BY n DESC, newest DESC, queue, kind LIMIT )SQL" + std::to_string(limit) + R"SQL(
    )
    SELECT coalesce((SELECT jsonb_agg(jsonb_build_object(
             'queue', queue, 'kind', kind, 'error', error, 'count', n,
             'newest_at', )SQL" + ts("newest") + R"SQL(, 'oldest_at', )SQL" + ts("oldest") + R"SQL(,
             'newest_id', newest_id) ORDER BY n DESC, newest DESC, queue, kind) FROM g), '[]'),
           (SELECT count(*) FROM d)
  )SQL");
  return {{"groups", json::parse(r[0][0].as<std::string>())}, {"total", r[0][1].as<int64_t>()}};
}

// --- status ---------------------------------------------------------------------------------

json status(pqxx::connection& conn, Duration window, Duration lease) {
  json out;
  {
    // One snapshot: every part of the screen describes the same moment.
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(conn);
    const std::string since = ago(window);
    const std::string minutes = std::to_string(static_cast<double>(window.count()) / 60e6);
    auto r = tx.exec(std::string(kLiveByQueue) + R"SQL(, recent AS (
        SELECT queue,
               count(*) FILTER (WHERE state = 'completed') AS completed,
               count(*) FILTER (WHERE state = 'discarded') AS discarded,
               count(*) FILTER (WHERE state = 'cancelled') AS cancelled,
               avg(wait) AS wait_mean, percentile_cont(0.95) WITHIN GROUP (ORDER BY wait) AS wait_p95,
               avg(run) AS run_mean, percentile_cont(0.95) WITHIN GROUP (ORDER BY run) AS run_p95
        FROM (
          SELECT queue, state,
                 CASE WHEN state <> 'cancelled' AND attempted_at IS NOT NULL
                      THEN greatest(extract(epoch FROM attempted_at - run_at), 0)::float8 END AS wait,
                 CASE WHEN state <> 'cancelled' AND attempted_at IS NOT NULL
                      THEN greatest(extract(epoch FROM finished_at - attempted_at), 0)::float8 END AS run
          FROM recado.jobs_finished
          WHERE state IN ('completed', 'discarded', 'cancelled') AND finished_at > )SQL" + since + R"SQL(
        ) f
        GROUP BY queue
      ), names AS (
        SELECT queue FROM live UNION SELECT queue FROM recent UNION SELECT name FROM recado.queues
      )
      SELECT coalesce(jsonb_agg(jsonb_build_object(
        'queue', n.queue, 'paused', coalesce(q.paused, false),
        'available', coalesce(l.available, 0), 'scheduled', coalesce(l.scheduled, 0),
        'running', coalesce(l.running, 0), 'retryable', coalesce(l.retryable, 0),
        'oldest_available_age_s', round(coalesce(l.oldest, 0)::numeric, 3),
        'completed_window', coalesce(r.completed, 0), 'discarded_window', coalesce(r.discarded, 0),
        'cancelled_window', coalesce(r.cancelled, 0),
        'throughput_per_min', round((coalesce(r.completed, 0) + coalesce(r.discarded, 0)) / )SQL" + minutes + R"SQL(, 2),
        'wait_mean_s', round(r.wait_mean::numeric, 3), 'wait_p95_s', round(r.wait_p95::numeric, 3),
        'run_mean_s', round(r.run_mean::numeric, 3), 'run_p95_s', round(r.run_p95::numeric, 3)
      ) ORDER BY n.queue), '[]'),
      (SELECT coalesce(jsonb_agg(name ORDER BY name), '[]') FROM recado.queues WHERE paused),
      )SQL" + ts("now()") + R"SQL(
      FROM names n LEFT JOIN live l USING (queue) LEFT JOIN recent r USING (queue)
      LEFT JOIN recado.queues q ON q.name = n.queue
    )SQL");
    out["generated_at"] = r[0][2].as<std::string>();
    out["window_s"] = static_cast<double>(window.count()) / 1e6;
    out["queues"] = json::parse(r[0][0].as<std::string>());
    out["paused_queues"] = json::parse(r[0][1].as<std::string>());

    const std::string lease_ago = ago(lease);
    auto stuck = tx.exec(R"SQL(
      SELECT (SELECT jsonb_build_object(
                'id', id, 'queue', queue, 'kind', kind, 'worker', lease_owner,
                'running_s', round(extract(epoch FROM now() - attempted_at)::numeric, 1),
                'lease_expired', lease_until < now(), 'lease_until', )SQL" + ts("lease_until") + R"SQL()
              FROM recado.jobs
              WHERE state = 'running' AND (lease_until < now() OR attempted_at < )SQL" + lease_ago + R"SQL()
              ORDER BY attempted_at, id LIMIT 1),
             (SELECT count(*) FROM recado.jobs
              WHERE state = 'running' AND (lease_until < now() OR attempted_at < )SQL" + lease_ago + R"SQL()),
             (SELECT jsonb_build_object(
                'id', j.id, 'queue', j.queue, 'kind', j.kind, 'state', j.state,
                'waiting_s', round(extract(epoch FROM now() - j.run_at)::numeric, 1),
                'queue_paused', coalesce(q.paused, false))
              FROM recado.jobs j LEFT JOIN recado.queues q ON q.name = j.queue
              WHERE j.state IN ('available', 'retryable') AND j.run_at <= now()
              ORDER BY j.run_at, j.id LIMIT 1)
    )SQL");
    out["stuck"] = {{"running", stuck[0][0].is_null() ? json() : json::parse(stuck[0][0].as<std::string>())},
                    {"running_count", stuck[0][1].as<int64_t>()},
                    {"waiting", stuck[0][2].is_null() ? json() : json::parse(stuck[0][2].as<std::string>())}};
    tx.commit();
  }
  json all = workers(conn);
  const double lease_s = static_cast<double>(lease.count()) / 1e6;
  int live = 0;
  for (auto& w : all) {
    const bool is_live = w["heartbeat_age_s"].get<double>() < lease_s;
    w["live"] = is_live;
    live += is_live;
  }
  out["workers"] = std::move(all);
  out["workers_live"] = live;
  return out;
}

// --- conversations --------------------------------------------------------------------------

std::optional<json> conversation(pqxx::connection& conn, int64_t id, int messages, bool show_text) {
  pqxx::read_transaction tx(conn);
  auto c = tx.exec_params(
      "SELECT jsonb_build_object('id', id, 'tenant', tenant, 'contact', contact, 'name', name, "
      "'handed_off', handed_off, 'handed_off_at', " + ts("handed_off_at") +
          ", 'handed_off_by', handed_off_by, 'last_inbound_at', " + ts("last_inbound_at") +
          ", 'replied_through', replied_through, 'fallback_through', fallback_through, "
          "'created_at', " + ts("created_at") + ", 'updated_at', " + ts("updated_at") +
          "), tenant, contact FROM recado.conversations WHERE id = $1",
      id);
  if (c.empty()) return std::nullopt;
  const std::string tenant = c[0][1].as<std::string>(), contact = c[0][2].as<std::string>();
  auto m = tx.exec_params(
      "SELECT coalesce(jsonb_agg(m ORDER BY id), '[]'), "
      "(SELECT count(*) FROM recado.messages WHERE tenant = $1 AND contact = $2) FROM ("
      "SELECT id, jsonb_build_object('id', id, 'at', " + ts("occurred_at") +
          ", 'direction', direction, 'origin', nullif(origin, ''), 'kind', kind, 'status', status, "
          "'error', error, 'provider', provider, 'job_id', job_id, 'sent_at', " + ts("sent_at") +
          ", 'status_at', " + ts("status_at") +
          ", 'body', CASE WHEN $3 THEN body END, 'body_chars', char_length(body)) AS m "
          "FROM recado.messages WHERE tenant = $1 AND contact = $2 ORDER BY id DESC LIMIT $4) s",
      tenant, contact, show_text, messages);
  return json{{"conversation", json::parse(c[0][0].as<std::string>())},
              {"messages", json::parse(m[0][0].as<std::string>())},
              {"messages_total", m[0][1].as<int64_t>()},
              {"text_shown", show_text}};
}

}  // namespace recado::queue_admin
