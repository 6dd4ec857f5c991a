#include "tests/support/worker_harness.hpp"

namespace recado::test {

WorkerHarness::WorkerHarness(std::string url, int pool_size)
    : url_(std::move(url)),
      http_(std::make_unique<CurlHttpClient>(loop_)),
      pool_(std::make_unique<DbPool>(loop_, url_, pool_size)) {}

WorkerHarness::~WorkerHarness() {
  for (size_t i = 0; i < workers_.size(); ++i)
    if (!stopped_[i]) shutdown(*workers_[i], std::chrono::seconds{10});
  workers_.clear();
  pool_.reset();
  http_.reset();
}

Worker& WorkerHarness::add_worker(const WorkerConfig& config, const JobKindTable& kinds,
                                  std::vector<TenantConfig> tenants, std::vector<PeriodicJob> periodic) {
  workers_.push_back(std::make_unique<Worker>(loop_, *pool_, url_, config, kinds, clock_, *http_, metrics_,
                                              std::move(tenants), std::move(periodic)));
  stopped_.push_back(false);
  workers_.back()->start();
  return *workers_.back();
}

bool WorkerHarness::run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool result = false;
  Timer check(loop_);
  check.start(std::chrono::milliseconds{0}, [&] {
    result = done();
    if (result || std::chrono::steady_clock::now() >= deadline) loop_.stop();
  }, std::chrono::milliseconds{5});
  loop_.run();
  return result;
}

bool WorkerHarness::shutdown(Worker& worker, std::chrono::milliseconds timeout) {
  bool stopped = false;
  worker.shutdown([&] { stopped = true; });
  const bool ok = run_until([&] { return stopped; }, timeout);
  for (size_t i = 0; i < workers_.size(); ++i)
    if (workers_[i].get() == &worker) stopped_[i] = ok;
  return ok;
}

WorkerConfig fast_worker_config(int concurrency) {
  WorkerConfig c;
  c.queues = {{"default", concurrency}};
  c.poll_interval = std::chrono::milliseconds{100};
  c.lease = std::chrono::seconds{5};
  c.rescue_interval = std::chrono::milliseconds{100};
  c.shutdown_timeout = std::chrono::seconds{5};
  c.backoff.base = std::chrono::milliseconds{10};
  c.backoff.cap = std::chrono::milliseconds{50};
  return c;
}

}  // namespace recado::test
