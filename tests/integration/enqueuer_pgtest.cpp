// Group commit against a real PostgreSQL: batching, isolation of a bad job, and an
// unreachable database answered rather than left hanging.
#include <gtest/gtest.h>

#include "src/enqueuer.hpp"
#include "tests/support/pg_harness.hpp"

namespace recado {
namespace {

using test::TestDatabase;

struct Outcomes {
  std::vector<DbResult<EnqueueResult>> results;
  size_t answered() const { return results.size(); }
};

// Enqueues `jobs` in one loop turn and turns the loop until every caller was answered.
Outcomes enqueue_all(const std::string& url, const std::vector<NewJob>& jobs) {
  EventLoop loop;
  DbPool pool(loop, url, 2);
  Enqueuer enqueuer(loop, pool, {1000, 2, std::chrono::seconds{30}});
  Outcomes out;
  out.results.resize(jobs.size());
  size_t answered = 0;
  for (size_t i = 0; i < jobs.size(); ++i)
    enqueuer.enqueue(jobs[i], [&, i](DbResult<EnqueueResult> r) {
      out.results[i] = std::move(r);
      if (++answered == jobs.size()) loop.stop();
    });
  Timer deadline(loop);
  deadline.start(std::chrono::seconds{20}, [&] { loop.stop(); });
  loop.run();
  out.results.resize(answered == jobs.size() ? jobs.size() : 0);
  return out;
}

NewJob noop(std::string payload = "{}") {
  NewJob j;
  j.kind = "noop";
  j.payload_json = std::move(payload);
  return j;
}

TEST(Enqueuer, JobsOfOneTurnShareOneCommit) {
  TestDatabase db;
  auto out = enqueue_all(db.url(), std::vector<NewJob>(50, noop()));
  ASSERT_EQ(out.answered(), 50u);
  for (const auto& r : out.results) EXPECT_TRUE(r.ok() && r.value->inserted);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs"), 50);
  // The committer may take the first job before the rest arrive; then the rest share one.
  EXPECT_LE(db.count("SELECT count(DISTINCT xmin::text) FROM recado.jobs"), 5);
}

TEST(Enqueuer, ABadJobDoesNotSinkItsNeighbours) {
  TestDatabase db;
  std::vector<NewJob> jobs(10, noop());
  jobs[4] = noop(R"({"text":"\u0000"})");  // jsonb refuses NUL
  auto out = enqueue_all(db.url(), jobs);
  ASSERT_EQ(out.answered(), 10u);
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (i == 4) {
      EXPECT_FALSE(out.results[i].ok());
      EXPECT_EQ(out.results[i].error.kind, DbError::Kind::query);
    } else {
      EXPECT_TRUE(out.results[i].ok()) << i << ": " << out.results[i].error.message;
    }
  }
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs"), 9);
}

TEST(Enqueuer, UnreachableDatabaseAnswersEveryCaller) {
  auto out = enqueue_all("postgresql:///nowhere?host=/nonexistent-socket-dir", std::vector<NewJob>(5, noop()));
  ASSERT_EQ(out.answered(), 5u);
  for (const auto& r : out.results) {
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.error.kind, DbError::Kind::connection);
  }
}

}  // namespace
}  // namespace recado
