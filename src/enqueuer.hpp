#pragma once
// Group commit for enqueues. Callers on the loop add jobs; one committer task on a database
// thread takes everything waiting (up to max_batch), inserts it in one transaction, hands
// the results back to the loop and at once takes the next batch, so the loop is never on
// the path between two commits. Many concurrent callers thus cost one commit (and one
// fsync) per batch, and each caller's `done` runs only after its job's commit.
// Wake-ups: the committer sends NOTIFY for the queues it filled after their commit, at once
// when nothing else is waiting and at most every 2 ms under load.
// enqueue() and the callbacks: loop thread only.
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "src/db_pool.hpp"
#include "src/job_store.hpp"

namespace recado {

class Enqueuer {
 public:
  using Done = std::function<void(DbResult<EnqueueResult>)>;

  Enqueuer(EventLoop& loop, DbPool& pool, int max_batch);
  void enqueue(NewJob job, Done done);

 private:
  struct Pending {
    NewJob job;
    Done done;
    bool alone = false;  // commit in a transaction of its own (its batch failed)
  };
  using Batch = std::vector<Pending>;

  // Database thread: commits batches until none is waiting.
  bool commit_loop(pqxx::connection& conn, std::shared_ptr<Batch>& current);
  void start_committer();

  EventLoop& loop_;
  DbPool& pool_;
  int max_batch_;

  std::mutex mutex_;        // guards waiting_ and committing_
  Batch waiting_;
  bool committing_ = false;
};

}  // namespace recado
