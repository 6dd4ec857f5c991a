#pragma once
// What an operator sees and steers, in SQL: queue counts, jobs, retries, cancels, pauses,
// workers. Blocking; used by recadoctl. Results are JSON values whose shape is the stable
// `recadoctl --json` schema; the CLI renders the same values as tables.
#include <pqxx/pqxx>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "src/clock.hpp"

namespace recado::queue_admin {

// An operation refused for a reason the operator must read ("job 7 is running").
class Refused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// [{queue, paused, available, scheduled, running, retryable, completed, discarded,
//   cancelled, oldest_available_age_s}] for every queue with jobs or a pause row.
nlohmann::json queues(pqxx::connection& conn);

struct JobFilter {
  std::optional<std::string> queue;
  std::optional<std::string> state;  // a JobState name; "scheduled" = available in future
  std::optional<std::string> kind;
  std::optional<std::string> tenant;     // payload->>'tenant'
  std::optional<Duration> older_than;    // finished jobs by finished_at, live ones by created_at
  int limit = 50;
};
// Newest first: [{id, queue, kind, state, attempt, max_attempts, priority, run_at,
//   created_at, finished_at, last_error}]
nlohmann::json list_jobs(pqxx::connection& conn, const JobFilter& filter);
// The job with payload, errors, keys and lease; nullopt when no job has that id.
std::optional<nlohmann::json> show_job(pqxx::connection& conn, int64_t id);

// Runs a job again now: finished ones return to the queue with a fresh attempt count;
// waiting ones run at once. Throws Refused for a running job or a taken dedup key.
nlohmann::json retry_job(pqxx::connection& conn, int64_t id);
// Every discarded job (of `queue`) back to the queue; returns how many.
int retry_discarded(pqxx::connection& conn, const std::optional<std::string>& queue);
// Cancels a job that is waiting. Throws Refused for a running or finished job.
nlohmann::json cancel_job(pqxx::connection& conn, int64_t id);
// Deletes a job for good, finished or waiting: {id, action: "deleted", state}. Throws
// Refused for a running job or an unknown id. A waiting job deleted leaves no trace (cancel
// keeps a record).
nlohmann::json delete_job(pqxx::connection& conn, int64_t id);

// Bulk actions: every job matching a filter, in one statement, at most `limit` (the oldest
// by id) per call. Running jobs are never touched.
enum class BulkAction { retry, cancel, remove };
const char* to_string(BulkAction action);  // "retry", "cancel", "delete"
struct BulkFilter {
  std::optional<std::string> queue, kind, tenant;
  std::vector<std::string> states;  // job states as `jobs list` names them; empty: the default
  std::optional<Duration> older_than;
};
inline constexpr int kBulkLimit = 10000;
// The states an action may touch (retry and delete: all but running; cancel: the waiting
// ones), and those it takes when the filter names none (retry: discarded; cancel: every
// waiting one; delete: every finished one).
const std::vector<std::string>& bulk_states(BulkAction action);
const std::vector<std::string>& bulk_default_states(BulkAction action);
// How many jobs the action would touch now, without the limit.
int64_t bulk_count(pqxx::connection& conn, BulkAction action, const BulkFilter& filter);
// Applies it: {matched (picked, at most limit), plus per action: retry {requeued (finished
// jobs back in the queue), run_now (waiting jobs due now), skipped (their dedup key is held
// by a live job, or they started meanwhile)}, cancel {cancelled, skipped}, delete {deleted,
// skipped}}.
nlohmann::json bulk_apply(pqxx::connection& conn, BulkAction action, const BulkFilter& filter,
                          int limit = kBulkLimit);

// Discarded jobs grouped by queue, kind and last error (its first 80 characters), most
// frequent first: {groups: [{queue, kind, error, count, newest_at, oldest_at, newest_id}],
// total}.
nlohmann::json dead(pqxx::connection& conn, const std::optional<Duration>& since,
                    const std::optional<std::string>& queue, int limit);

// The one-screen summary (`recadoctl status`, which adds breakers and pauses): {generated_at,
// window_s, queues, paused_queues, workers, workers_live, stuck}; docs/recadoctl.md has the
// schema. `window` is how far back throughput and timings look; a worker is live when its
// heartbeat is younger than `lease`, and a job running longer than `lease` (or past its
// lease) is reported stuck. Queues and stuck jobs are read in one snapshot.
nlohmann::json status(pqxx::connection& conn, Duration window, Duration lease);

// A conversation and its newest `messages` messages, oldest first; bodies are null (their
// length kept) unless `show_text`. nullopt when no conversation has that id.
std::optional<nlohmann::json> conversation(pqxx::connection& conn, int64_t id, int messages, bool show_text);

void set_paused(pqxx::connection& conn, const std::string& queue, bool paused);

// [{id, host, pid, queues, started_at, heartbeat_at, heartbeat_age_s, running}]
nlohmann::json workers(pqxx::connection& conn);

}  // namespace recado::queue_admin
