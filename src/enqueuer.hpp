#pragma once
// Group commit for enqueues: requests that arrive while a commit is in flight wait and share
// the next one, so many concurrent callers cost one transaction (and one fsync). Each
// caller's `done` runs only after its job's transaction committed. Loop thread only.
#include <functional>
#include <vector>

#include "src/db_pool.hpp"
#include "src/job_store.hpp"

namespace recado {

class Enqueuer {
 public:
  using Done = std::function<void(DbResult<EnqueueResult>)>;

  Enqueuer(DbPool& pool, int max_batch, int max_commits_in_flight);
  void enqueue(NewJob job, Done done);
  int in_flight() const { return commits_in_flight_; }

 private:
  struct Pending {
    NewJob job;
    Done done;
  };
  void flush();
  void commit(std::vector<Pending> batch);

  DbPool& pool_;
  int max_batch_;
  int max_commits_in_flight_;
  int commits_in_flight_ = 0;
  std::vector<Pending> pending_;
};

}  // namespace recado
