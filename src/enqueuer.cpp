#include "src/enqueuer.hpp"

#include <memory>

#include "src/log.hpp"

namespace recado {

Enqueuer::Enqueuer(DbPool& pool, int max_batch, int max_commits_in_flight)
    : pool_(pool), max_batch_(max_batch), max_commits_in_flight_(max_commits_in_flight) {}

void Enqueuer::enqueue(NewJob job, Done done) {
  pending_.push_back({std::move(job), std::move(done)});
  flush();
}

void Enqueuer::flush() {
  while (!pending_.empty() && commits_in_flight_ < max_commits_in_flight_) {
    std::vector<Pending> batch;
    if (static_cast<int>(pending_.size()) <= max_batch_) {
      batch.swap(pending_);
    } else {
      batch.assign(std::make_move_iterator(pending_.begin()),
                   std::make_move_iterator(pending_.begin() + max_batch_));
      pending_.erase(pending_.begin(), pending_.begin() + max_batch_);
    }
    commit(std::move(batch));
  }
}

void Enqueuer::commit(std::vector<Pending> batch) {
  ++commits_in_flight_;
  auto shared = std::make_shared<std::vector<Pending>>(std::move(batch));
  pool_.submit<std::vector<EnqueueResult>>(
      [shared](pqxx::connection& c) {
        std::vector<NewJob> jobs;
        jobs.reserve(shared->size());
        for (const Pending& p : *shared) jobs.push_back(p.job);
        return job_store::enqueue(c, jobs);
      },
      [this, shared](DbResult<std::vector<EnqueueResult>> r) {
        --commits_in_flight_;
        if (r.ok()) {
          for (size_t i = 0; i < shared->size(); ++i) (*shared)[i].done({(*r.value)[i], {}});
        } else if (shared->size() > 1 && r.error.kind == DbError::Kind::query) {
          // One job the database refuses must not sink its neighbours: commit each alone.
          log::warn("a group commit failed; retrying its jobs one by one",
                    {{"jobs", std::to_string(shared->size())}, {"error", r.error.message}});
          for (Pending& p : *shared) {
            std::vector<Pending> one;
            one.push_back(std::move(p));
            commit(std::move(one));
          }
          return;
        } else {
          for (Pending& p : *shared) p.done({std::nullopt, r.error});
        }
        flush();
      });
}

}  // namespace recado
