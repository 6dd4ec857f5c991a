#pragma once
// A worker: claims jobs from its queues, runs their handlers on the loop, writes verdicts
// back in batches, keeps its leases alive, rescues jobs of dead workers and prunes finished
// ones. Loop thread only; all SQL runs on the DbPool.
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "src/breaker_board.hpp"
#include "src/config.hpp"
#include "src/db_pool.hpp"
#include "src/event_loop.hpp"
#include "src/job_kind.hpp"
#include "src/http_client.hpp"
#include "src/job_store.hpp"
#include "src/metrics.hpp"
#include "src/notify_listener.hpp"
#include "src/scheduler.hpp"

namespace recado {

struct WorkerStats {
  int64_t claimed = 0, completed = 0, retried = 0, snoozed = 0, discarded = 0;
  int64_t handed_back = 0, rescued = 0;
  int64_t wakeups = 0;  // notifications heard (the first comes when the listener connects)
};

class Worker {
 public:
  // Handlers call providers through `http`, behind circuit breakers shared through the
  // database; what they do is counted in `metrics`. One worker of all those sharing the
  // database is elected leader (recado.leaders, lease `config.lease`): it enqueues the
  // `periodic` jobs and runs the maintenance (rescue, pruning).
  Worker(EventLoop& loop, DbPool& pool, std::string db_url, const WorkerConfig& config,
         const JobKindTable& kinds, const Clock& clock, HttpClient& http, Metrics& metrics,
         std::vector<TenantConfig> tenants = {}, std::vector<PeriodicJob> periodic = {});
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Registers the worker and starts claiming.
  void start();
  // Stops claiming, lets running jobs finish until the shutdown timeout, hands the rest
  // back, unregisters, then calls `stopped`. Safe to call twice (the second call is ignored).
  void shutdown(std::function<void()> stopped);

  // Replaces the tenants' configuration (SIGHUP reload) for the jobs started from now on.
  // A running job keeps the snapshot it started with until it ends, so the TenantConfig
  // pointers its handler holds stay valid; what it planned with the old settings stands.
  void set_tenants(std::vector<TenantConfig> tenants);

  const std::string& id() const { return id_; }
  const WorkerStats& stats() const { return stats_; }
  const BreakerBoard& breakers() const { return breakers_; }
  bool leader() const { return scheduler_ && scheduler_->leader(); }
  int running() const { return static_cast<int>(running_.size()); }

 private:
  struct Queue {
    std::string name;
    int concurrency = 0;
    int in_flight = 0;  // running jobs plus jobs asked for by a claim not yet answered
    int claims_in_flight = 0;
    bool claim_scheduled = false;
    bool maybe_more = true;  // the last claim came back full, or we were woken
    uint64_t wakes = 0;      // wake-ups so far: a claim answering after one says nothing of it
  };
  class Context;
  struct Running;

  void claim(Queue& q);
  void claim_all(bool wake);
  void on_claimed(Queue& q, int limit, uint64_t wakes, DbResult<std::vector<Job>> result);
  void run(Queue& q, Job job);
  void on_done(int64_t id, const Context* who, Outcome outcome);
  void call(ProviderCall call, std::function<void(CallResult)> then);
  void count_call(Api api, const std::string& breaker, std::string_view outcome);
  void schedule_claim(Queue& q);
  void schedule_flush();
  void flush();
  void heartbeat();
  void rescue();
  void prune();
  void maybe_close();
  void close();
  // Returns jobs to the queue without using an attempt (shutdown).
  void hand_back(std::vector<int64_t> ids);
  // Submits SQL and counts it in flight, so shutdown can wait for it.
  template <typename T>
  void db(std::function<T(pqxx::connection&)> work, std::function<void(DbResult<T>)> done);

  EventLoop& loop_;
  DbPool& pool_;
  std::string db_url_;
  WorkerConfig config_;
  // Shared with the contexts of the jobs started under it (see set_tenants).
  std::shared_ptr<const std::vector<TenantConfig>> tenants_;
  const Clock& clock_;
  HttpClient& http_;
  Metrics& metrics_;
  BreakerBoard breakers_;
  std::string id_;
  std::string host_;
  std::unordered_map<std::string_view, const JobKind*> kinds_;
  std::vector<Queue> queues_;
  std::unordered_map<int64_t, std::shared_ptr<Running>> running_;
  std::vector<JobFinish> verdicts_;
  std::vector<std::shared_ptr<Running>> retired_;  // finished this turn, freed next turn
  bool flush_scheduled_ = false;
  bool results_abandoned_ = false;  // shutting down with a database that will not take them
  bool breakers_stopped_ = false;
  bool scheduler_stopped_ = false;
  std::vector<PeriodicJob> periodic_;
  std::unique_ptr<Scheduler> scheduler_;
  int flushes_in_flight_ = 0;
  int db_in_flight_ = 0;
  std::mt19937_64 random_;
  WorkerStats stats_;

  Timer poll_timer_, heartbeat_timer_, rescue_timer_, prune_timer_, deadline_timer_;
  Timer flush_retry_timer_;
  std::unique_ptr<NotifyListener> listener_;

  enum class Phase { idle, running, draining, closing, stopped };
  Phase phase_ = Phase::idle;
  std::function<void()> stopped_;
};

}  // namespace recado
