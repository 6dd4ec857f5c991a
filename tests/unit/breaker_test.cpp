#include "src/breaker.hpp"

#include <gtest/gtest.h>

namespace recado {
namespace {

using namespace std::chrono_literals;

const Timestamp kStart{std::chrono::seconds{1767225600}};

BreakerConfig config() {
  BreakerConfig c;
  c.failures_to_open = 3;
  c.failure_rate = 0.5;
  c.min_calls = 10;
  c.window = 60s;
  c.cool_down = 30s;
  c.probes = 2;
  return c;
}

Breaker fresh() {
  Breaker b;
  b.name = "openai:clinic";
  b.window_start = kStart;
  return b;
}

BreakerReport report(int successes, int failures, std::string error = "openai answered 503") {
  BreakerReport r;
  for (int i = 0; i < successes; ++i) r.add(false, "");
  for (int i = 0; i < failures; ++i) r.add(true, error);
  return r;
}

TEST(Breaker, OpensAfterFailuresInARow) {
  Breaker b = fresh();
  EXPECT_FALSE(apply_report(b, report(0, 2), config(), kStart));
  EXPECT_EQ(b.state, BreakerState::closed);
  EXPECT_EQ(b.run_failures, 2);
  EXPECT_TRUE(apply_report(b, report(0, 1), config(), kStart + 1s));
  EXPECT_EQ(b.state, BreakerState::open);
  EXPECT_EQ(b.opened_at, kStart + 1s);
  EXPECT_EQ(b.probe_at, kStart + 31s);
  EXPECT_EQ(b.last_error, "openai answered 503");
  EXPECT_EQ(b.transitions, 1);
}

TEST(Breaker, ASuccessBreaksTheRun) {
  Breaker b = fresh();
  apply_report(b, report(0, 2), config(), kStart);
  BreakerReport r;  // fail, succeed, fail: one failure after the last success
  r.add(true, "x");
  r.add(false, "");
  r.add(true, "y");
  apply_report(b, r, config(), kStart);
  EXPECT_EQ(b.run_failures, 1);
  EXPECT_EQ(b.state, BreakerState::closed);
}

TEST(Breaker, OpensOnTheFailureRateOnceThereAreEnoughCalls) {
  Breaker b = fresh();
  BreakerReport r;  // alternate: never 3 in a row, 50% failures
  for (int i = 0; i < 4; ++i) {
    r.add(true, "e");
    r.add(false, "");
  }
  EXPECT_FALSE(apply_report(b, r, config(), kStart));  // 8 calls: under min_calls
  EXPECT_EQ(b.window_calls, 8);
  BreakerReport more;
  more.add(true, "e");
  more.add(false, "");
  EXPECT_TRUE(apply_report(b, more, config(), kStart + 1s));  // 10 calls, 5 failed
  EXPECT_EQ(b.state, BreakerState::open);
}

TEST(Breaker, TheWindowStartsOverWhenItEnds) {
  Breaker b = fresh();
  BreakerReport r;
  for (int i = 0; i < 4; ++i) {
    r.add(true, "e");
    r.add(false, "");
  }
  apply_report(b, r, config(), kStart);
  BreakerReport more;
  more.add(true, "e");
  more.add(false, "");
  EXPECT_FALSE(apply_report(b, more, config(), kStart + 61s));  // the old 8 calls no longer count
  EXPECT_EQ(b.window_calls, 2);
  EXPECT_EQ(b.window_start, kStart + 61s);
}

TEST(Breaker, ProbesAfterTheCoolDownAndClosesOnSuccess) {
  Breaker b = fresh();
  apply_report(b, report(0, 3), config(), kStart);
  EXPECT_FALSE(start_probe(b, config(), kStart + 29s));
  EXPECT_EQ(retry_at(b, config(), kStart + 29s), kStart + 30s);
  EXPECT_TRUE(start_probe(b, config(), kStart + 30s));
  EXPECT_EQ(b.state, BreakerState::half_open);
  EXPECT_TRUE(start_probe(b, config(), kStart + 30s));   // probes = 2
  EXPECT_FALSE(start_probe(b, config(), kStart + 31s));  // no third
  // A probe's success closes it.
  EXPECT_TRUE(apply_report(b, report(1, 0), config(), kStart + 32s));
  EXPECT_EQ(b.state, BreakerState::closed);
  EXPECT_EQ(b.run_failures, 0);
  EXPECT_EQ(b.window_calls, 0);
  EXPECT_EQ(b.transitions, 3);  // open, half-open, closed
}

TEST(Breaker, AFailedProbeOpensItForAnotherCoolDown) {
  Breaker b = fresh();
  apply_report(b, report(0, 3), config(), kStart);
  ASSERT_TRUE(start_probe(b, config(), kStart + 30s));
  EXPECT_TRUE(apply_report(b, report(0, 1, "timeout"), config(), kStart + 35s));
  EXPECT_EQ(b.state, BreakerState::open);
  EXPECT_EQ(b.probe_at, kStart + 65s);
  EXPECT_EQ(b.last_error, "timeout");
  EXPECT_FALSE(start_probe(b, config(), kStart + 64s));
  EXPECT_TRUE(start_probe(b, config(), kStart + 65s));
}

TEST(Breaker, AProbeThatNeverReportsFreesItsPlace) {
  Breaker b = fresh();
  apply_report(b, report(0, 3), config(), kStart);
  ASSERT_TRUE(start_probe(b, config(), kStart + 30s));
  ASSERT_TRUE(start_probe(b, config(), kStart + 30s));
  EXPECT_FALSE(start_probe(b, config(), kStart + 59s));
  EXPECT_TRUE(start_probe(b, config(), kStart + 60s));  // the lease of the first two ran out
  EXPECT_EQ(b.probes, 1);
}

TEST(Breaker, OpenIgnoresReportsFromCallsMadeBeforeIt) {
  Breaker b = fresh();
  apply_report(b, report(0, 3), config(), kStart);
  EXPECT_FALSE(apply_report(b, report(5, 0), config(), kStart + 1s));
  EXPECT_EQ(b.state, BreakerState::open);
}

TEST(Breaker, AnOperatorCanForceItOpenAndClosed) {
  Breaker b = fresh();
  force_open(b, kStart);
  EXPECT_EQ(b.state, BreakerState::open);
  EXPECT_TRUE(b.forced);
  EXPECT_FALSE(start_probe(b, config(), kStart + std::chrono::hours{24}));
  EXPECT_EQ(retry_at(b, config(), kStart + 10s), kStart + 40s);
  EXPECT_FALSE(apply_report(b, report(3, 0), config(), kStart + 1s));
  force_close(b, kStart + 2s);
  EXPECT_EQ(b.state, BreakerState::closed);
  EXPECT_FALSE(b.forced);
  EXPECT_EQ(b.transitions, 2);
  force_close(b, kStart + 3s);  // already closed: counts cleared, no transition
  EXPECT_EQ(b.transitions, 2);
}

TEST(Breaker, ReportsMergeInOrder) {
  BreakerReport earlier = report(1, 2);  // ends with 2 failures
  BreakerReport later = report(0, 1);    // 1 more failure, no success
  later.merge_earlier(earlier);
  EXPECT_EQ(later.successes, 1);
  EXPECT_EQ(later.failures, 3);
  EXPECT_EQ(later.trailing_failures, 3);
  BreakerReport after_success = report(1, 1);
  after_success.merge_earlier(report(0, 4));
  EXPECT_EQ(after_success.trailing_failures, 1);
}

TEST(Breaker, StateNamesRoundTrip) {
  for (auto s : {BreakerState::closed, BreakerState::open, BreakerState::half_open})
    EXPECT_EQ(parse_breaker_state(to_string(s)), s);
  EXPECT_EQ(parse_breaker_state("ajar"), std::nullopt);
}

}  // namespace
}  // namespace recado
