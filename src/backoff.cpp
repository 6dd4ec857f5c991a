#include "src/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace recado {

Duration backoff_ceiling(const BackoffPolicy& policy, int attempt) {
  const int exponent = std::clamp(attempt - 1, 0, 62);
  const double ceiling = static_cast<double>(policy.base.count()) * std::ldexp(1.0, exponent);
  if (ceiling >= static_cast<double>(policy.cap.count())) return policy.cap;
  return Duration{static_cast<int64_t>(ceiling)};
}

Duration full_jitter(const BackoffPolicy& policy, int attempt, double random01) {
  const double r = std::clamp(random01, 0.0, 1.0);
  return Duration{static_cast<int64_t>(static_cast<double>(backoff_ceiling(policy, attempt).count()) * r)};
}

Decision decide(const Job& job, const Outcome& outcome, const BackoffPolicy& policy,
                Timestamp now, double random01) {
  switch (outcome.type) {
    case Outcome::Type::complete:
      return {Decision::Action::complete, now, {}};
    case Outcome::Type::snooze:
      return {Decision::Action::snooze, outcome.not_before.value_or(now), {}};
    case Outcome::Type::discard:
      return {Decision::Action::discard, now, outcome.reason};
    case Outcome::Type::retry: {
      if (job.attempt >= job.max_attempts) {
        return {Decision::Action::discard, now,
                outcome.reason + " (attempt " + std::to_string(job.attempt) + " of " +
                    std::to_string(job.max_attempts) + ", no retries left)"};
      }
      Timestamp at = now + full_jitter(policy, job.attempt, random01);
      if (outcome.not_before && *outcome.not_before > at) at = *outcome.not_before;
      return {Decision::Action::retry, at, outcome.reason};
    }
  }
  return {Decision::Action::discard, now, "unknown outcome"};
}

}  // namespace recado
