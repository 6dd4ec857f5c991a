// recado worker in-process against a real PostgreSQL: outcomes, retries, concurrency,
// sequence keys, wake-ups, rescue and drain.
#include <gtest/gtest.h>

#include "jobs/registry.hpp"
#include "src/job_store.hpp"
#include "tests/support/pg_harness.hpp"
#include "tests/support/worker_harness.hpp"

namespace recado {
namespace {

using namespace std::chrono_literals;
using test::TestDatabase;
using test::WorkerHarness;

class WorkerTest : public ::testing::Test {
 protected:
  std::vector<EnqueueResult> enqueue(const std::string& kind, const std::string& payload = "{}", int n = 1,
                                     int max_attempts = 0, std::optional<std::string> sequence_key = {}) {
    std::vector<NewJob> jobs;
    for (int i = 0; i < n; ++i) {
      NewJob j;
      j.kind = kind;
      j.payload_json = payload;
      j.max_attempts = max_attempts;
      j.sequence_key = sequence_key;
      jobs.push_back(j);
    }
    return job_store::enqueue(conn, jobs);
  }
  long long finished(const std::string& state) {
    return db.count("SELECT count(*) FROM recado.jobs_finished WHERE state = '" + state + "'");
  }

  TestDatabase db;
  pqxx::connection conn{db.url()};
  WorkerHarness harness{db.url()};
  const JobKindTable& kinds = jobs::all_kinds();
};

TEST_F(WorkerTest, RunsJobsToCompletion) {
  enqueue("noop", "{}", 200);
  Worker& w = harness.add_worker(test::fast_worker_config(20), kinds);
  // The worker counts a batch once the loop hears of its commit, a moment after the rows.
  ASSERT_TRUE(harness.run_until([&] { return finished("completed") == 200 && w.stats().completed == 200; }));
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs"), 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs_finished WHERE attempt <> 1"), 0);
  EXPECT_EQ(w.stats().claimed, 200);
}

TEST_F(WorkerTest, RetriesWithBackoffUntilSuccess) {
  auto ids = enqueue("scripted", R"({"succeed_on_attempt": 3, "reason": "gateway 503"})");
  harness.add_worker(test::fast_worker_config(), kinds);
  ASSERT_TRUE(harness.run_until([&] { return finished("completed") == 1; }));
  EXPECT_EQ(db.scalar("SELECT attempt FROM recado.jobs_finished"), "3");
  EXPECT_EQ(db.scalar("SELECT jsonb_array_length(errors) FROM recado.jobs_finished"), "2");
  EXPECT_EQ(db.scalar("SELECT errors->0->>'error' FROM recado.jobs_finished"), "gateway 503");
}

TEST_F(WorkerTest, RetriesExhaustedBecomeDiscarded) {
  enqueue("scripted", R"({"outcome": "retry", "reason": "still failing"})", 1, 2);
  harness.add_worker(test::fast_worker_config(), kinds);
  ASSERT_TRUE(harness.run_until([&] { return finished("discarded") == 1; }));
  EXPECT_EQ(db.scalar("SELECT attempt FROM recado.jobs_finished"), "2");
  EXPECT_NE(db.scalar("SELECT errors->-1->>'error' FROM recado.jobs_finished").find("no retries left"),
            std::string::npos);
}

TEST_F(WorkerTest, HandlerExceptionIsARetryWithItsText) {
  enqueue("scripted", R"({"outcome": "throw", "reason": "boom from handler"})", 1, 1);
  harness.add_worker(test::fast_worker_config(), kinds);
  ASSERT_TRUE(harness.run_until([&] { return finished("discarded") == 1; }));
  EXPECT_NE(db.scalar("SELECT errors->-1->>'error' FROM recado.jobs_finished").find("boom from handler"),
            std::string::npos);
}

TEST_F(WorkerTest, DiscardKeepsTheReason) {
  enqueue("scripted", R"({"outcome": "discard", "reason": "phone number invalid"})");
  harness.add_worker(test::fast_worker_config(), kinds);
  ASSERT_TRUE(harness.run_until([&] { return finished("discarded") == 1; }));
  EXPECT_EQ(db.scalar("SELECT attempt || ' ' || (errors->-1->>'error') FROM recado.jobs_finished"),
            "1 phone number invalid");
}

TEST_F(WorkerTest, SnoozeReschedulesWithoutUsingAnAttempt) {
  enqueue("scripted", R"({"outcome": "snooze", "snooze_ms": 3600000, "reason": "outside business hours"})");
  harness.add_worker(test::fast_worker_config(), kinds);
  ASSERT_TRUE(harness.run_until([&] {
    return db.count("SELECT count(*) FROM recado.jobs WHERE state = 'available' AND run_at > now() + interval '50 minutes'") == 1;
  }));
  EXPECT_EQ(db.scalar("SELECT attempt FROM recado.jobs"), "0");
}

TEST_F(WorkerTest, AHandlerThatNeverFinishesTimesOut) {
  enqueue("sleep", R"({"ms": 600000})", 1, 1);
  WorkerConfig config = test::fast_worker_config();
  config.job_timeout = 200ms;
  Worker& w = harness.add_worker(config, kinds);
  ASSERT_TRUE(harness.run_until([&] { return finished("discarded") == 1; }));
  EXPECT_NE(db.scalar("SELECT errors->-1->>'error' FROM recado.jobs_finished").find("did not finish within 200ms"),
            std::string::npos);
  EXPECT_EQ(w.running(), 0);
}

TEST_F(WorkerTest, UnknownKindIsDiscarded) {
  enqueue("no_such_kind");
  harness.add_worker(test::fast_worker_config(), kinds);
  ASSERT_TRUE(harness.run_until([&] { return finished("discarded") == 1; }));
  EXPECT_NE(db.scalar("SELECT errors->-1->>'error' FROM recado.jobs_finished").find("no handler"), std::string::npos);
}

TEST_F(WorkerTest, NeverRunsMoreThanTheQueueConcurrency) {
  enqueue("sleep", R"({"ms": 60})", 12);
  Worker& w = harness.add_worker(test::fast_worker_config(3), kinds);
  int most = 0;
  ASSERT_TRUE(harness.run_until([&] {
    most = std::max(most, w.running());
    return finished("completed") == 12;
  }));
  EXPECT_EQ(most, 3);
}

TEST_F(WorkerTest, SequenceKeyOrderAcrossTwoWorkers) {
  for (int i = 0; i < 10; ++i) {
    enqueue("sleep", R"({"ms": 5})", 1, 0, "conv-a");
    enqueue("sleep", R"({"ms": 5})", 1, 0, "conv-b");
  }
  harness.add_worker(test::fast_worker_config(5), kinds);
  harness.add_worker(test::fast_worker_config(5), kinds);
  bool overlap = false;
  ASSERT_TRUE(harness.run_until([&] {
    if (db.count("SELECT count(*) FROM (SELECT sequence_key FROM recado.jobs WHERE state = 'running' "
                 "GROUP BY 1 HAVING count(*) > 1) x") > 0)
      overlap = true;
    return finished("completed") == 20;
  }));
  EXPECT_FALSE(overlap);
  // Within a key, completion order is id order.
  EXPECT_EQ(db.count(R"SQL(
    SELECT count(*) FROM (
      SELECT id, lag(id) OVER (PARTITION BY sequence_key ORDER BY finished_at, id) AS prev
      FROM recado.jobs_finished) x WHERE prev > id)SQL"), 0);
}

TEST_F(WorkerTest, NotificationWakesAnIdleWorker) {
  WorkerConfig config = test::fast_worker_config();
  config.poll_interval = 1h;  // only a NOTIFY can wake it
  Worker& w = harness.add_worker(config, kinds);
  // Wait until it listens (its listener reports in once connected) and sits idle.
  ASSERT_TRUE(harness.run_until([&] { return w.stats().wakeups >= 1; }));
  EXPECT_EQ(w.stats().claimed, 0);
  enqueue("noop");
  job_store::notify(conn, {"default"});
  ASSERT_TRUE(harness.run_until([&] { return finished("completed") == 1; }, 10s));
}

TEST_F(WorkerTest, RescuesJobsOfADeadWorker) {
  auto ids = enqueue("noop");
  auto claimed = job_store::claim(conn, "default", 1, "dead:1:beef", 1s);
  ASSERT_EQ(claimed.size(), 1u);
  db.scalar("UPDATE recado.jobs SET lease_until = now() - interval '1 second'");
  Worker& w = harness.add_worker(test::fast_worker_config(), kinds);
  ASSERT_TRUE(harness.run_until([&] { return finished("completed") == 1; }));
  EXPECT_EQ(db.scalar("SELECT attempt FROM recado.jobs_finished"), "2");
  EXPECT_NE(db.scalar("SELECT errors->-1->>'error' FROM recado.jobs_finished").find("dead:1:beef"), std::string::npos);
  EXPECT_EQ(w.stats().rescued, 1);
}

TEST_F(WorkerTest, RegistersAndUnregistersItself) {
  Worker& w = harness.add_worker(test::fast_worker_config(), kinds);
  ASSERT_TRUE(harness.run_until([&] { return db.count("SELECT count(*) FROM recado.workers") == 1; }));
  EXPECT_EQ(db.scalar("SELECT id FROM recado.workers"), w.id());
  ASSERT_TRUE(harness.shutdown(w));
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.workers"), 0);
}

TEST_F(WorkerTest, AnIdleWorkerStopsWithoutWaitingForItsTimers) {
  // Nothing runs and every periodic timer is far away: the shutdown must not wait for one
  // of them to come round (it once waited for the next rescue or heartbeat).
  WorkerConfig config = test::fast_worker_config();
  config.rescue_interval = 1h;
  config.lease = 3h;
  config.poll_interval = 1h;
  config.shutdown_timeout = 1h;
  Worker& w = harness.add_worker(config, kinds);
  ASSERT_TRUE(harness.run_until([&] { return db.count("SELECT count(*) FROM recado.workers") == 1; }));
  ASSERT_TRUE(harness.shutdown(w, 5s));
}

TEST_F(WorkerTest, DrainLetsRunningJobsFinish) {
  enqueue("sleep", R"({"ms": 150})", 5);
  Worker& w = harness.add_worker(test::fast_worker_config(10), kinds);
  ASSERT_TRUE(harness.run_until([&] { return w.running() == 5; }));
  enqueue("noop", "{}", 3);  // arrives during the drain: must not be claimed
  ASSERT_TRUE(harness.shutdown(w));
  EXPECT_EQ(finished("completed"), 5);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs WHERE state = 'available'"), 3);
}

TEST_F(WorkerTest, DrainHandsBackJobsStillRunningAtTheDeadline) {
  enqueue("sleep", R"({"ms": 60000})", 4);
  WorkerConfig config = test::fast_worker_config(10);
  config.shutdown_timeout = 200ms;
  Worker& w = harness.add_worker(config, kinds);
  ASSERT_TRUE(harness.run_until([&] { return w.running() == 4; }));
  ASSERT_TRUE(harness.shutdown(w, 5s));
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs WHERE state = 'available' AND attempt = 0 AND lease_owner IS NULL"), 4);
  EXPECT_EQ(w.stats().handed_back, 4);
}

TEST_F(WorkerTest, PausedQueueWaitsUntilResumed) {
  db.scalar("INSERT INTO recado.queues (name, paused) VALUES ('default', true)");
  enqueue("noop", "{}", 3);
  Worker& w = harness.add_worker(test::fast_worker_config(), kinds);
  ASSERT_TRUE(harness.run_until([&] { return db.count("SELECT count(*) FROM recado.workers") == 1; }));
  harness.run_until([] { return false; }, 300ms);  // a few poll rounds
  EXPECT_EQ(w.stats().claimed, 0);
  db.scalar("UPDATE recado.queues SET paused = false");
  ASSERT_TRUE(harness.run_until([&] { return finished("completed") == 3; }));
}

}  // namespace
}  // namespace recado
