#pragma once
// A worker's view of the circuit breakers. Calls through a closed breaker cost no SQL: the
// board keeps a local copy of recado.breakers, refreshed every `breakers.refresh`, and sends
// what it saw (successes and failures per breaker) with each refresh. So a breaker tripped
// by any worker stops calls across the pool within about one refresh. Probes of an open
// breaker are granted by the database, so the pool sends no more than `breakers.probes`.
// Loop thread only; SQL runs through the `Submit` function (the worker's database threads).
#include <atomic>
#include <functional>
#include <memory>
#include <map>
#include <string>
#include <unordered_map>

#include "src/breaker.hpp"
#include "src/clock.hpp"
#include "src/db_pool.hpp"
#include "src/event_loop.hpp"
#include "src/metrics.hpp"

namespace recado {

class BreakerBoard {
 public:
  // Runs `work` on a database thread, then `done` on the loop with an error message ("" if
  // it went well).
  using Submit = std::function<void(std::function<void(pqxx::connection&)> work,
                                    std::function<void(std::string error)> done)>;

  BreakerBoard(EventLoop& loop, const BreakerConfig& config, const Clock& clock, Submit submit, Metrics& metrics);
  BreakerBoard(const BreakerBoard&) = delete;
  BreakerBoard& operator=(const BreakerBoard&) = delete;

  struct Admission {
    bool allowed = true;
    bool probe = false;     // the call is the half-open breaker's probe
    Timestamp retry_at{};   // refused: when to try again
  };
  // Whether a call through breaker `name` may go now; `then` runs on the loop (at once when
  // the local view decides, after a database round trip when a probe is asked for).
  void admit(const std::string& name, std::function<void(Admission)> then);
  // What a call that was admitted came to.
  void record(const std::string& name, bool probe, bool failure, std::string_view error);

  // Starts the periodic refresh; stop() ends it after sending what is pending, then calls
  // `stopped`.
  void start();
  void stop(std::function<void()> stopped);

  // The local view of one breaker, if it has a row.
  const Breaker* view(const std::string& name) const;

 private:
  void refresh();
  void track(const Breaker& b);

  EventLoop& loop_;
  BreakerConfig config_;
  const Clock& clock_;
  Submit submit_;
  Metrics& metrics_;
  std::unordered_map<std::string, Breaker> views_;
  std::map<std::string, BreakerReport> pending_;
  // Per breaker, for the metrics: its state (0 closed, 1 open, 2 half-open), read at scrape time.
  std::map<std::string, std::unique_ptr<std::atomic<int>>> state_gauges_;
  Timer timer_;
  bool refreshing_ = false;
  bool refresh_again_ = false;  // a probe reported while a refresh was under way
  bool stopping_ = false;
  std::function<void()> stopped_;
};

}  // namespace recado
