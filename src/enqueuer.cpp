#include "src/enqueuer.hpp"

#include <chrono>
#include <set>

#include "src/log.hpp"

namespace recado {

namespace {
constexpr auto kWakeInterval = std::chrono::milliseconds{2};
}  // namespace

Enqueuer::Enqueuer(EventLoop& loop, DbPool& pool, int max_batch)
    : pool_(pool), shared_(std::make_shared<Shared>(loop, max_batch)) {}

void Enqueuer::enqueue(NewJob job, Done done) {
  bool start = false;
  {
    std::lock_guard lock(shared_->mutex);
    shared_->waiting.push_back({std::move(job), std::move(done), false});
    start = !shared_->committing;
    shared_->committing = true;
  }
  if (start) start_committer();
}

void Enqueuer::start_committer() {
  // The batch being committed, kept here so a failure can answer its callers.
  auto current = std::make_shared<std::shared_ptr<Batch>>();
  pool_.submit<bool>(
      [shared = shared_, current](pqxx::connection& conn) {
        commit_loop(*shared, conn, *current);
        return true;
      },
      [this, current](DbResult<bool> r) {
        if (r.ok()) return;
        std::shared_ptr<Batch> failed = *current;
        if (failed && failed->size() > 1 && r.error.kind == DbError::Kind::query) {
          // One job the database refuses must not sink its neighbours: try each alone.
          log::warn("a group commit failed; retrying its jobs one by one",
                    {{"jobs", std::to_string(failed->size())}, {"error", r.error.message}});
          std::lock_guard lock(shared_->mutex);
          for (Pending& p : *failed) shared_->waiting.push_back({std::move(p.job), std::move(p.done), true});
        } else if (failed) {
          for (Pending& p : *failed) p.done({std::nullopt, r.error});
        } else {
          // No batch was taken: the database could not even be reached. Everything
          // waiting would meet the same fate; answer it now rather than hang.
          Batch all;
          {
            std::lock_guard lock(shared_->mutex);
            all.swap(shared_->waiting);
          }
          for (Pending& p : all) p.done({std::nullopt, r.error});
        }
        // The committer stopped on the error; start another if jobs are waiting.
        bool restart = false;
        {
          std::lock_guard lock(shared_->mutex);
          restart = !shared_->waiting.empty();
          shared_->committing = restart;
        }
        if (restart) start_committer();
      });
}

void Enqueuer::commit_loop(Shared& shared, pqxx::connection& conn, std::shared_ptr<Batch>& current) {
  std::set<std::string> to_wake;
  auto last_wake = std::chrono::steady_clock::now();
  for (;;) {
    auto batch = std::make_shared<Batch>();
    {
      std::lock_guard lock(shared.mutex);
      if (shared.waiting.empty()) {
        shared.committing = false;
        return;
      }
      // Jobs of a failed batch are retried one per transaction.
      size_t take = 1;
      Batch& w = shared.waiting;
      if (!w.front().alone)
        while (take < w.size() && take < static_cast<size_t>(shared.max_batch) && !w[take].alone) ++take;
      batch->assign(std::make_move_iterator(w.begin()), std::make_move_iterator(w.begin() + take));
      w.erase(w.begin(), w.begin() + take);
    }
    current = batch;
    std::vector<NewJob> jobs;
    jobs.reserve(batch->size());
    for (const Pending& p : *batch) jobs.push_back(p.job);
    auto results = job_store::enqueue(conn, jobs);  // throws: the pool reports it
    current.reset();
    for (size_t i = 0; i < results.size(); ++i)
      if (results[i].inserted) to_wake.insert((*batch)[i].job.queue);
    shared.loop.post([batch, results = std::move(results)] {
      for (size_t i = 0; i < batch->size(); ++i) {
        if (results[i].id) {
          (*batch)[i].done({results[i], {}});
        } else {
          (*batch)[i].done({std::nullopt, {DbError::Kind::conflict, "the job was not stored; try again", {}}});
        }
      }
    });
    // Wake the workers after the commit, but under load at most every couple of
    // milliseconds: a NOTIFY per batch would cost as much as the batch.
    bool more_waiting;
    {
      std::lock_guard lock(shared.mutex);
      more_waiting = !shared.waiting.empty();
    }
    const auto now = std::chrono::steady_clock::now();
    if (!to_wake.empty() && (!more_waiting || now - last_wake >= kWakeInterval)) {
      try {
        job_store::notify(conn, {to_wake.begin(), to_wake.end()});
      } catch (const std::exception& e) {
        log::warn("waking workers failed; they will find the jobs when they poll", {{"error", e.what()}});
      }
      to_wake.clear();
      last_wake = now;
    }
  }
}

}  // namespace recado
