// Send limits against a real PostgreSQL: each limit refuses exactly up to its boundary and
// names the instant a retry passes; limits combine to the latest of their instants;
// recipients and senders are counted apart; reservations for one sender are exact under
// concurrency; old sends are pruned. Time is the caller's: every test moves `now` by hand.
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <thread>
#include <vector>

#include "src/send_limits.hpp"
#include "tests/support/pg_harness.hpp"

namespace recado {
namespace {

using namespace std::chrono_literals;
using test::TestDatabase;

// Monday 5 January 2026 12:00:00.123457 UTC: microseconds, to see they survive the round trip.
const Timestamp t0 = Timestamp{std::chrono::seconds{1767614400}} + 123457us;

class SendLimitsTest : public ::testing::Test {
 protected:
  SendPermit reserve(const SendLimits& limits, Timestamp now, std::string_view recipient = "5511900000001",
                     std::string_view sender = "5511988880000") {
    return reserve_send(conn, sender, recipient, limits, now);
  }
  long long sends(const std::string& sender = "5511988880000") {
    return db.count("SELECT count(*) FROM recado.sends WHERE sender = '" + sender + "'");
  }
  // Refused with `reason`, a retry passing at `not_before` and not a microsecond earlier.
  void expect_refused(const SendLimits& limits, Timestamp now, const char* reason, Timestamp not_before,
                      std::string_view recipient = "5511900000001") {
    const long long before = sends();
    const SendPermit p = reserve(limits, now, recipient);
    EXPECT_FALSE(p.granted);
    EXPECT_EQ(p.reason, reason);
    EXPECT_EQ(p.not_before, not_before) << "off by " << (p.not_before - not_before).count() << "us";
    EXPECT_EQ(sends(), before) << "a refused reservation recorded a send";
    // One microsecond before not_before is still refused, with the same answer.
    if (not_before - 1us > now) {
      const SendPermit q = reserve(limits, not_before - 1us, recipient);
      EXPECT_FALSE(q.granted);
      EXPECT_EQ(q.not_before, not_before);
    }
  }
  void expect_granted(const SendLimits& limits, Timestamp now, std::string_view recipient = "5511900000001") {
    const long long before = sends();
    const SendPermit p = reserve(limits, now, recipient);
    EXPECT_TRUE(p.granted) << "refused for " << p.reason;
    EXPECT_EQ(p.not_before, now);
    EXPECT_EQ(p.reason, "");
    EXPECT_EQ(sends(), before + 1);
  }

  TestDatabase db;
  pqxx::connection conn{db.url()};
};

TEST_F(SendLimitsTest, NoLimitsGrantsAndRecordsNothing) {
  const SendLimits none;
  EXPECT_FALSE(none.any());
  for (int i = 0; i < 3; ++i) {
    const SendPermit p = reserve(none, t0);
    EXPECT_TRUE(p.granted);
    EXPECT_EQ(p.not_before, t0);
  }
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.sends"), 0);
}

TEST_F(SendLimitsTest, RecordsTheSendAtTheCallersTime) {
  SendLimits limits;
  limits.per_day = 100;
  expect_granted(limits, t0, "5511900000042");
  EXPECT_EQ(db.scalar("SELECT recipient FROM recado.sends"), "5511900000042");
  EXPECT_EQ(db.scalar("SELECT (extract(epoch FROM sent_at) * 1000000)::bigint FROM recado.sends"),
            std::to_string(epoch_micros(t0)));
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.senders WHERE sender = '5511988880000'"), 1);
}

TEST_F(SendLimitsTest, MinSpacingRefusesUntilTheSpacingHasPassed) {
  SendLimits limits;
  limits.min_spacing = 2s;
  expect_granted(limits, t0);
  expect_refused(limits, t0 + 1s, "min_spacing", t0 + 2s);
  // Any recipient: the spacing is between every two sends of the number.
  expect_refused(limits, t0 + 1s, "min_spacing", t0 + 2s, "5511900000002");
  expect_granted(limits, t0 + 2s);
  expect_refused(limits, t0 + 3s, "min_spacing", t0 + 4s);
  EXPECT_EQ(sends(), 2);
}

TEST_F(SendLimitsTest, PerHourRefusesUntilTheOldestCountedSendLeavesTheHour) {
  SendLimits limits;
  limits.per_hour = 3;
  expect_granted(limits, t0);
  expect_granted(limits, t0 + 10min);
  expect_granted(limits, t0 + 20min);
  // The fourth waits for the first to be an hour old.
  expect_refused(limits, t0 + 30min, "per_hour", t0 + 1h);
  expect_granted(limits, t0 + 1h);
  // Now t0 + 10min is the oldest of the three in the window.
  expect_refused(limits, t0 + 1h + 1s, "per_hour", t0 + 10min + 1h);
  expect_granted(limits, t0 + 10min + 1h);
  EXPECT_EQ(sends(), 5);
}

TEST_F(SendLimitsTest, PerDayRefusesUntilTheOldestCountedSendIsADayOld) {
  SendLimits limits;
  limits.per_day = 2;
  expect_granted(limits, t0);
  expect_granted(limits, t0 + 5h);
  expect_refused(limits, t0 + 6h, "per_day", t0 + 24h);
  expect_granted(limits, t0 + 24h);
  expect_refused(limits, t0 + 24h + 1s, "per_day", t0 + 5h + 24h);
}

TEST_F(SendLimitsTest, PerRecipientSpacingCountsEachRecipientApart) {
  SendLimits limits;
  limits.per_recipient_spacing = 6s;
  const std::string_view ana = "5511900000001", bia = "5511900000002";
  expect_granted(limits, t0, ana);
  expect_refused(limits, t0 + 1s, "per_recipient", t0 + 6s, ana);
  expect_granted(limits, t0 + 1s, bia);  // another recipient is not held back
  expect_granted(limits, t0 + 6s, ana);
  expect_refused(limits, t0 + 6s, "per_recipient", t0 + 7s, bia);
  expect_granted(limits, t0 + 7s, bia);
}

TEST_F(SendLimitsTest, WhenSeveralLimitsRefuseTheRetryWaitsForTheLatest) {
  SendLimits limits;
  limits.min_spacing = 2s;
  limits.per_hour = 2;
  limits.per_recipient_spacing = 30s;
  const std::string_view ana = "5511900000001", bia = "5511900000002";
  expect_granted(limits, t0, ana);
  expect_granted(limits, t0 + 10s, bia);
  // To Ana at t0 + 11s: min_spacing frees at t0 + 12s, per_recipient at t0 + 30s, per_hour
  // at t0 + 1h. Only at t0 + 1h do all three pass.
  expect_refused(limits, t0 + 11s, "per_hour", t0 + 1h, ana);
  expect_granted(limits, t0 + 1h, ana);
}

TEST_F(SendLimitsTest, TheLatestLimitNamesTheReason) {
  SendLimits limits;
  limits.min_spacing = 2s;
  limits.per_hour = 100;
  limits.per_recipient_spacing = 30s;
  expect_granted(limits, t0);
  // min_spacing (t0 + 2s) and per_recipient (t0 + 30s) refuse; per_hour does not.
  expect_refused(limits, t0 + 1s, "per_recipient", t0 + 30s);
  // Another recipient: only min_spacing.
  expect_refused(limits, t0 + 1s, "min_spacing", t0 + 2s, "5511900000002");
  expect_granted(limits, t0 + 30s);
}

TEST_F(SendLimitsTest, SendsStampedAheadOfNowStillCount) {
  // Another worker's clock runs ten seconds ahead of this one's.
  SendLimits limits;
  limits.min_spacing = 2s;
  limits.per_hour = 1;
  expect_granted(limits, t0 + 10s);
  expect_refused(limits, t0, "per_hour", t0 + 10s + 1h);
}

TEST_F(SendLimitsTest, DifferentSendersAreCountedApart) {
  SendLimits limits;
  limits.per_hour = 1;
  limits.min_spacing = 1min;
  EXPECT_TRUE(reserve_send(conn, "5511911110000", "5511900000001", limits, t0).granted);
  EXPECT_TRUE(reserve_send(conn, "5511922220000", "5511900000001", limits, t0).granted);
  const SendPermit again = reserve_send(conn, "5511911110000", "5511900000001", limits, t0 + 2min);
  EXPECT_FALSE(again.granted);
  EXPECT_EQ(again.reason, "per_hour");
  EXPECT_EQ(again.not_before, t0 + 1h);
  EXPECT_EQ(sends("5511911110000"), 1);
  EXPECT_EQ(sends("5511922220000"), 1);
}

TEST_F(SendLimitsTest, AReservationWaitsOnlyForItsOwnSender) {
  SendLimits limits;
  limits.per_hour = 10;
  // Both senders exist; another session holds the first one's lock, as a reservation in
  // flight does.
  ASSERT_TRUE(reserve_send(conn, "5511911110000", "5511900000001", limits, t0).granted);
  ASSERT_TRUE(reserve_send(conn, "5511922220000", "5511900000001", limits, t0).granted);
  pqxx::connection holder(db.url());
  pqxx::work held(holder);
  held.exec("SELECT 1 FROM recado.senders WHERE sender = '5511911110000' FOR UPDATE");

  // A lock wait fails the statement after 2s instead of hanging the test.
  pqxx::connection other(db.url());
  other.set_variable("lock_timeout", "'2s'");
  const SendPermit p = reserve_send(other, "5511922220000", "5511900000002", limits, t0 + 1s);
  EXPECT_TRUE(p.granted);

  // The held sender's reservation waits: with a short lock_timeout it gives up, and the
  // libpqxx error reaches the caller.
  other.set_variable("lock_timeout", "'200ms'");
  EXPECT_THROW(reserve_send(other, "5511911110000", "5511900000002", limits, t0 + 1s), pqxx::sql_error);
  held.abort();
  EXPECT_TRUE(reserve_send(other, "5511911110000", "5511900000002", limits, t0 + 1s).granted);
  EXPECT_EQ(sends("5511911110000"), 2);
}

// Many processes reserving for one sender at the same instant: exactly the limit passes.
// Each thread has its own connection, as each worker process has; they start together and
// the sender's row does not exist yet, so the first reservations also race to create it.
void hammer(const std::string& url, const SendLimits& limits, int threads, int attempts_each,
            std::atomic<int>& granted, std::atomic<int>& refused_right) {
  std::latch start(threads);
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&, i] {
      pqxx::connection c(url);
      start.arrive_and_wait();
      for (int n = 0; n < attempts_each; ++n) {
        const std::string recipient = "55119" + std::to_string(1000000 + i * 1000 + n);
        const SendPermit p = reserve_send(c, "5511988880000", recipient, limits, t0);
        if (p.granted) {
          ++granted;
        } else if (p.not_before > t0) {
          ++refused_right;
        }
      }
    });
  }
  for (auto& t : pool) t.join();
}

TEST_F(SendLimitsTest, ConcurrentReservationsPassPerHourExactly) {
  SendLimits limits;
  limits.per_hour = 10;
  std::atomic<int> granted{0}, refused{0};
  hammer(db.url(), limits, 16, 20, granted, refused);
  EXPECT_EQ(granted.load(), 10);
  EXPECT_EQ(refused.load(), 16 * 20 - 10);
  EXPECT_EQ(sends(), 10);
  // Every refusal named the hour's end as its retry time.
  const SendPermit p = reserve(limits, t0);
  EXPECT_FALSE(p.granted);
  EXPECT_EQ(p.not_before, t0 + 1h);
}

TEST_F(SendLimitsTest, ConcurrentReservationsPassMinSpacingOnce) {
  SendLimits limits;
  limits.min_spacing = 1s;
  std::atomic<int> granted{0}, refused{0};
  hammer(db.url(), limits, 12, 10, granted, refused);
  EXPECT_EQ(granted.load(), 1);
  EXPECT_EQ(refused.load(), 12 * 10 - 1);
  EXPECT_EQ(sends(), 1);
}

TEST_F(SendLimitsTest, PruneDeletesOnlyOldSendsAndAtMostTheLimit) {
  SendLimits limits;
  limits.per_day = 1000;
  for (int i = 0; i < 5; ++i) expect_granted(limits, t0 + std::chrono::minutes{i});
  expect_granted(limits, t0 + 25h);
  expect_granted(limits, t0 + 26h);
  const Timestamp cutoff = t0 + 26h - kSendHistory;  // t0 + 2h
  EXPECT_EQ(prune_sends(conn, cutoff, 3), 3);
  EXPECT_EQ(prune_sends(conn, cutoff, 3), 2);
  EXPECT_EQ(prune_sends(conn, cutoff, 3), 0);
  EXPECT_EQ(sends(), 2);
  // The boundary: a send exactly at the cutoff stays.
  EXPECT_EQ(prune_sends(conn, t0 + 25h, 10), 0);
  EXPECT_EQ(prune_sends(conn, t0 + 25h + 1us, 10), 1);
  // What remains still counts.
  limits.per_day = 1;
  expect_refused(limits, t0 + 27h, "per_day", t0 + 26h + 24h);
}

}  // namespace
}  // namespace recado
