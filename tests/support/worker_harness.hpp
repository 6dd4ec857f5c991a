#pragma once
// Runs Workers in the test's own thread: one event loop, a DbPool, and run_until() that
// turns the loop until a condition holds or a deadline passes.
#include <functional>
#include <memory>
#include <vector>

#include "src/db_pool.hpp"
#include "src/event_loop.hpp"
#include "src/http_client.hpp"
#include "src/metrics.hpp"
#include "src/worker.hpp"

namespace recado::test {

class WorkerHarness {
 public:
  WorkerHarness(std::string url, int pool_size = 4);
  ~WorkerHarness();  // shuts every worker down

  Worker& add_worker(const WorkerConfig& config, const JobKindTable& kinds, std::vector<TenantConfig> tenants = {},
                     std::vector<PeriodicJob> periodic = {});
  // Turns the loop until `done()` (checked every few ms, on the loop thread) or `timeout`.
  bool run_until(const std::function<bool()>& done,
                 std::chrono::milliseconds timeout = std::chrono::seconds{20});
  // Shuts `worker` down and turns the loop until it reports stopped; false on timeout.
  bool shutdown(Worker& worker, std::chrono::milliseconds timeout = std::chrono::seconds{20});

  EventLoop& loop() { return loop_; }
  Metrics& metrics() { return metrics_; }
  // The workers' clock: the wall clock until a test moves it forward.
  ShiftedClock& clock() { return clock_; }

 private:
  std::string url_;
  ShiftedClock clock_;
  EventLoop loop_;
  Metrics metrics_;
  std::unique_ptr<CurlHttpClient> http_;
  std::unique_ptr<DbPool> pool_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<bool> stopped_;
};

// A worker configuration for tests: fast polling and short leases.
WorkerConfig fast_worker_config(int concurrency = 10);

}  // namespace recado::test
