#pragma once
// The queue's hot path in SQL: enqueue, claim, finish, leases, rescue and pruning.
// Every function is blocking and runs its own transaction on the connection it is given;
// call them from a database thread (DbPool) or a CLI, never from an event loop.
// Errors surface as libpqxx exceptions; callers translate them (db_error.hpp).
#include <pqxx/pqxx>
#include <cstdint>
#include <string>
#include <vector>

#include "src/clock.hpp"
#include "src/job.hpp"

namespace recado {

struct EnqueueResult {
  int64_t id = 0;         // 0: not stored (see enqueue)
  bool inserted = false;  // false: a live job already held the dedup key; id is that job
};

// A worker's verdict on one job, ready to be written.
struct JobFinish {
  enum class Action { complete, retry, snooze, discard };
  int64_t id = 0;
  int attempt = 0;  // the run this verdict is about: a later run of the job is left alone
  Action action = Action::complete;
  Timestamp run_at;   // retry, snooze
  std::string error;  // retry, discard
};

struct FinishCounts {
  int completed = 0, retried = 0, snoozed = 0, discarded = 0;
  int total() const { return completed + retried + snoozed + discarded; }
};

struct PruneCounts {
  int jobs = 0, workers = 0;
  int inbound = 0;  // inbound_store::prune's, counted alongside
  int sends = 0;    // prune_sends's, likewise
  int cached_replies = 0;  // llm_store::prune_cache's, likewise
};

namespace job_store {

// Inserts the jobs, committed before it returns; results in input order. Throws when
// nothing was stored; a job left with id 0 was not stored though others were (its dedup
// key kept changing hands, or the database failed after the first commit). Wakes nobody:
// call notify() once the commit is done (a NOTIFY inside every insert transaction would
// serialise their commits on the server's notification lock).
std::vector<EnqueueResult> enqueue(pqxx::connection& conn, const std::vector<NewJob>& jobs);

// Wakes the workers listening for `queues`.
void notify(pqxx::connection& conn, const std::vector<std::string>& queues);

// Takes up to `limit` ready jobs of `queue` (FOR UPDATE SKIP LOCKED), marks them running
// under `worker_id` with a lease of `lease`. Honours pause and sequence keys. A job is ready
// when its run_at is not after `due_by` (the worker's clock; absent: the database's now()).
std::vector<Job> claim(pqxx::connection& conn, const std::string& queue, int limit,
                       const std::string& worker_id, Duration lease,
                       std::optional<Timestamp> due_by = std::nullopt);

// Writes the verdicts, one statement per kind. Jobs no longer leased to `worker_id`
// (rescued meanwhile) are left alone and not counted. Completed jobs move to jobs_finished,
// or with `keep_completed` false (a completed retention of 0) are simply deleted.
FinishCounts finish(pqxx::connection& conn, const std::vector<JobFinish>& verdicts,
                    const std::string& worker_id, bool keep_completed = true);

// Completes one running job leased to `worker_id` inside the caller's transaction, keeping
// `result_json` (a JSON value, or "" for none) on it. False: the job is no longer this run's
// (rescued meanwhile), and nothing was changed.
bool complete_one(pqxx::transaction_base& tx, int64_t id, int attempt, const std::string& worker_id,
                  const std::string& result_json, bool keep_completed = true);

// Registers or refreshes the worker's heartbeat row and extends the leases of the jobs it is
// running (`running`: only those; a claim whose answer was lost must lapse and be rescued).
void heartbeat(pqxx::connection& conn, const std::string& worker_id, const std::string& host,
               int pid, const std::vector<std::string>& queues,
               const std::vector<int64_t>& running, Duration lease);
void unregister_worker(pqxx::connection& conn, const std::string& worker_id);

// Returns jobs whose lease expired to the queue (the attempt counts; past max_attempts they
// are discarded). Returns how many it moved.
int rescue_expired(pqxx::connection& conn, int limit);

// Gives running jobs back to the queue without using an attempt (graceful shutdown).
int hand_back(pqxx::connection& conn, const std::vector<int64_t>& ids,
              const std::string& worker_id);

// Deletes finished jobs past their retention and workers silent for `worker_silence`.
PruneCounts prune(pqxx::connection& conn, Duration completed_retention,
                  Duration discarded_retention, Duration worker_silence, int limit);

// The names of the channel that wakes workers, and its payload: the queue name.
inline constexpr const char* kNotifyChannel = "recado_jobs";

}  // namespace job_store
}  // namespace recado
