#pragma once
// Group commit for enqueues. Callers on the loop add jobs; one committer task on a database
// thread takes everything waiting (up to max_batch), inserts it in one transaction, hands
// the results back to the loop and at once takes the next batch, so the loop is never on
// the path between two commits. Many concurrent callers thus cost one commit (and one
// fsync) per batch, and each caller's `done` runs only after its job's commit.
// Wake-ups: the committer sends NOTIFY for the queues it filled after their commit, at once
// when nothing else is waiting and at most every 2 ms under load.
// enqueue() and the callbacks: loop thread only. The committer shares only `Shared` with
// this object, so the Enqueuer may be destroyed while a committer is still finishing.
#include <functional>
#include <memory>
#include <mutex>
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
  struct Shared {
    Shared(EventLoop& l, int batch) : loop(l), max_batch(batch) {}
    EventLoop& loop;
    int max_batch;
    std::mutex mutex;  // guards waiting and committing
    Batch waiting;
    bool committing = false;
  };

  // Database thread: commits batches until none is waiting.
  static void commit_loop(Shared& shared, pqxx::connection& conn, std::shared_ptr<Batch>& current);
  void start_committer();

  DbPool& pool_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace recado
