#include "src/queue_stats.hpp"

#include "src/job_sql.hpp"
#include "src/log.hpp"

namespace recado {

namespace {

constexpr const char* kStates[] = {"available", "scheduled", "running", "retryable"};
constexpr const char* kWaitingStates[] = {"available", "retryable"};

const std::string kQueueSql = R"SQL(
  WITH live AS (
    SELECT queue,
           count(*) FILTER (WHERE state = 'available' AND run_at <= now()) AS available,
           count(*) FILTER (WHERE state = 'available' AND run_at > now()) AS scheduled,
           count(*) FILTER (WHERE state = 'running') AS running,
           count(*) FILTER (WHERE state = 'retryable') AS retryable,
           coalesce(extract(epoch FROM now() - min(run_at) FILTER (
             WHERE state = 'available' AND run_at <= now())), 0) AS oldest_available,
           coalesce(extract(epoch FROM now() - min(run_at) FILTER (
             WHERE state = 'retryable' AND run_at <= now())), 0) AS oldest_retryable
    FROM recado.jobs GROUP BY queue
  ), names AS (
    SELECT queue FROM live UNION SELECT name FROM recado.queues
  )
  SELECT n.queue, coalesce(l.available, 0), coalesce(l.scheduled, 0), coalesce(l.running, 0),
         coalesce(l.retryable, 0), coalesce(l.oldest_available, 0), coalesce(l.oldest_retryable, 0),
         coalesce(q.paused, false)
  FROM names n LEFT JOIN live l USING (queue) LEFT JOIN recado.queues q ON q.name = n.queue
)SQL";

}  // namespace

QueueStats::QueueStats(EventLoop& loop, DbPool& pool, Metrics& metrics, Duration worker_lease, Duration interval)
    : pool_(pool), metrics_(metrics), lease_(worker_lease), interval_(interval), timer_(loop) {
  auto shared = shared_;
  metrics_.gauge("recado_workers_live", "Workers whose heartbeat is younger than worker.lease", [shared] {
    std::lock_guard lock(shared->mutex);
    return shared->snap.workers;
  });
}

void QueueStats::start() {
  refresh();
  timer_.start(interval_, [this] { refresh(); }, interval_);
}

void QueueStats::stop() { timer_.stop(); }

void QueueStats::refresh() {
  if (refreshing_) return;
  refreshing_ = true;
  pool_.submit<Snapshot>(
      [lease = lease_](pqxx::connection& c) {
        pqxx::read_transaction tx(c);
        Snapshot s;
        for (const auto& row : job_sql::exec(tx, "recado_queue_stats", kQueueSql)) {
          const std::string q = row[0].as<std::string>();
          for (int i = 0; i < 4; ++i) s.jobs[{q, kStates[i]}] = row[1 + i].as<double>();
          s.oldest[{q, "available"}] = row[5].as<double>();
          s.oldest[{q, "retryable"}] = row[6].as<double>();
          s.paused[q] = row[7].as<bool>() ? 1 : 0;
        }
        s.workers = tx.exec_params(
                          "SELECT count(*) FROM recado.workers WHERE heartbeat_at > now() - $1 * interval '1 microsecond'",
                          static_cast<int64_t>(lease.count()))[0][0]
                        .as<double>();
        return s;
      },
      [this](DbResult<Snapshot> r) {
        refreshing_ = false;
        if (!r.ok()) return log::warn("reading queue statistics failed", {{"error", r.error.message}});
        publish(std::move(*r.value));
      });
}

void QueueStats::publish(Snapshot snap) {
  std::set<std::string> queues;
  for (const auto& [key, n] : snap.paused) queues.insert(key);
  {
    std::lock_guard lock(shared_->mutex);
    // A queue seen before and empty now reads 0 rather than vanishing.
    for (const std::string& q : known_) {
      if (snap.paused.count(q)) continue;
      for (const char* state : kStates) snap.jobs[{q, state}] = 0;
      for (const char* state : kWaitingStates) snap.oldest[{q, state}] = 0;
      snap.paused[q] = 0;
    }
    shared_->snap = std::move(snap);
  }
  for (const std::string& q : queues) {
    if (!known_.insert(q).second) continue;
    auto shared = shared_;
    auto read = [shared](const std::map<std::pair<std::string, std::string>, double>& (*pick)(Snapshot&),
                         std::pair<std::string, std::string> key) {
      return [shared, pick, key] {
        std::lock_guard lock(shared->mutex);
        const auto& m = pick(shared->snap);
        const auto it = m.find(key);
        return it == m.end() ? 0.0 : it->second;
      };
    };
    auto jobs = +[](Snapshot& s) -> const std::map<std::pair<std::string, std::string>, double>& { return s.jobs; };
    auto oldest = +[](Snapshot& s) -> const std::map<std::pair<std::string, std::string>, double>& { return s.oldest; };
    for (const char* state : kStates)
      metrics_.gauge("recado_queue_jobs", "Live jobs per queue and state (available: due now; scheduled: due later)",
                     read(jobs, {q, state}), {{"queue", q}, {"state", state}});
    for (const char* state : kWaitingStates)
      metrics_.gauge("recado_queue_oldest_job_age_seconds",
                     "Seconds the oldest due, unclaimed job of the queue has waited; 0 when none waits",
                     read(oldest, {q, state}), {{"queue", q}, {"state", state}});
    metrics_.gauge("recado_queue_paused", "1 when the queue is paused (recadoctl), else 0", [shared, q] {
      std::lock_guard lock(shared->mutex);
      const auto it = shared->snap.paused.find(q);
      return it == shared->snap.paused.end() ? 0.0 : it->second;
    }, {{"queue", q}});
  }
}

}  // namespace recado
