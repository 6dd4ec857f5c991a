#pragma once
// Retry timing: exponential backoff with full jitter (AWS architecture blog), capped.
#include <cstdint>
#include <random>

#include "src/clock.hpp"
#include "src/job.hpp"

namespace recado {

struct BackoffPolicy {
  Duration base{std::chrono::seconds{1}};
  Duration cap{std::chrono::hours{1}};
};

// The longest wait before retry number `attempt` (1-based): min(cap, base * 2^(attempt-1)).
Duration backoff_ceiling(const BackoffPolicy& policy, int attempt);
// A uniformly random wait in [0, ceiling]; `random01` in [0, 1).
Duration full_jitter(const BackoffPolicy& policy, int attempt, double random01);

// What the worker does with a handler's outcome for a job on its `attempt`.
struct Decision {
  enum class Action { complete, retry, snooze, discard };
  Action action;
  Timestamp run_at;  // retry and snooze
  std::string error;  // retry and discard
};

// Pure: a retry past max_attempts becomes a discard; a retry waits the jittered backoff or
// until the provider's not_before, whichever is later; a snooze keeps its attempt.
Decision decide(const Job& job, const Outcome& outcome, const BackoffPolicy& policy,
                Timestamp now, double random01);

}  // namespace recado
