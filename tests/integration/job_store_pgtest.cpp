// The queue's SQL against a real PostgreSQL: enqueue, claim, finish, leases, pruning.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "src/job_store.hpp"
#include "src/queue_admin.hpp"
#include "tests/support/pg_harness.hpp"

namespace recado {
namespace {

using namespace std::chrono_literals;
using test::TestDatabase;

NewJob job(std::string kind = "noop", std::string queue = "default") {
  NewJob j;
  j.kind = std::move(kind);
  j.queue = std::move(queue);
  return j;
}

// A verdict on the first run of job `id` (or on run `attempt`).
JobFinish verdict(int64_t id, JobFinish::Action a, std::string error = {}, Timestamp at = system_now(),
                  int attempt = 1) {
  return {id, attempt, a, at, std::move(error)};
}

class JobStoreTest : public ::testing::Test {
 protected:
  TestDatabase db;
  pqxx::connection conn{db.url()};
};

TEST_F(JobStoreTest, EnqueueReturnsIdsInInputOrder) {
  std::vector<NewJob> jobs;
  for (int i = 0; i < 50; ++i) {
    NewJob j = job();
    j.payload_json = "{\"n\":" + std::to_string(i) + "}";
    jobs.push_back(j);
  }
  auto r = job_store::enqueue(conn, jobs);
  ASSERT_EQ(r.size(), 50u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(r[i].inserted);
    EXPECT_EQ(db.scalar("SELECT payload->>'n' FROM recado.jobs WHERE id = " + std::to_string(r[i].id)),
              std::to_string(i));
  }
}

TEST_F(JobStoreTest, ClaimMarksRunningWithLeaseAndAttempt) {
  job_store::enqueue(conn, {job(), job()});
  auto claimed = job_store::claim(conn, "default", 10, "w1", 30s);
  ASSERT_EQ(claimed.size(), 2u);
  EXPECT_EQ(claimed[0].attempt, 1);
  EXPECT_EQ(claimed[0].kind, "noop");
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs WHERE state = 'running' AND lease_owner = 'w1' "
                     "AND lease_until > now() + interval '25 seconds'"), 2);
  EXPECT_TRUE(job_store::claim(conn, "default", 10, "w2", 30s).empty());
}

TEST_F(JobStoreTest, ClaimRespectsQueuePriorityAndRunAt) {
  NewJob low = job(), high = job(), later = job(), other = job("noop", "other");
  low.priority = 5;
  high.priority = -1;
  later.run_at = system_now() + 1h;
  auto ids = job_store::enqueue(conn, {low, high, later, other});
  auto claimed = job_store::claim(conn, "default", 10, "w", 30s);
  ASSERT_EQ(claimed.size(), 2u);
  EXPECT_EQ(claimed[0].id, ids[1].id);  // priority -1 first
  EXPECT_EQ(claimed[1].id, ids[0].id);
}

TEST_F(JobStoreTest, CompleteMovesJobToFinishedTable) {
  auto ids = job_store::enqueue(conn, {job()});
  auto claimed = job_store::claim(conn, "default", 1, "w", 30s);
  auto counts = job_store::finish(conn, {verdict(claimed[0].id, JobFinish::Action::complete)}, "w");
  EXPECT_EQ(counts.completed, 1);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs"), 0);
  EXPECT_EQ(db.scalar("SELECT state FROM recado.jobs_finished WHERE id = " + std::to_string(ids[0].id)), "completed");
}

TEST_F(JobStoreTest, RetryRecordsErrorAndWaitsUntilRunAt) {
  job_store::enqueue(conn, {job()});
  auto c = job_store::claim(conn, "default", 1, "w", 30s);
  const auto at = system_now() + 1h;
  auto counts = job_store::finish(conn, {verdict(c[0].id, JobFinish::Action::retry, "provider said 503", at)}, "w");
  EXPECT_EQ(counts.retried, 1);
  EXPECT_EQ(db.scalar("SELECT state FROM recado.jobs"), "retryable");
  EXPECT_EQ(db.scalar("SELECT errors->0->>'error' FROM recado.jobs"), "provider said 503");
  EXPECT_EQ(db.scalar("SELECT errors->0->>'attempt' FROM recado.jobs"), "1");
  EXPECT_TRUE(job_store::claim(conn, "default", 1, "w", 30s).empty());  // not due yet
  db.scalar("UPDATE recado.jobs SET run_at = now()");
  auto again = job_store::claim(conn, "default", 1, "w", 30s);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempt, 2);
}

TEST_F(JobStoreTest, ErrorsKeepTheLastTen) {
  NewJob j = job();
  j.max_attempts = 100;
  job_store::enqueue(conn, {j});
  for (int i = 1; i <= 13; ++i) {
    auto c = job_store::claim(conn, "default", 1, "w", 30s);
    ASSERT_EQ(c.size(), 1u);
    job_store::finish(conn, {verdict(c[0].id, JobFinish::Action::retry, "e" + std::to_string(i), system_now(), i)}, "w");
  }
  EXPECT_EQ(db.scalar("SELECT jsonb_array_length(errors) FROM recado.jobs"), "10");
  EXPECT_EQ(db.scalar("SELECT errors->0->>'error' FROM recado.jobs"), "e4");
  EXPECT_EQ(db.scalar("SELECT errors->9->>'error' FROM recado.jobs"), "e13");
}

TEST_F(JobStoreTest, SnoozeDoesNotUseAnAttempt) {
  job_store::enqueue(conn, {job()});
  auto c = job_store::claim(conn, "default", 1, "w", 30s);
  job_store::finish(conn, {verdict(c[0].id, JobFinish::Action::snooze, "", system_now() + 1h)}, "w");
  EXPECT_EQ(db.scalar("SELECT state || ' ' || attempt FROM recado.jobs"), "available 0");
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs WHERE run_at > now() + interval '59 minutes'"), 1);
}

TEST_F(JobStoreTest, DiscardKeepsJobWithItsError) {
  auto ids = job_store::enqueue(conn, {job()});
  auto c = job_store::claim(conn, "default", 1, "w", 30s);
  job_store::finish(conn, {verdict(c[0].id, JobFinish::Action::discard, "invalid phone number")}, "w");
  EXPECT_EQ(db.scalar("SELECT state || ': ' || (errors->-1->>'error') FROM recado.jobs_finished"),
            "discarded: invalid phone number");
  auto shown = queue_admin::show_job(conn, ids[0].id);
  ASSERT_TRUE(shown);
  EXPECT_EQ((*shown)["state"], "discarded");
}

TEST_F(JobStoreTest, AVerdictOnAnEarlierRunLeavesTheNextRunAlone) {
  job_store::enqueue(conn, {job()});
  auto first = job_store::claim(conn, "default", 1, "w", 30s);
  // The lease lapses, the rescuer returns the job and the same worker claims it again.
  db.scalar("UPDATE recado.jobs SET lease_until = now() - interval '1 second'");
  ASSERT_EQ(job_store::rescue_expired(conn, 10), 1);
  auto second = job_store::claim(conn, "default", 1, "w", 30s);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].attempt, 2);
  auto late = job_store::finish(conn, {verdict(first[0].id, JobFinish::Action::retry, "stale", system_now(), 1)}, "w");
  EXPECT_EQ(late.total(), 0);
  EXPECT_EQ(db.scalar("SELECT state FROM recado.jobs"), "running");
  auto current = job_store::finish(conn, {verdict(second[0].id, JobFinish::Action::complete, {}, system_now(), 2)}, "w");
  EXPECT_EQ(current.completed, 1);
}

TEST_F(JobStoreTest, FinishIgnoresJobsNoLongerLeasedToThisWorker) {
  job_store::enqueue(conn, {job()});
  auto c = job_store::claim(conn, "default", 1, "w1", 30s);
  auto counts = job_store::finish(conn, {verdict(c[0].id, JobFinish::Action::complete)}, "someone-else");
  EXPECT_EQ(counts.total(), 0);
  EXPECT_EQ(db.scalar("SELECT state FROM recado.jobs"), "running");
}

TEST_F(JobStoreTest, MixedVerdictsInOneTransaction) {
  job_store::enqueue(conn, {job(), job(), job(), job()});
  auto c = job_store::claim(conn, "default", 4, "w", 30s);
  ASSERT_EQ(c.size(), 4u);
  auto counts = job_store::finish(conn, {verdict(c[0].id, JobFinish::Action::complete),
                                         verdict(c[1].id, JobFinish::Action::retry, "x"),
                                         verdict(c[2].id, JobFinish::Action::snooze),
                                         verdict(c[3].id, JobFinish::Action::discard, "y")}, "w");
  EXPECT_EQ(counts.completed, 1);
  EXPECT_EQ(counts.retried, 1);
  EXPECT_EQ(counts.snoozed, 1);
  EXPECT_EQ(counts.discarded, 1);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs"), 2);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs_finished"), 2);
}

TEST_F(JobStoreTest, DedupKeyReturnsTheLiveJob) {
  NewJob a = job(), b = job();
  a.dedup_key = b.dedup_key = "evolution:clinic1:3A55";
  auto first = job_store::enqueue(conn, {a});
  auto second = job_store::enqueue(conn, {b});
  EXPECT_TRUE(first[0].inserted);
  EXPECT_FALSE(second[0].inserted);
  EXPECT_EQ(second[0].id, first[0].id);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs"), 1);
}

TEST_F(JobStoreTest, DedupWithinOneBatch) {
  NewJob a = job(), b = job(), c = job();
  a.dedup_key = b.dedup_key = "k";
  auto r = job_store::enqueue(conn, {a, c, b});
  EXPECT_TRUE(r[0].inserted);
  EXPECT_TRUE(r[1].inserted);
  EXPECT_FALSE(r[2].inserted);
  EXPECT_EQ(r[2].id, r[0].id);
}

TEST_F(JobStoreTest, DedupKeyIsFreeAgainOnceTheJobFinished) {
  NewJob a = job();
  a.dedup_key = "k";
  auto first = job_store::enqueue(conn, {a});
  auto c = job_store::claim(conn, "default", 1, "w", 30s);
  job_store::finish(conn, {verdict(c[0].id, JobFinish::Action::complete)}, "w");
  auto second = job_store::enqueue(conn, {a});
  EXPECT_TRUE(second[0].inserted);
  EXPECT_NE(second[0].id, first[0].id);
}

TEST_F(JobStoreTest, DedupUnderConcurrentInsertsMakesOneJob) {
  constexpr int kThreads = 8, kRounds = 25;
  std::vector<std::thread> threads;
  std::mutex mutex;
  std::map<std::string, std::set<int64_t>> ids_by_key;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      pqxx::connection c(db.url());
      for (int r = 0; r < kRounds; ++r) {
        NewJob j = job();
        j.dedup_key = "msg-" + std::to_string(r);
        auto res = job_store::enqueue(c, {j});
        std::lock_guard lock(mutex);
        ids_by_key[*j.dedup_key].insert(res[0].id);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs"), kRounds);
  for (const auto& [key, ids] : ids_by_key) EXPECT_EQ(ids.size(), 1u) << key;
}

TEST_F(JobStoreTest, SequenceKeyRunsOneAtATimeInOrder) {
  NewJob a = job(), b = job(), c = job(), free = job();
  a.sequence_key = b.sequence_key = c.sequence_key = "conv-1";
  auto ids = job_store::enqueue(conn, {a, b, c, free});
  auto first = job_store::claim(conn, "default", 10, "w", 30s);
  ASSERT_EQ(first.size(), 2u);  // a and the free job
  std::set<int64_t> got{first[0].id, first[1].id};
  EXPECT_TRUE(got.count(ids[0].id));
  EXPECT_TRUE(got.count(ids[3].id));
  EXPECT_TRUE(job_store::claim(conn, "default", 10, "w", 30s).empty());
  job_store::finish(conn, {verdict(ids[0].id, JobFinish::Action::complete)}, "w");
  auto second = job_store::claim(conn, "default", 10, "w", 30s);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].id, ids[1].id);
}

TEST_F(JobStoreTest, SequenceKeyWaitsForAnOlderJobThatIsRetrying) {
  NewJob a = job(), b = job();
  a.sequence_key = b.sequence_key = "conv-1";
  auto ids = job_store::enqueue(conn, {a, b});
  auto c = job_store::claim(conn, "default", 10, "w", 30s);
  ASSERT_EQ(c.size(), 1u);
  job_store::finish(conn, {verdict(ids[0].id, JobFinish::Action::retry, "later", system_now() + 1h)}, "w");
  EXPECT_TRUE(job_store::claim(conn, "default", 10, "w", 30s).empty());
}

TEST_F(JobStoreTest, SequenceKeysUnderConcurrentClaimers) {
  // 6 conversations x 15 messages; 4 claimers complete what they take. At no time may two
  // jobs of one conversation run, and each conversation's jobs must complete in id order.
  std::vector<NewJob> jobs;
  for (int m = 0; m < 15; ++m)
    for (int conv = 0; conv < 6; ++conv) {
      NewJob j = job();
      j.sequence_key = "conv-" + std::to_string(conv);
      j.payload_json = "{\"conv\":" + std::to_string(conv) + "}";
      jobs.push_back(j);
    }
  job_store::enqueue(conn, jobs);
  std::atomic<bool> violated{false};
  std::mutex mutex;
  std::map<std::string, std::vector<int64_t>> order;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      pqxx::connection c(db.url());
      const std::string me = "w" + std::to_string(t);
      int idle_rounds = 0;
      while (idle_rounds < 200) {
        auto claimed = job_store::claim(c, "default", 3, me, 30s);
        if (claimed.empty()) {
          ++idle_rounds;
          pqxx::nontransaction q(c);
          if (q.exec("SELECT count(*) FROM recado.jobs")[0][0].as<int>() == 0) break;
          continue;
        }
        idle_rounds = 0;
        {
          pqxx::nontransaction q(c);
          if (q.exec("SELECT count(*) FROM (SELECT sequence_key FROM recado.jobs WHERE state = 'running' "
                     "GROUP BY 1 HAVING count(*) > 1) x")[0][0].as<int>() > 0)
            violated = true;
        }
        std::vector<JobFinish> done;
        for (const Job& j : claimed) {
          done.push_back(verdict(j.id, JobFinish::Action::complete, {}, system_now(), j.attempt));
          std::lock_guard lock(mutex);
          order[*j.sequence_key].push_back(j.id);
        }
        job_store::finish(c, done, me);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(violated);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs_finished WHERE state = 'completed'"), 90);
  for (const auto& [key, ids] : order) {
    EXPECT_EQ(ids.size(), 15u) << key;
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end())) << key;
  }
}

TEST_F(JobStoreTest, PausedQueueIsNotClaimedFrom) {
  job_store::enqueue(conn, {job(), job("noop", "other")});
  queue_admin::set_paused(conn, "default", true);
  EXPECT_TRUE(job_store::claim(conn, "default", 10, "w", 30s).empty());
  EXPECT_EQ(job_store::claim(conn, "other", 10, "w", 30s).size(), 1u);
  queue_admin::set_paused(conn, "default", false);
  EXPECT_EQ(job_store::claim(conn, "default", 10, "w", 30s).size(), 1u);
}

TEST_F(JobStoreTest, ClaimsFromConcurrentWorkersNeverOverlap) {
  std::vector<NewJob> jobs(400, job());
  job_store::enqueue(conn, jobs);
  std::mutex mutex;
  std::multiset<int64_t> seen;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      pqxx::connection c(db.url());
      for (;;) {
        auto claimed = job_store::claim(c, "default", 25, "w" + std::to_string(t), 30s);
        if (claimed.empty()) break;
        std::lock_guard lock(mutex);
        for (const Job& j : claimed) seen.insert(j.id);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(seen.size(), 400u);
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), 400u);
}

TEST_F(JobStoreTest, RescueReturnsExpiredLeasesAndCountsTheAttempt) {
  NewJob last_try = job();
  last_try.max_attempts = 1;
  job_store::enqueue(conn, {job(), last_try});
  auto c = job_store::claim(conn, "default", 2, "dead-worker", 30s);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(job_store::rescue_expired(conn, 100), 0);  // leases still valid
  db.scalar("UPDATE recado.jobs SET lease_until = now() - interval '1 second'");
  EXPECT_EQ(job_store::rescue_expired(conn, 100), 2);
  EXPECT_EQ(db.scalar("SELECT state || ' ' || attempt FROM recado.jobs"), "retryable 1");
  EXPECT_NE(db.scalar("SELECT errors->-1->>'error' FROM recado.jobs").find("dead-worker"), std::string::npos);
  EXPECT_EQ(db.scalar("SELECT state FROM recado.jobs_finished"), "discarded");
  auto again = job_store::claim(conn, "default", 2, "w2", 30s);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempt, 2);
}

TEST_F(JobStoreTest, HeartbeatExtendsLeasesAndRegistersTheWorker) {
  job_store::enqueue(conn, {job(), job()});
  auto c = job_store::claim(conn, "default", 2, "w", 1s);
  ASSERT_EQ(c.size(), 2u);
  // Only the jobs the worker says it runs are renewed: the other's claim was "lost".
  job_store::heartbeat(conn, "w", "host", 42, {"default"}, {c[0].id}, 1h);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs WHERE lease_until > now() + interval '50 minutes'"), 1);
  EXPECT_EQ(db.scalar("SELECT id FROM recado.jobs WHERE lease_until > now() + interval '50 minutes'"),
            std::to_string(c[0].id));
  EXPECT_EQ(db.scalar("SELECT host || ':' || pid || ':' || array_to_string(queues, ',') FROM recado.workers"),
            "host:42:default");
  job_store::unregister_worker(conn, "w");
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.workers"), 0);
}

TEST_F(JobStoreTest, HandBackReturnsJobsWithoutUsingAnAttempt) {
  job_store::enqueue(conn, {job(), job()});
  auto c = job_store::claim(conn, "default", 2, "w", 30s);
  EXPECT_EQ(job_store::hand_back(conn, {c[0].id, c[1].id}, "w"), 2);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs WHERE state = 'available' AND attempt = 0 AND lease_owner IS NULL"), 2);
}

TEST_F(JobStoreTest, PruneDeletesFinishedJobsPastRetention) {
  job_store::enqueue(conn, {job(), job(), job()});
  auto c = job_store::claim(conn, "default", 3, "w", 30s);
  job_store::finish(conn, {verdict(c[0].id, JobFinish::Action::complete), verdict(c[1].id, JobFinish::Action::complete),
                           verdict(c[2].id, JobFinish::Action::discard, "bad")}, "w");
  db.scalar("UPDATE recado.jobs_finished SET finished_at = now() - interval '2 hours' WHERE id = " +
                        std::to_string(c[0].id));
  job_store::heartbeat(conn, "old", "h", 1, {"default"}, {}, 30s);
  db.scalar("UPDATE recado.workers SET heartbeat_at = now() - interval '1 hour'");
  auto pruned = job_store::prune(conn, 1h, 24h, 10min, 1000);
  EXPECT_EQ(pruned.jobs, 1);
  EXPECT_EQ(pruned.workers, 1);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs_finished"), 2);
}

TEST_F(JobStoreTest, NotifyWakesListenersPerQueue) {
  pqxx::connection listener(db.url());
  struct Receiver : pqxx::notification_receiver {
    std::vector<std::string> got;
    Receiver(pqxx::connection_base& c) : pqxx::notification_receiver(c, job_store::kNotifyChannel) {}
    void operator()(const std::string& payload, int) override { got.push_back(payload); }
  } receiver(listener);
  listener.get_notifs();
  job_store::notify(conn, {"default", "other"});
  ASSERT_TRUE(test::poll_until([&] { listener.get_notifs(); return receiver.got.size() >= 2; }));
  std::sort(receiver.got.begin(), receiver.got.end());
  EXPECT_EQ(receiver.got, (std::vector<std::string>{"default", "other"}));
}

}  // namespace
}  // namespace recado
