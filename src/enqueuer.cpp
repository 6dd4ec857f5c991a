#include "src/enqueuer.hpp"

namespace recado {

namespace {

std::vector<std::optional<EnqueueResult>> store_jobs(pqxx::connection& conn, const std::vector<NewJob>& jobs,
                                                     std::set<std::string>& wake) {
  auto results = job_store::enqueue(conn, jobs);
  std::vector<std::optional<EnqueueResult>> out(results.size());
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i].id) continue;  // not stored: the caller tries again
    out[i] = results[i];
    if (results[i].inserted) wake.insert(jobs[i].queue);
  }
  return out;
}

}  // namespace

Enqueuer::Enqueuer(EventLoop& loop, DbPool& pool, GroupCommitOptions options)
    : commit_(loop, pool, options, store_jobs) {}

}  // namespace recado
