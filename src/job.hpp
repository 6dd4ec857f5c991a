#pragma once
// What a job is, as the store and the worker see it, and what a handler may say about it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "src/clock.hpp"

namespace recado {

enum class JobState { available, running, retryable, completed, discarded, cancelled };

std::string_view to_string(JobState s);
std::optional<JobState> parse_job_state(std::string_view s);
inline bool is_finished(JobState s) {
  return s == JobState::completed || s == JobState::discarded || s == JobState::cancelled;
}

// A job as the caller asks for it. Optional fields take the store's defaults.
struct NewJob {
  std::string queue = "default";
  std::string kind;
  std::string payload_json = "{}";
  int priority = 0;  // lower runs first
  std::optional<Timestamp> run_at;
  std::optional<std::string> dedup_key;
  std::optional<std::string> sequence_key;
  int max_attempts = 0;  // 0: the store's default
};

// A job claimed by a worker.
struct Job {
  int64_t id = 0;
  std::string queue;
  std::string kind;
  std::string payload_json;
  int priority = 0;
  int attempt = 0;  // 1 on the first run
  int max_attempts = 0;
  std::optional<std::string> sequence_key;
  Timestamp run_at;
  Timestamp created_at;
};

// What a handler says happened. Every outcome carries a reason a human can read.
struct Outcome {
  enum class Type { complete, retry, snooze, discard };
  Type type = Type::complete;
  std::string reason;
  // retry: an earliest time the provider asked for (Retry-After); snooze: until when.
  std::optional<Timestamp> not_before;

  // snooze: why, as a metric label ("breaker_open", "send_limit", "business_hours", "other").
  std::string cause;
  // complete: the handler's own transaction already completed the job (complete_with).
  bool written = false;

  static Outcome complete() { return {Type::complete, {}, {}, {}, false}; }
  static Outcome retry(std::string reason, std::optional<Timestamp> not_before = {}) {
    return {Type::retry, std::move(reason), not_before, {}, false};
  }
  static Outcome snooze(Timestamp until, std::string reason, std::string cause = "other") {
    return {Type::snooze, std::move(reason), until, std::move(cause), false};
  }
  static Outcome discard(std::string reason) { return {Type::discard, std::move(reason), {}, {}, false}; }
};

std::string_view to_string(Outcome::Type t);

}  // namespace recado
