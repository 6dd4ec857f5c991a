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

void set_paused(pqxx::connection& conn, const std::string& queue, bool paused);

// [{id, host, pid, queues, started_at, heartbeat_at, heartbeat_age_s, running}]
nlohmann::json workers(pqxx::connection& conn);

}  // namespace recado::queue_admin
