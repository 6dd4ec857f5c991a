#pragma once
// A circuit breaker's state and its transitions, as pure functions over one row of
// recado.breakers. The store applies them under the row's lock, so every worker process and
// recadoctl see one breaker.
//
//   closed ──(failures in a row, or failure rate over a window)──▶ open
//   open ──(probe_at passed: a probe may go)──▶ half_open ──(probe succeeds)──▶ closed
//                                                    └──(probe fails)──▶ open (another cool-down)
// An operator may force one open (it stays open, no probes, until closed or reset).
#include <optional>
#include <string>
#include <string_view>

#include "src/clock.hpp"
#include "src/config.hpp"

namespace recado {

enum class BreakerState { closed, open, half_open };
std::string_view to_string(BreakerState s);
std::optional<BreakerState> parse_breaker_state(std::string_view s);

struct Breaker {
  std::string name;
  BreakerState state = BreakerState::closed;
  bool forced = false;
  int run_failures = 0;
  Timestamp window_start{};
  int window_calls = 0;
  int window_failures = 0;
  std::optional<Timestamp> opened_at;
  std::optional<Timestamp> probe_at;  // open: the next probe may start; half-open: the probes' lease ends
  int probes = 0;
  std::string last_error;
  int64_t transitions = 0;
  Timestamp updated_at{};
};

// What one worker saw of an endpoint since its last report, in order.
struct BreakerReport {
  int successes = 0;
  int failures = 0;
  int trailing_failures = 0;  // failures after the last success
  std::string last_error;
  void add(bool failure, std::string_view error);
  // Folds in a report of what happened before this one.
  void merge_earlier(const BreakerReport& earlier);
  bool empty() const { return successes == 0 && failures == 0; }
};

// Applies a report; returns whether the state changed.
bool apply_report(Breaker& b, const BreakerReport& report, const BreakerConfig& config, Timestamp now);

// Whether a probe may start now; if so, marks it started (open becomes half-open).
bool start_probe(Breaker& b, const BreakerConfig& config, Timestamp now);

// The operator's levers: open stays open (no probes) until closed; close clears the counts.
void force_open(Breaker& b, Timestamp now);
void force_close(Breaker& b, Timestamp now);

// When a call refused now may be tried again: the next probe time.
Timestamp retry_at(const Breaker& b, const BreakerConfig& config, Timestamp now);

}  // namespace recado
