#pragma once
// Group commit of jobs (POST /v1/jobs): job_store::enqueue behind a GroupCommit.
#include "src/group_commit.hpp"
#include "src/job_store.hpp"

namespace recado {

class Enqueuer {
 public:
  using Done = GroupCommit<NewJob, EnqueueResult>::Done;

  Enqueuer(EventLoop& loop, DbPool& pool, GroupCommitOptions options);
  // Loop thread; `done` runs after the job's commit, or with an error.
  void enqueue(NewJob job, Done done) { commit_.submit(std::move(job), std::move(done)); }

 private:
  GroupCommit<NewJob, EnqueueResult> commit_;
};

}  // namespace recado
