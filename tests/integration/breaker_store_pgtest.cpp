// Circuit breakers in PostgreSQL: reports from several connections add up, a breaker opens
// for everyone, and concurrent workers start no more probes than allowed.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "src/breaker_store.hpp"
#include "tests/support/pg_harness.hpp"

namespace recado {
namespace {

using namespace std::chrono_literals;
using test::TestDatabase;

const Timestamp kStart{std::chrono::seconds{1767225600}};

BreakerConfig config() {
  BreakerConfig c;
  c.failures_to_open = 4;
  c.min_calls = 1000;
  c.cool_down = 30s;
  c.probes = 2;
  return c;
}

BreakerReport failures(int n) {
  BreakerReport r;
  for (int i = 0; i < n; ++i) r.add(true, "evolution answered 502");
  return r;
}

class BreakerStoreTest : public ::testing::Test {
 protected:
  TestDatabase db;
  pqxx::connection conn{db.url()};
};

TEST_F(BreakerStoreTest, ReportsFromTwoWorkersTripTheBreakerTogether) {
  pqxx::connection other(db.url());
  EXPECT_EQ(breaker_store::report(conn, "evolution:clinic", failures(2), config(), kStart).state, BreakerState::closed);
  const Breaker b = breaker_store::report(other, "evolution:clinic", failures(2), config(), kStart + 1s);
  EXPECT_EQ(b.state, BreakerState::open);
  EXPECT_EQ(b.run_failures, 4);
  EXPECT_EQ(b.probe_at, kStart + 31s);
  const auto all = breaker_store::load_all(conn);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].name, "evolution:clinic");
  EXPECT_EQ(all[0].state, BreakerState::open);
  EXPECT_EQ(all[0].last_error, "evolution answered 502");
  EXPECT_EQ(all[0].opened_at, kStart + 1s);
}

TEST_F(BreakerStoreTest, ConcurrentWorkersStartNoMoreProbesThanAllowed) {
  breaker_store::report(conn, "openai:clinic", failures(4), config(), kStart);
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      pqxx::connection c(db.url());
      for (int i = 0; i < 5; ++i)
        if (breaker_store::try_probe(c, "openai:clinic", config(), kStart + 30s).first) ++granted;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 2);
  EXPECT_EQ(breaker_store::load(conn, "openai:clinic")->state, BreakerState::half_open);
  // A probe's success closes it for everyone.
  BreakerReport ok;
  ok.add(false, "");
  EXPECT_EQ(breaker_store::report(conn, "openai:clinic", ok, config(), kStart + 31s).state, BreakerState::closed);
}

TEST_F(BreakerStoreTest, OperatorsForceAndForget) {
  EXPECT_FALSE(breaker_store::force_close(conn, "calcom:clinic", kStart));  // no such breaker
  EXPECT_FALSE(breaker_store::reset(conn, "calcom:clinic"));
  EXPECT_TRUE(breaker_store::force_open(conn, "calcom:clinic", kStart));
  Breaker b = *breaker_store::load(conn, "calcom:clinic");
  EXPECT_EQ(b.state, BreakerState::open);
  EXPECT_TRUE(b.forced);
  EXPECT_FALSE(breaker_store::try_probe(conn, "calcom:clinic", config(), kStart + 24h).first);
  EXPECT_TRUE(breaker_store::force_close(conn, "calcom:clinic", kStart + 1s));
  b = *breaker_store::load(conn, "calcom:clinic");
  EXPECT_EQ(b.state, BreakerState::closed);
  EXPECT_FALSE(b.forced);
  EXPECT_TRUE(breaker_store::reset(conn, "calcom:clinic"));
  EXPECT_FALSE(breaker_store::load(conn, "calcom:clinic"));
}

}  // namespace
}  // namespace recado
