// Periodic jobs against a real PostgreSQL: the leader's lease (one holder at a time, taken
// over once it expires or is given up), one job per cron slot whatever races or leader
// changes happen, and the Scheduler enqueueing on a FakeClock from whichever process leads.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <variant>

#include "src/db_pool.hpp"
#include "src/event_loop.hpp"
#include "src/job_store.hpp"
#include "src/periodic.hpp"
#include "src/scheduler.hpp"
#include "tests/support/pg_harness.hpp"

namespace recado {
namespace {

using namespace std::chrono_literals;
using test::TestDatabase;

const Timestamp kStart{std::chrono::seconds{1767225600}};  // 2026-01-01 00:00:00 UTC, a Thursday

CronSchedule cron(std::string_view expression, std::string_view zone = "UTC") {
  auto parsed = parse_cron(expression, zone);
  if (auto* error = std::get_if<std::string>(&parsed)) throw std::runtime_error(*error);
  return std::get<CronSchedule>(parsed);
}

PeriodicJob periodic_job(std::string name, std::string_view expression,
                         std::string_view zone = "UTC", std::string queue = "periodic") {
  PeriodicJob p;
  p.name = std::move(name);
  p.schedule = cron(expression, zone);
  p.job.queue = std::move(queue);
  p.job.kind = "noop";
  p.job.payload_json = R"({"report":"daily"})";
  return p;
}

long long epoch_seconds(Timestamp t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// --- the lease ------------------------------------------------------------------------------

class LeaseTest : public ::testing::Test {
 protected:
  TestDatabase db;
  pqxx::connection a{db.url()};
  pqxx::connection b{db.url()};
};

TEST_F(LeaseTest, OneHolderAtATimeAndTheHolderRenews) {
  EXPECT_TRUE(periodic::hold_leadership(a, "scheduler", "worker-a", 30s));
  EXPECT_FALSE(periodic::hold_leadership(b, "scheduler", "worker-b", 30s));
  const std::string since = db.scalar("SELECT since FROM recado.leaders");
  const long long first =
      db.count("SELECT (extract(epoch FROM until) * 1000000)::bigint FROM recado.leaders");
  EXPECT_TRUE(periodic::hold_leadership(a, "scheduler", "worker-a", 30s));
  EXPECT_GT(db.count("SELECT (extract(epoch FROM until) * 1000000)::bigint FROM recado.leaders"),
            first);
  EXPECT_EQ(db.scalar("SELECT since FROM recado.leaders"), since);  // renewed, not retaken
  EXPECT_EQ(db.scalar("SELECT holder FROM recado.leaders"), "worker-a");
  // Another lease name is another election.
  EXPECT_TRUE(periodic::hold_leadership(b, "other", "worker-b", 30s));
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.leaders"), 2);
}

TEST_F(LeaseTest, AnExpiredLeaseIsTakenOver) {
  ASSERT_TRUE(periodic::hold_leadership(a, "scheduler", "worker-a", 50ms));
  // Refused while the 50ms last, then taken: the database's clock decides.
  ASSERT_TRUE(test::poll_until(
      [&] { return periodic::hold_leadership(b, "scheduler", "worker-b", 30s); }, 10s));
  EXPECT_EQ(db.scalar("SELECT holder FROM recado.leaders"), "worker-b");
  EXPECT_EQ(
      db.count("SELECT count(*) FROM recado.leaders WHERE since > now() - interval '10 seconds'"),
      1);
  EXPECT_FALSE(periodic::hold_leadership(a, "scheduler", "worker-a", 30s));
}

TEST_F(LeaseTest, ReleaseFreesTheLeaseOnlyForItsHolder) {
  ASSERT_TRUE(periodic::hold_leadership(a, "scheduler", "worker-a", 30s));
  EXPECT_FALSE(periodic::release_leadership(b, "scheduler", "worker-b"));
  EXPECT_FALSE(periodic::hold_leadership(b, "scheduler", "worker-b", 30s));
  EXPECT_TRUE(periodic::release_leadership(a, "scheduler", "worker-a"));
  EXPECT_TRUE(periodic::hold_leadership(b, "scheduler", "worker-b", 30s));
  EXPECT_FALSE(periodic::release_leadership(a, "scheduler", "worker-a"));  // not a's any more
  EXPECT_EQ(db.scalar("SELECT holder FROM recado.leaders"), "worker-b");
}

TEST_F(LeaseTest, ProcessesRacingForAFreeLeaseElectOne) {
  for (int round = 0; round < 5; ++round) {
    const std::string name = "race-" + std::to_string(round);
    std::atomic<int> winners{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
      threads.emplace_back([&, t] {
        pqxx::connection c(db.url());
        if (periodic::hold_leadership(c, name, "worker-" + std::to_string(t), 30s)) ++winners;
      });
    for (auto& t : threads) t.join();
    EXPECT_EQ(winners.load(), 1) << name;
  }
}

// --- one job per slot -----------------------------------------------------------------------

class EnqueueSlotTest : public ::testing::Test {
 protected:
  long long jobs_of(const std::string& name) {
    return db.count("SELECT count(*) FROM recado.jobs WHERE dedup_key LIKE 'periodic:" + name +
                    ":%'");
  }
  TestDatabase db;
  pqxx::connection conn{db.url()};
  PeriodicJob report = periodic_job("report", "0 * * * *");
};

TEST_F(EnqueueSlotTest, TheSameSlotTwiceGivesOneJob) {
  test::WakeupListener wakeups(db.url());
  const Timestamp slot = kStart + 1h;
  const std::optional<int64_t> id = periodic::enqueue_slot(conn, report, slot);
  ASSERT_TRUE(id);
  EXPECT_TRUE(wakeups.woken("periodic"));
  EXPECT_FALSE(periodic::enqueue_slot(conn, report, slot));
  EXPECT_EQ(jobs_of("report"), 1);

  const std::string where = " FROM recado.jobs WHERE id = " + std::to_string(*id);
  EXPECT_EQ(db.scalar("SELECT dedup_key" + where), "periodic:report:1767229200");
  EXPECT_EQ(periodic::dedup_key("report", slot), "periodic:report:1767229200");
  EXPECT_EQ(db.count("SELECT extract(epoch FROM run_at)::bigint" + where), epoch_seconds(slot));
  EXPECT_EQ(db.scalar("SELECT queue || ' ' || kind || ' ' || payload::text || ' ' || max_attempts" +
                      where),
            R"(periodic noop {"report": "daily"} 25)");
  EXPECT_EQ(db.count("SELECT job_id FROM recado.periodic WHERE name = 'report'"), *id);
  EXPECT_EQ(db.count("SELECT extract(epoch FROM last_slot)::bigint FROM recado.periodic"),
            epoch_seconds(slot));
}

TEST_F(EnqueueSlotTest, AnOlderSlotAfterANewerIsRefused) {
  ASSERT_TRUE(periodic::enqueue_slot(conn, report, kStart + 2h));
  EXPECT_FALSE(periodic::enqueue_slot(conn, report, kStart + 1h));
  EXPECT_EQ(jobs_of("report"), 1);
  // Another periodic job has slots of its own.
  EXPECT_TRUE(periodic::enqueue_slot(conn, periodic_job("digest", "0 * * * *"), kStart + 1h));
  EXPECT_TRUE(periodic::enqueue_slot(conn, report, kStart + 3h));
  EXPECT_EQ(jobs_of("report"), 2);
}

TEST_F(EnqueueSlotTest, ASlotWhoseJobFinishedIsStillRefused) {
  const Timestamp slot = kStart + 1h;
  const std::optional<int64_t> id = periodic::enqueue_slot(conn, report, slot);
  ASSERT_TRUE(id);
  // Work the job: it leaves recado.jobs, and with it the dedup key's protection.
  const std::vector<Job> claimed = job_store::claim(conn, "periodic", 10, "worker-1", 60s);
  ASSERT_EQ(claimed.size(), 1u);
  ASSERT_EQ(job_store::finish(conn, {{*id, 1, JobFinish::Action::complete, {}, {}}}, "worker-1")
                .completed,
            1);
  ASSERT_EQ(db.count("SELECT count(*) FROM recado.jobs"), 0);
  ASSERT_EQ(db.count("SELECT count(*) FROM recado.jobs_finished WHERE dedup_key = "
                     "'periodic:report:1767229200'"),
            1);

  EXPECT_FALSE(periodic::enqueue_slot(conn, report, slot));
  EXPECT_FALSE(periodic::enqueue_slot(conn, report, slot - 1h));
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs"), 0);
  EXPECT_TRUE(periodic::enqueue_slot(conn, report, slot + 1h));
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs"), 1);
}

TEST_F(EnqueueSlotTest, ConcurrentEnqueuesOfOneSlotMakeOneJob) {
  // Eight processes that all think they lead, each trying the same three slots.
  std::atomic<int> enqueued{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      pqxx::connection c(db.url());
      for (int hour = 1; hour <= 3; ++hour)
        if (periodic::enqueue_slot(c, report, kStart + std::chrono::hours{hour})) ++enqueued;
    });
  for (auto& t : threads) t.join();
  // Each slot at most once, and the newest always.
  EXPECT_LE(enqueued.load(), 3);
  EXPECT_EQ(jobs_of("report"), enqueued.load());
  EXPECT_EQ(db.count("SELECT count(DISTINCT dedup_key) FROM recado.jobs"), enqueued.load());
  EXPECT_EQ(
      db.count("SELECT count(*) FROM recado.jobs WHERE dedup_key = 'periodic:report:1767236400'"),
      1);
}

// --- which slot is due ----------------------------------------------------------------------

TEST(LatestSlotTest, TheLatestFireNotAfterNowAndNoBacklog) {
  const CronSchedule every_minute = cron("* * * * *");
  EXPECT_EQ(periodic::latest_slot(every_minute, kStart + 30s), kStart);
  EXPECT_EQ(periodic::latest_slot(every_minute, kStart), kStart);  // due exactly now
  EXPECT_EQ(periodic::latest_slot(every_minute, kStart + 30s, kStart), std::nullopt);
  EXPECT_EQ(periodic::latest_slot(every_minute, kStart + 5min + 30s, kStart), kStart + 5min);
  // Looks back one day at most, even after a long gap.
  const CronSchedule nine = cron("0 9 * * *");
  EXPECT_EQ(periodic::latest_slot(nine, kStart + 10h, kStart - 72h), kStart + 9h);
  EXPECT_EQ(periodic::latest_slot(nine, kStart + 8h), kStart - 15h);
  EXPECT_EQ(periodic::latest_slot(cron("0 9 * * fri"), kStart + 8h), std::nullopt);
  // Many fires in the day before, the latest an hour back.
  EXPECT_EQ(periodic::latest_slot(cron("* 0-22 * * *"), kStart + 23h + 59min),
            kStart + 22h + 59min);
  EXPECT_EQ(periodic::latest_slot(cron("*/7 * * * *"), kStart + 1h + 59min), kStart + 1h + 56min);
  EXPECT_EQ(periodic::latest_slot(cron("*/7 * * * *"), kStart + 2h + 3min), kStart + 2h);
}

// --- the Scheduler --------------------------------------------------------------------------

class SchedulerTest : public ::testing::Test {
 protected:
  ~SchedulerTest() override {
    for (auto& s : schedulers) stop(*s);
  }

  Scheduler& make(std::string holder, std::vector<PeriodicJob> jobs,
                  std::function<void()> on_leader_tick = {}) {
    SchedulerOptions options;
    options.tick = 20ms;
    options.ttl = 30s;  // longer than any wait below: a takeover within one proves a release
    schedulers.push_back(std::make_unique<Scheduler>(
        loop, pool, clock, std::move(holder), std::move(jobs), options, std::move(on_leader_tick)));
    return *schedulers.back();
  }

  // Turns the loop until `done()` holds (checked every few ms) or `timeout` passes.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    bool result = false;
    Timer check(loop);
    check.start(
        0ms,
        [&] {
          result = done();
          if (result || std::chrono::steady_clock::now() >= deadline) loop.stop();
        },
        5ms);
    loop.run();
    return result;
  }

  bool stop(Scheduler& s) {
    bool stopped = false;
    s.stop([&] { stopped = true; });
    return run_until([&] { return stopped; });
  }

  long long jobs() { return db.count("SELECT count(*) FROM recado.jobs"); }
  std::string slots() {
    return db.scalar(
        "SELECT string_agg(extract(epoch FROM run_at)::bigint - 1767225600 || '=' || dedup_key, ' "
        "' "
        "ORDER BY id) FROM recado.jobs");
  }

  TestDatabase db;
  FakeClock clock{kStart + 30s};
  EventLoop loop;
  DbPool pool{loop, db.url(), 4};
  std::vector<std::unique_ptr<Scheduler>> schedulers;
};

TEST_F(SchedulerTest, TwoSchedulersEnqueueEachSlotOnceAcrossALeaderChange) {
  int a_ticks = 0, b_ticks = 0;
  Scheduler& a = make("worker-a", {periodic_job("digest", "* * * * *")}, [&] { ++a_ticks; });
  Scheduler& b = make("worker-b", {periodic_job("digest", "* * * * *")}, [&] { ++b_ticks; });
  a.start();
  ASSERT_TRUE(run_until([&] { return a.leader(); }));
  b.start();
  // The leader enqueues the latest slot (00:00), once, however many ticks go by.
  ASSERT_TRUE(run_until([&] { return jobs() == 1; }));
  int seen = a_ticks;
  ASSERT_TRUE(run_until([&] { return a_ticks >= seen + 5; }));
  EXPECT_EQ(jobs(), 1);

  clock.advance(60s);  // 00:01:30
  ASSERT_TRUE(run_until([&] { return jobs() == 2; }));
  seen = a_ticks;
  ASSERT_TRUE(run_until([&] { return a_ticks >= seen + 5; }));
  EXPECT_EQ(jobs(), 2);
  EXPECT_FALSE(b.leader());
  EXPECT_EQ(b_ticks, 0);  // maintenance runs on the leader only

  // The leader stops and gives the lease up: the other takes over well before the ttl.
  ASSERT_TRUE(stop(a));
  EXPECT_FALSE(a.leader());
  ASSERT_TRUE(run_until([&] { return b.leader(); }, 5s));
  EXPECT_EQ(db.scalar("SELECT holder FROM recado.leaders WHERE name = 'scheduler'"), "worker-b");
  // Its first look finds 00:01 already enqueued.
  ASSERT_TRUE(run_until([&] { return b_ticks >= 5; }));
  EXPECT_EQ(jobs(), 2);

  clock.advance(60s);  // 00:02:30
  ASSERT_TRUE(run_until([&] { return jobs() == 3; }));
  clock.advance(60s);  // 00:03:30
  ASSERT_TRUE(run_until([&] { return jobs() == 4; }));
  seen = b_ticks;
  ASSERT_TRUE(run_until([&] { return b_ticks >= seen + 5; }));
  const int a_after_stop = a_ticks;
  EXPECT_EQ(slots(),
            "0=periodic:digest:1767225600 60=periodic:digest:1767225660 "
            "120=periodic:digest:1767225720 180=periodic:digest:1767225780");
  EXPECT_EQ(
      db.count("SELECT extract(epoch FROM last_slot)::bigint - 1767225600 FROM recado.periodic"),
      180);
  EXPECT_EQ(db.scalar("SELECT job_id = (SELECT max(id) FROM recado.jobs) FROM recado.periodic"),
            "t");
  EXPECT_EQ(a_ticks, a_after_stop);
}

TEST_F(SchedulerTest, OnlyTheLatestSlotIsEnqueuedAfterAGap) {
  int ticks = 0;
  Scheduler& s = make("worker-a", {periodic_job("digest", "*/5 * * * *")}, [&] { ++ticks; });
  s.start();
  ASSERT_TRUE(run_until([&] { return jobs() == 1; }));  // 00:00
  clock.advance(1h);                                    // 01:00:30: twelve slots went by
  ASSERT_TRUE(run_until([&] { return jobs() == 2; }));
  const int seen = ticks;
  ASSERT_TRUE(run_until([&] { return ticks >= seen + 5; }));
  EXPECT_EQ(slots(), "0=periodic:digest:1767225600 3600=periodic:digest:1767229200");
}

TEST_F(SchedulerTest, ATimeZoneScheduleFiresAtItsLocalInstant) {
  // Thursday 09:00 in Kolkata (+05:30) and Wednesday 22:30 in New York (-05:00, winter) are
  // both 2026-01-01 03:30 UTC; Thursday 09:00 UTC is not due yet.
  clock.set(kStart + 3h + 29min + 30s);
  int ticks = 0;
  Scheduler& s = make("worker-a",
                      {periodic_job("kolkata", "0 9 * * thu", "Asia/Kolkata"),
                       periodic_job("new_york", "30 22 * * wed", "America/New_York"),
                       periodic_job("utc", "0 9 * * thu")},
                      [&] { ++ticks; });
  s.start();
  ASSERT_TRUE(run_until([&] { return ticks >= 5; }));
  EXPECT_EQ(jobs(), 0);  // nothing fired in the day before
  clock.advance(29s);    // 03:29:59
  ASSERT_TRUE(run_until([&] { return ticks >= 10; }));
  EXPECT_EQ(jobs(), 0);
  clock.advance(1s);  // 03:30:00
  ASSERT_TRUE(run_until([&] { return jobs() == 2; }));
  EXPECT_EQ(db.scalar("SELECT string_agg(dedup_key || '@' || to_char(run_at AT TIME ZONE 'UTC', "
                      "'YYYY-MM-DD HH24:MI:SS'), "
                      "' ' ORDER BY dedup_key) FROM recado.jobs"),
            "periodic:kolkata:1767238200@2026-01-01 03:30:00 "
            "periodic:new_york:1767238200@2026-01-01 03:30:00");
}

TEST_F(SchedulerTest, AFailingJobDoesNotHoldBackTheOthers) {
  PeriodicJob broken = periodic_job("broken", "* * * * *");
  broken.job.payload_json = "{not json";
  int ticks = 0;
  Scheduler& s = make("worker-a", {broken, periodic_job("digest", "* * * * *")}, [&] { ++ticks; });
  s.start();
  ASSERT_TRUE(run_until([&] { return jobs() == 1; }));
  ASSERT_TRUE(run_until([&] { return ticks >= 5; }));
  EXPECT_TRUE(s.leader());
  EXPECT_EQ(slots(), "0=periodic:digest:1767225600");
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.periodic WHERE name = 'broken'"),
            0);  // rolled back
}

TEST_F(SchedulerTest, StopsCleanlyWithoutEverStarting) {
  Scheduler& s = make("worker-a", {periodic_job("digest", "* * * * *")});
  ASSERT_TRUE(stop(s));
  EXPECT_FALSE(s.leader());
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.leaders"), 0);
}

}  // namespace
}  // namespace recado
