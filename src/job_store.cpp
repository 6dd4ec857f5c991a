#include "src/job_store.hpp"

#include <nlohmann/json.hpp>

#include "src/job_sql.hpp"
#include "src/log.hpp"

#include <algorithm>
#include <map>
#include <tuple>

namespace recado::job_store {

namespace {

using json = nlohmann::json;
using job_sql::exec;

// Moves running jobs leased to $2 with ids in $1 to jobs_finished as `state`.
std::string move_finished_sql(const char* state) {
  return R"SQL(
    WITH gone AS (
      DELETE FROM recado.jobs
      WHERE id = ANY($1::bigint[]) AND state = 'running' AND lease_owner = $2
        AND attempt = ($3::int[])[array_position($1::bigint[], id)]
      RETURNING *
    )
  )SQL" + job_sql::archive("gone", state);
}

void append_json_string(std::string& out, const std::string& s) {
  out += '"';
  out += log::json_escape(s);
  out += '"';
}

template <typename Int>
std::string id_array(const std::vector<Int>& ids) {
  std::string out = "{";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(ids[i]);
  }
  return out + "}";
}

struct Inserted {
  size_t index;
  int64_t id;     // 0: refused for a dedup key whose holder this statement could not see
  bool inserted;  // false: id is the live job that holds the dedup key
};

// Inserts jobs[which] in one statement.
std::vector<Inserted> insert_batch(pqxx::transaction_base& tx, const std::vector<NewJob>& jobs,
                                                     const std::vector<size_t>& which) {
  // The rows as a JSON array, written directly: payloads are already JSON text.
  std::string input = "[";
  for (size_t i : which) {
    const NewJob& j = jobs[i];
    if (input.size() > 1) input += ',';
    input += "{\"ord\":" + std::to_string(i) + ",\"queue\":";
    append_json_string(input, j.queue);
    input += ",\"kind\":";
    append_json_string(input, j.kind);
    input += ",\"priority\":" + std::to_string(j.priority) + ",\"payload\":" + j.payload_json;
    if (j.run_at) input += ",\"run_at_us\":" + std::to_string(epoch_micros(*j.run_at));
    if (j.dedup_key) {
      input += ",\"dedup_key\":";
      append_json_string(input, *j.dedup_key);
    }
    if (j.sequence_key) {
      input += ",\"sequence_key\":";
      append_json_string(input, *j.sequence_key);
    }
    if (j.max_attempts > 0) input += ",\"max_attempts\":" + std::to_string(j.max_attempts);
    input += '}';
  }
  input += ']';
  static const std::string kInsert = R"SQL(
    WITH input AS MATERIALIZED (
      SELECT nextval('recado.jobs_id_seq') AS id, t.*
      FROM jsonb_to_recordset($1::jsonb) AS t(ord bigint, queue text, kind text, payload jsonb,
        priority smallint, run_at_us bigint, dedup_key text, sequence_key text, max_attempts integer)
    ), inserted AS (
      INSERT INTO recado.jobs (id, queue, kind, payload, priority, run_at, dedup_key,
                               sequence_key, max_attempts)
      SELECT id, queue, kind, coalesce(payload, '{}'), coalesce(priority, 0),
             CASE WHEN run_at_us IS NULL THEN now()
                  ELSE 'epoch'::timestamptz + run_at_us * interval '1 microsecond' END,
             dedup_key, sequence_key, coalesce(max_attempts, 25)
      FROM input ORDER BY dedup_key  -- one lock order for concurrent batches
      ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING
      RETURNING id
    )
    -- A refused job takes the id of the live job holding its key, when that job was
    -- already committed as this statement began (the common replay); otherwise null.
    -- (A per-row index look-up: a join here may be planned as a scan of the whole index.)
    SELECT input.ord,
           coalesce(inserted.id, (SELECT existing.id FROM recado.jobs existing
                                  WHERE existing.dedup_key = input.dedup_key)),
           inserted.id IS NOT NULL
    FROM input LEFT JOIN inserted USING (id)
  )SQL";
  auto rows = exec(tx, "recado_enqueue", kInsert, input);
  std::vector<Inserted> out;
  out.reserve(rows.size());
  for (const auto& r : rows)
    out.push_back({r[0].as<size_t>(), r[1].is_null() ? 0 : r[1].as<int64_t>(), r[2].as<bool>()});
  return out;
}

}  // namespace

std::vector<EnqueueResult> enqueue(pqxx::connection& conn, const std::vector<NewJob>& jobs) {
  std::vector<EnqueueResult> results(jobs.size());
  if (jobs.empty()) return results;
  // Each statement commits on its own: one round trip per batch, and the answer comes
  // only after the commit. A batch needs no more than that, being one INSERT.
  pqxx::nontransaction tx(conn);
  std::vector<size_t> pending(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) pending[i] = i;
  // A job refused for a dedup key whose holder the insert could not see (it committed
  // meanwhile) takes that holder's id; if the holder finished in between, the key is free
  // again: insert once more. Failures after the first round (which committed) leave those
  // jobs with id 0 rather than throwing, so their committed neighbours are still reported.
  for (int round = 0; round < 5 && !pending.empty(); ++round) {
    try {
      std::vector<size_t> refused;
      for (const Inserted& r : insert_batch(tx, jobs, pending)) {
        if (r.id) {
          results[r.index] = {r.id, r.inserted};
        } else {
          refused.push_back(r.index);
        }
      }
      pending.clear();
      if (refused.empty()) break;
      json keys = json::array();
      for (size_t ord : refused) keys.push_back(*jobs[ord].dedup_key);
      std::map<std::string, int64_t> live;
      for (const auto& r : tx.exec_params(
               "SELECT dedup_key, id FROM recado.jobs WHERE dedup_key IN "
               "(SELECT jsonb_array_elements_text($1::jsonb))",
               keys.dump()))
        live[r[0].as<std::string>()] = r[1].as<int64_t>();
      for (size_t ord : refused) {
        auto it = live.find(*jobs[ord].dedup_key);
        if (it != live.end()) {
          results[ord] = {it->second, false};
        } else {
          pending.push_back(ord);
        }
      }
    } catch (const std::exception&) {
      if (round == 0 && pending.size() == jobs.size()) throw;  // nothing committed yet
      break;
    }
  }
  return results;
}

void notify(pqxx::connection& conn, const std::vector<std::string>& queues) {
  if (queues.empty()) return;
  json names = queues;
  pqxx::nontransaction tx(conn);
  // A wake-up lost in a crash wakes nobody who is still listening: no need to wait for
  // the WAL flush, and so no long hold on the server's notification lock.
  static const std::string kNotify = R"SQL(
    SELECT set_config('synchronous_commit', 'off', true), pg_notify('recado_jobs', q)
    FROM jsonb_array_elements_text($1::jsonb) AS q
  )SQL";
  exec(tx, "recado_notify", kNotify, names.dump());
}

std::vector<Job> claim(pqxx::connection& conn, const std::string& queue, int limit,
                       const std::string& worker_id, Duration lease,
                       std::optional<Timestamp> due_by) {
  // One statement in its own transaction: one round trip. A claim lost in a crash only
  // puts its jobs back in the queue, which is what the crash does to them anyway, and the
  // durable completion that follows flushes it: so the claim commits without waiting for
  // its WAL flush (set_config(..., true) applies to this statement's transaction).
  pqxx::nontransaction tx(conn);
  static const std::string kClaim = R"SQL(
    WITH async_commit AS MATERIALIZED (
      SELECT set_config('synchronous_commit', 'off', true)
    ), ready AS (
      SELECT j.id FROM recado.jobs j
      WHERE j.queue = $1 AND j.state IN ('available', 'retryable') AND j.run_at <= coalesce('epoch'::timestamptz + $5::bigint * interval '1 microsecond', now())
        AND NOT EXISTS (SELECT 1 FROM recado.queues q WHERE q.name = $1 AND q.paused)
        AND EXISTS (SELECT 1 FROM async_commit)
        AND (j.sequence_key IS NULL OR NOT EXISTS (
          SELECT 1 FROM recado.jobs o
          WHERE o.sequence_key = j.sequence_key AND o.id <> j.id
            AND (o.id < j.id OR o.state = 'running')))
      ORDER BY j.priority, j.run_at, j.id
      LIMIT $2
      FOR UPDATE SKIP LOCKED
    )
    UPDATE recado.jobs j
    SET state = 'running', attempt = j.attempt + 1, attempted_at = now(),
        dedup_key = CASE WHEN j.dedup_until_started THEN NULL ELSE j.dedup_key END,
        lease_owner = $3, lease_until = now() + $4 * interval '1 microsecond'
    FROM ready WHERE j.id = ready.id
    RETURNING j.id, j.queue, j.kind, j.payload::text, j.priority, j.attempt, j.max_attempts,
              j.sequence_key, (extract(epoch FROM j.run_at) * 1000000)::bigint,
              (extract(epoch FROM j.created_at) * 1000000)::bigint
  )SQL";
  const std::optional<int64_t> due_us = due_by ? std::optional<int64_t>(epoch_micros(*due_by)) : std::nullopt;
  auto rows = exec(tx, "recado_claim", kClaim, queue, limit, worker_id, static_cast<int64_t>(lease.count()), due_us);
  std::vector<Job> jobs;
  jobs.reserve(rows.size());
  for (const auto& r : rows) {
    Job j;
    j.id = r[0].as<int64_t>();
    j.queue = r[1].as<std::string>();
    j.kind = r[2].as<std::string>();
    j.payload_json = r[3].as<std::string>();
    j.priority = r[4].as<int>();
    j.attempt = r[5].as<int>();
    j.max_attempts = r[6].as<int>();
    if (!r[7].is_null()) j.sequence_key = r[7].as<std::string>();
    j.run_at = from_epoch_micros(r[8].as<int64_t>());
    j.created_at = from_epoch_micros(r[9].as<int64_t>());
    jobs.push_back(std::move(j));
  }
  // Oldest first within the batch, as the index ordered them.
  std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) {
    return std::tie(a.priority, a.run_at, a.id) < std::tie(b.priority, b.run_at, b.id);
  });
  return jobs;
}

bool complete_one(pqxx::transaction_base& tx, int64_t id, int attempt, const std::string& worker_id,
                  const std::string& result_json, bool keep_completed) {
  static const std::string kResult =
      "UPDATE recado.jobs SET result = $4::jsonb "
      "WHERE id = $1 AND state = 'running' AND lease_owner = $2 AND attempt = $3";
  if (!result_json.empty()) exec(tx, "recado_job_result", kResult, id, worker_id, attempt, result_json);
  static const std::string kComplete = move_finished_sql("completed");
  static const std::string kDelete =
      "DELETE FROM recado.jobs WHERE id = $1 AND state = 'running' AND lease_owner = $2 AND attempt = $3";
  const auto r = keep_completed
      ? exec(tx, "recado_complete", kComplete, id_array(std::vector<int64_t>{id}), worker_id, id_array(std::vector<int>{attempt}))
      : exec(tx, "recado_complete_one_delete", kDelete, id, worker_id, attempt);
  return r.affected_rows() == 1;
}

FinishCounts finish(pqxx::connection& conn, const std::vector<JobFinish>& verdicts,
                    const std::string& worker_id, bool keep_completed) {
  std::vector<int64_t> completed;
  std::vector<int> completed_attempts;
  json retried = json::array(), snoozed = json::array(), discarded = json::array();
  for (const JobFinish& v : verdicts) {
    switch (v.action) {
      case JobFinish::Action::complete:
        completed.push_back(v.id);
        completed_attempts.push_back(v.attempt);
        break;
      case JobFinish::Action::retry:
        retried.push_back({{"id", v.id}, {"attempt", v.attempt}, {"run_at_us", epoch_micros(v.run_at)}, {"error", v.error}});
        break;
      case JobFinish::Action::snooze:
        snoozed.push_back({{"id", v.id}, {"attempt", v.attempt}, {"run_at_us", epoch_micros(v.run_at)}});
        break;
      case JobFinish::Action::discard:
        discarded.push_back({{"id", v.id}, {"attempt", v.attempt}, {"error", v.error}});
        break;
    }
  }
  FinishCounts counts;
  // Each kind of verdict is one statement committing on its own; a crash between them
  // leaves the rest leased, and the rescuer returns those.
  pqxx::nontransaction tx(conn);
  if (!completed.empty()) {
    static const std::string kComplete = move_finished_sql("completed");
    static const std::string kDelete =
        "DELETE FROM recado.jobs WHERE id = ANY($1::bigint[]) AND state = 'running' AND lease_owner = $2 "
        "AND attempt = ($3::int[])[array_position($1::bigint[], id)]";
    counts.completed = keep_completed
        ? exec(tx, "recado_complete", kComplete, id_array(completed), worker_id, id_array(completed_attempts)).affected_rows()
        : exec(tx, "recado_complete_delete", kDelete, id_array(completed), worker_id, id_array(completed_attempts)).affected_rows();
  }
  if (!retried.empty()) {
    static const std::string kRetry = R"SQL(
      UPDATE recado.jobs j
      SET state = 'retryable', lease_owner = NULL, lease_until = NULL,
          run_at = 'epoch'::timestamptz + r.run_at_us * interval '1 microsecond',
          errors = recado.push_error(j.errors, j.attempt, r.error)
      FROM jsonb_to_recordset($1::jsonb) AS r(id bigint, attempt integer, run_at_us bigint, error text)
      WHERE j.id = r.id AND j.attempt = r.attempt AND j.state = 'running' AND j.lease_owner = $2
    )SQL";
    counts.retried = exec(tx, "recado_retry", kRetry, retried.dump(), worker_id).affected_rows();
  }
  if (!snoozed.empty()) {
    static const std::string kSnooze = R"SQL(
      UPDATE recado.jobs j
      SET state = 'available', lease_owner = NULL, lease_until = NULL, attempt = j.attempt - 1,
          run_at = 'epoch'::timestamptz + r.run_at_us * interval '1 microsecond'
      FROM jsonb_to_recordset($1::jsonb) AS r(id bigint, attempt integer, run_at_us bigint)
      WHERE j.id = r.id AND j.attempt = r.attempt AND j.state = 'running' AND j.lease_owner = $2
    )SQL";
    counts.snoozed = exec(tx, "recado_snooze", kSnooze, snoozed.dump(), worker_id).affected_rows();
  }
  if (!discarded.empty()) {
    static const std::string kDiscard = R"SQL(
      WITH verdict AS (
        SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(id bigint, attempt integer, error text)
      ), gone AS (
        DELETE FROM recado.jobs j USING verdict
        WHERE j.id = verdict.id AND j.attempt = verdict.attempt AND j.state = 'running'
          AND j.lease_owner = $2
        RETURNING j.*, verdict.error AS verdict_error
      )
    )SQL" + job_sql::archive("gone", "discarded", "recado.push_error(errors, attempt, verdict_error)");
    counts.discarded = exec(tx, "recado_discard", kDiscard, discarded.dump(), worker_id).affected_rows();
  }
  tx.commit();
  return counts;
}

void heartbeat(pqxx::connection& conn, const std::string& worker_id, const std::string& host,
               int pid, const std::vector<std::string>& queues,
               const std::vector<int64_t>& running, Duration lease) {
  json names = queues;
  pqxx::work tx(conn);
  tx.exec_params(R"SQL(
    INSERT INTO recado.workers (id, host, pid, queues)
    SELECT $1, $2, $3, array(SELECT jsonb_array_elements_text($4::jsonb))
    ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()
  )SQL", worker_id, host, pid, names.dump());
  // Rows being finished right now are skipped, not waited for (and rows are taken in id
  // order, as the finishing statements take them, so the two never deadlock).
  if (!running.empty())
    tx.exec_params(R"SQL(
      UPDATE recado.jobs SET lease_until = now() + $2 * interval '1 microsecond'
      WHERE id IN (SELECT id FROM recado.jobs
                   WHERE id = ANY($3::bigint[]) AND lease_owner = $1 AND state = 'running'
                   ORDER BY id FOR UPDATE SKIP LOCKED)
    )SQL", worker_id, static_cast<int64_t>(lease.count()), id_array(running));
  tx.commit();
}

void unregister_worker(pqxx::connection& conn, const std::string& worker_id) {
  pqxx::work tx(conn);
  tx.exec_params("DELETE FROM recado.workers WHERE id = $1", worker_id);
  tx.commit();
}

int rescue_expired(pqxx::connection& conn, int limit) {
  pqxx::work tx(conn);
  auto r = tx.exec_params(R"SQL(
    WITH expired AS (
      SELECT id FROM recado.jobs
      WHERE state = 'running' AND lease_until < now()
      ORDER BY lease_until LIMIT $1
      FOR UPDATE SKIP LOCKED
    ), retried AS (
      UPDATE recado.jobs j
      SET state = 'retryable', run_at = now(), lease_owner = NULL, lease_until = NULL,
          errors = recado.push_error(j.errors, j.attempt,
                     'lease expired: worker ' || j.lease_owner || ' stopped renewing it')
      FROM expired WHERE j.id = expired.id AND j.attempt < j.max_attempts
      RETURNING j.id
    ), gone AS (
      DELETE FROM recado.jobs j USING expired
      WHERE j.id = expired.id AND j.attempt >= j.max_attempts
      RETURNING j.*
    ), discarded AS (
  )SQL" + job_sql::archive("gone", "discarded",
                           "recado.push_error(errors, attempt, 'lease expired: worker ' || "
                           "lease_owner || ' stopped renewing it; no attempts left')") + R"SQL(
      RETURNING id
    )
    SELECT (SELECT count(*) FROM retried) + (SELECT count(*) FROM discarded)
  )SQL", limit);
  tx.commit();
  return r[0][0].as<int>();
}

int hand_back(pqxx::connection& conn, const std::vector<int64_t>& ids,
              const std::string& worker_id) {
  if (ids.empty()) return 0;
  pqxx::work tx(conn);
  auto r = tx.exec_params(R"SQL(
    UPDATE recado.jobs
    SET state = 'available', attempt = attempt - 1, run_at = now(),
        lease_owner = NULL, lease_until = NULL
    WHERE id = ANY($1::bigint[]) AND state = 'running' AND lease_owner = $2
  )SQL", id_array(ids), worker_id);
  tx.commit();
  return static_cast<int>(r.affected_rows());
}

PruneCounts prune(pqxx::connection& conn, Duration completed_retention,
                  Duration discarded_retention, Duration worker_silence, int limit) {
  PruneCounts counts;
  pqxx::work tx(conn);
  counts.jobs = static_cast<int>(tx.exec_params(R"SQL(
    DELETE FROM recado.jobs_finished WHERE id IN (
      (SELECT id FROM recado.jobs_finished
       WHERE state = 'completed' AND finished_at < now() - $1 * interval '1 microsecond'
       LIMIT $3)
      UNION ALL
      (SELECT id FROM recado.jobs_finished
       WHERE state IN ('discarded', 'cancelled')
         AND finished_at < now() - $2 * interval '1 microsecond'
       LIMIT $3))
  )SQL", static_cast<int64_t>(completed_retention.count()),
      static_cast<int64_t>(discarded_retention.count()), limit).affected_rows());
  counts.workers = static_cast<int>(tx.exec_params(
      "DELETE FROM recado.workers WHERE heartbeat_at < now() - $1 * interval '1 microsecond'",
      static_cast<int64_t>(worker_silence.count())).affected_rows());
  tx.commit();
  return counts;
}

}  // namespace recado::job_store
