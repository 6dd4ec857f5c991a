#include "src/breaker.hpp"

namespace recado {

std::string_view to_string(BreakerState s) {
  switch (s) {
    case BreakerState::closed: return "closed";
    case BreakerState::open: return "open";
    case BreakerState::half_open: return "half_open";
  }
  return "closed";
}

std::optional<BreakerState> parse_breaker_state(std::string_view s) {
  for (BreakerState state : {BreakerState::closed, BreakerState::open, BreakerState::half_open})
    if (to_string(state) == s) return state;
  return std::nullopt;
}

void BreakerReport::add(bool failure, std::string_view error) {
  if (failure) {
    ++failures;
    ++trailing_failures;
    last_error = error;
  } else {
    ++successes;
    trailing_failures = 0;
  }
}

void BreakerReport::merge_earlier(const BreakerReport& earlier) {
  if (successes == 0) trailing_failures += earlier.trailing_failures;
  successes += earlier.successes;
  failures += earlier.failures;
  if (last_error.empty()) last_error = earlier.last_error;
}

namespace {

void trip(Breaker& b, const BreakerConfig& config, Timestamp now) {
  b.state = BreakerState::open;
  b.opened_at = now;
  b.probe_at = now + config.cool_down;
  b.probes = 0;
  ++b.transitions;
}

void close(Breaker& b, Timestamp now) {
  b.state = BreakerState::closed;
  b.forced = false;
  b.run_failures = 0;
  b.window_start = now;
  b.window_calls = 0;
  b.window_failures = 0;
  b.opened_at.reset();
  b.probe_at.reset();
  b.probes = 0;
  ++b.transitions;
}

}  // namespace

bool apply_report(Breaker& b, const BreakerReport& report, const BreakerConfig& config, Timestamp now) {
  if (report.failures > 0) b.last_error = report.last_error;
  b.updated_at = now;
  switch (b.state) {
    case BreakerState::open:
      return false;  // stragglers from before it opened, or calls let through by a stale view
    case BreakerState::half_open:
      if (b.forced) return false;
      if (report.failures > 0) {
        trip(b, config, now);
        return true;
      }
      if (report.successes > 0) {
        close(b, now);
        return true;
      }
      return false;
    case BreakerState::closed:
      break;
  }
  if (now - b.window_start >= config.window) {
    b.window_start = now;
    b.window_calls = 0;
    b.window_failures = 0;
  }
  b.window_calls += report.successes + report.failures;
  b.window_failures += report.failures;
  b.run_failures = report.successes > 0 ? report.trailing_failures : b.run_failures + report.failures;
  const bool too_many_in_a_row = b.run_failures >= config.failures_to_open;
  const bool rate_too_high = b.window_calls >= config.min_calls &&
                             b.window_failures >= config.failure_rate * b.window_calls;
  if (too_many_in_a_row || rate_too_high) {
    trip(b, config, now);
    return true;
  }
  return false;
}

bool start_probe(Breaker& b, const BreakerConfig& config, Timestamp now) {
  if (b.forced) return false;
  const bool lease_over = b.probe_at && now >= *b.probe_at;
  if (b.state == BreakerState::open && lease_over) {
    b.state = BreakerState::half_open;
    ++b.transitions;
    b.probes = 1;
    b.probe_at = now + config.cool_down;  // a probe that never reports frees its place then
    b.updated_at = now;
    return true;
  }
  if (b.state == BreakerState::half_open && (b.probes < config.probes || lease_over)) {
    if (lease_over) {
      b.probes = 0;
      b.probe_at = now + config.cool_down;
    }
    ++b.probes;
    b.updated_at = now;
    return true;
  }
  return false;
}

void force_open(Breaker& b, Timestamp now) {
  if (b.state != BreakerState::open || !b.forced) {
    b.state = BreakerState::open;
    b.forced = true;
    b.opened_at = now;
    b.probe_at.reset();
    b.probes = 0;
    ++b.transitions;
  }
  b.updated_at = now;
}

void force_close(Breaker& b, Timestamp now) {
  const bool was_closed = b.state == BreakerState::closed;
  close(b, now);
  if (was_closed) --b.transitions;  // counts were cleared, but the state did not change
  b.updated_at = now;
}

Timestamp retry_at(const Breaker& b, const BreakerConfig& config, Timestamp now) {
  if (b.forced || !b.probe_at || *b.probe_at <= now) return now + config.cool_down;
  return *b.probe_at;
}

}  // namespace recado
