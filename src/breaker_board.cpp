#include "src/breaker_board.hpp"

#include "src/breaker_store.hpp"
#include "src/log.hpp"

namespace recado {

BreakerBoard::BreakerBoard(EventLoop& loop, const BreakerConfig& config, const Clock& clock, Submit submit,
                           Metrics& metrics)
    : loop_(loop), config_(config), clock_(clock), submit_(std::move(submit)), metrics_(metrics), timer_(loop) {}

void BreakerBoard::start() {
  refresh();
  timer_.start(config_.refresh, [this] { refresh(); }, config_.refresh);
}

void BreakerBoard::stop(std::function<void()> stopped) {
  timer_.stop();
  stopping_ = true;
  stopped_ = std::move(stopped);
  if (refreshing_) return;  // its end calls stopped_
  if (pending_.empty()) {
    auto cb = std::move(stopped_);
    if (cb) cb();
    return;
  }
  refresh();
}

const Breaker* BreakerBoard::view(const std::string& name) const {
  auto it = views_.find(name);
  return it == views_.end() ? nullptr : &it->second;
}

void BreakerBoard::admit(const std::string& name, std::function<void(Admission)> then) {
  const Timestamp now = clock_.now();
  const Breaker* b = view(name);
  if (!b || b->state == BreakerState::closed) return then({true, false, now});
  const bool may_probe = !b->forced && (b->state == BreakerState::half_open || !b->probe_at || *b->probe_at <= now);
  if (!may_probe) return then({false, false, retry_at(*b, config_, now)});
  // Only the database knows whether another worker took the probe already.
  auto result = std::make_shared<std::pair<bool, Breaker>>();
  submit_([name, now, config = config_, result](pqxx::connection& c) {
            *result = breaker_store::try_probe(c, name, config, now);
          },
          [this, name, now, result, then = std::move(then)](std::string error) {
            if (!error.empty()) {
              log::warn("could not ask for a breaker probe", {{"breaker", name}, {"error", error}});
              return then({false, false, now + config_.cool_down});
            }
            track(result->second);
            if (result->first) return then({true, true, now});
            then({false, false, retry_at(result->second, config_, now)});
          });
}

void BreakerBoard::record(const std::string& name, bool probe, bool failure, std::string_view error) {
  pending_[name].add(failure, error);
  if (probe) refresh();  // a probe's result opens or closes the breaker for everyone: send it now
}

void BreakerBoard::track(const Breaker& b) {
  views_.insert_or_assign(b.name, b);
  auto& gauge = state_gauges_[b.name];
  if (!gauge) {
    gauge = std::make_unique<std::atomic<int>>(0);
    std::atomic<int>* state = gauge.get();
    metrics_.gauge("recado_breaker_state", "Circuit breaker state as this worker last saw it: 0 closed, 1 open, 2 half-open",
                   [state] { return static_cast<double>(state->load()); }, {{"breaker", b.name}});
  }
  gauge->store(static_cast<int>(b.state));
}

void BreakerBoard::refresh() {
  if (refreshing_) {
    refresh_again_ = true;
    return;
  }
  refreshing_ = true;
  refresh_again_ = false;
  auto reports = std::make_shared<std::map<std::string, BreakerReport>>(std::move(pending_));
  pending_.clear();
  auto rows = std::make_shared<std::vector<Breaker>>();
  const Timestamp now = clock_.now();
  submit_([reports, rows, now, config = config_](pqxx::connection& c) {
            for (const auto& [name, report] : *reports) {
              const Breaker before = breaker_store::load(c, name).value_or(Breaker{});
              const Breaker after = breaker_store::report(c, name, report, config, now);
              if (after.state != before.state && after.state == BreakerState::open)
                log::warn("circuit breaker opened", {{"breaker", name}, {"error", after.last_error},
                                                     {"failures_in_a_row", std::to_string(after.run_failures)}});
              else if (after.state != before.state && after.state == BreakerState::closed)
                log::info("circuit breaker closed", {{"breaker", name}});
            }
            *rows = breaker_store::load_all(c);
          },
          [this, reports, rows](std::string error) {
            refreshing_ = false;
            if (!error.empty()) {
              log::warn("could not refresh the circuit breakers", {{"error", error}});
              for (auto& [name, report] : *reports) pending_[name].merge_earlier(report);  // for the next refresh
            } else {
              std::unordered_map<std::string, Breaker> seen;
              for (const Breaker& b : *rows) seen.emplace(b.name, b);
              for (auto& [name, gauge] : state_gauges_)
                if (!seen.count(name)) gauge->store(0);  // reset by an operator: gone means closed
              views_.clear();
              for (const Breaker& b : *rows) track(b);
            }
            if (stopping_) {
              if (!pending_.empty() && error.empty()) return refresh();
              auto cb = std::move(stopped_);
              stopped_ = nullptr;
              if (cb) cb();
              return;
            }
            if (refresh_again_) refresh();
          });
}

}  // namespace recado
