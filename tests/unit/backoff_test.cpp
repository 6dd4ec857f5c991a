// Retry timing: the backoff ceiling, full jitter, and what decide() makes of each outcome.
#include "src/backoff.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace recado {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

const Timestamp kNow = from_epoch_micros(1'767'225'600'000'000);  // 2026-01-01T00:00:00Z

BackoffPolicy policy(Duration base, Duration cap) {
  BackoffPolicy p;
  p.base = base;
  p.cap = cap;
  return p;
}

Job job_on_attempt(int attempt, int max_attempts) {
  Job job;
  job.id = 7;
  job.queue = "default";
  job.kind = "noop";
  job.attempt = attempt;
  job.max_attempts = max_attempts;
  return job;
}

TEST(BackoffCeiling, DoublesFromBaseOnEachAttempt) {
  const BackoffPolicy p = policy(seconds{1}, hours{1});
  EXPECT_EQ(backoff_ceiling(p, 1), seconds{1});
  EXPECT_EQ(backoff_ceiling(p, 2), seconds{2});
  EXPECT_EQ(backoff_ceiling(p, 3), seconds{4});
  EXPECT_EQ(backoff_ceiling(p, 10), seconds{512});
}

TEST(BackoffCeiling, StopsAtTheCap) {
  const BackoffPolicy p = policy(seconds{1}, minutes{1});
  EXPECT_EQ(backoff_ceiling(p, 6), seconds{32});
  EXPECT_EQ(backoff_ceiling(p, 7), minutes{1});  // 64s > 60s
  EXPECT_EQ(backoff_ceiling(p, 20), minutes{1});
  // A cap below the base wins from the first attempt.
  EXPECT_EQ(backoff_ceiling(policy(seconds{10}, seconds{3}), 1), seconds{3});
}

TEST(BackoffCeiling, HugeAttemptNumbersDoNotOverflowPastTheCap) {
  const BackoffPolicy p = policy(milliseconds{100}, hours{1});
  EXPECT_EQ(backoff_ceiling(p, 63), hours{1});
  EXPECT_EQ(backoff_ceiling(p, 1000), hours{1});
  EXPECT_EQ(backoff_ceiling(p, std::numeric_limits<int>::max()), hours{1});
}

TEST(BackoffCeiling, AttemptBelowOneWaitsTheBase) {
  const BackoffPolicy p = policy(milliseconds{250}, hours{1});
  EXPECT_EQ(backoff_ceiling(p, 0), milliseconds{250});
  EXPECT_EQ(backoff_ceiling(p, -3), milliseconds{250});
}

TEST(FullJitter, ScalesTheCeilingByTheRandomValue) {
  const BackoffPolicy p = policy(seconds{1}, hours{1});
  // attempt 4: ceiling 8s
  EXPECT_EQ(full_jitter(p, 4, 0.0), Duration{0});
  EXPECT_EQ(full_jitter(p, 4, 0.25), seconds{2});
  EXPECT_EQ(full_jitter(p, 4, 0.5), seconds{4});
}

TEST(FullJitter, NeverExceedsTheCeiling) {
  const BackoffPolicy p = policy(seconds{1}, minutes{1});
  for (int attempt = 1; attempt <= 30; ++attempt) {
    const Duration d = full_jitter(p, attempt, 0.999999);
    EXPECT_GE(d, Duration{0}) << "attempt " << attempt;
    EXPECT_LE(d, backoff_ceiling(p, attempt)) << "attempt " << attempt;
  }
}

TEST(FullJitter, OutOfRangeRandomValuesAreClamped) {
  const BackoffPolicy p = policy(seconds{1}, hours{1});
  EXPECT_EQ(full_jitter(p, 3, -0.5), Duration{0});
  EXPECT_EQ(full_jitter(p, 3, 7.0), seconds{4});
}

TEST(Decide, CompleteCompletesNow) {
  const Decision d = decide(job_on_attempt(1, 5), Outcome::complete(), BackoffPolicy{}, kNow, 0.5);
  EXPECT_EQ(d.action, Decision::Action::complete);
  EXPECT_EQ(d.run_at, kNow);
  EXPECT_TRUE(d.error.empty());
}

TEST(Decide, RetryWaitsTheJitteredBackoffAndKeepsTheReason) {
  const BackoffPolicy p = policy(seconds{1}, hours{1});
  const Decision d = decide(job_on_attempt(3, 5), Outcome::retry("provider 503"), p, kNow, 0.5);
  EXPECT_EQ(d.action, Decision::Action::retry);
  EXPECT_EQ(d.run_at, kNow + seconds{2});  // attempt 3: ceiling 4s, half of it
  EXPECT_EQ(d.error, "provider 503");
}

TEST(Decide, RetryWaitsForTheLaterOfJitterAndNotBefore) {
  const BackoffPolicy p = policy(seconds{10}, hours{1});
  // attempt 2: ceiling 20s, jitter 0.5 -> 10s
  const Decision later =
      decide(job_on_attempt(2, 5), Outcome::retry("429", kNow + minutes{10}), p, kNow, 0.5);
  EXPECT_EQ(later.action, Decision::Action::retry);
  EXPECT_EQ(later.run_at, kNow + minutes{10});
  const Decision earlier =
      decide(job_on_attempt(2, 5), Outcome::retry("429", kNow + seconds{1}), p, kNow, 0.5);
  EXPECT_EQ(earlier.action, Decision::Action::retry);
  EXPECT_EQ(earlier.run_at, kNow + seconds{10});
}

TEST(Decide, RetryOnTheLastAttemptBecomesADiscard) {
  const Decision d =
      decide(job_on_attempt(5, 5), Outcome::retry("timeout"), BackoffPolicy{}, kNow, 0.5);
  EXPECT_EQ(d.action, Decision::Action::discard);
  EXPECT_EQ(d.run_at, kNow);
  EXPECT_NE(d.error.find("timeout"), std::string::npos) << d.error;
  EXPECT_NE(d.error.find("attempt 5 of 5"), std::string::npos) << d.error;
  // One attempt earlier there is still a retry left.
  const Decision before_last =
      decide(job_on_attempt(4, 5), Outcome::retry("timeout"), BackoffPolicy{}, kNow, 0.0);
  EXPECT_EQ(before_last.action, Decision::Action::retry);
  EXPECT_EQ(before_last.run_at, kNow);
}

TEST(Decide, SnoozeKeepsItsTimeWhateverTheAttempt) {
  const Timestamp until = kNow + hours{3};
  // A snooze on the last attempt is still a snooze: it does not spend an attempt.
  const Decision d = decide(job_on_attempt(5, 5), Outcome::snooze(until, "waiting for reply"),
                            BackoffPolicy{}, kNow, 0.9);
  EXPECT_EQ(d.action, Decision::Action::snooze);
  EXPECT_EQ(d.run_at, until);
}

TEST(Decide, DiscardKeepsTheReason) {
  const Decision d =
      decide(job_on_attempt(1, 5), Outcome::discard("bad payload"), BackoffPolicy{}, kNow, 0.5);
  EXPECT_EQ(d.action, Decision::Action::discard);
  EXPECT_EQ(d.error, "bad payload");
}

}  // namespace
}  // namespace recado
