#include "src/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace recado {

namespace {

std::string escape_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

// `{a="1",b="2"}`, or "" without labels.
std::string render_labels(const MetricLabels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  for (const auto& [k, v] : labels) {
    if (out.size() > 1) out += ',';
    out += k + "=\"" + escape_label(v) + "\"";
  }
  return out + "}";
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::abs(v) < 1e15 && v == std::trunc(v)) return std::to_string(static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

// HELP text: backslash and newline escaped, as the text format asks.
std::string escape_help(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

// Rendered labels back to the list, for adding `le` to a histogram's labels.
std::string with_le(const std::string& rendered, const std::string& le) {
  const std::string item = "le=\"" + le + "\"";
  if (rendered.empty()) return "{" + item + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + item + "}";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  const size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  std::lock_guard lock(mutex_);
  ++counts_[i];
  sum_ += value;
  ++count_;
}

Histogram::Snapshot Histogram::snapshot() const {
  std::lock_guard lock(mutex_);
  Snapshot s;
  uint64_t running = 0;
  for (uint64_t c : counts_) s.cumulative.push_back(running += c);
  s.sum = sum_;
  s.count = count_;
  return s;
}

Metrics::Family& Metrics::family(std::string_view name, std::string_view help, const char* type) {
  auto it = families_.find(name);
  if (it == families_.end()) it = families_.emplace(std::string(name), Family{std::string(help), type, {}, {}, {}}).first;
  if (it->second.type != type)
    throw std::logic_error("metric " + std::string(name) + " is a " + it->second.type + ", not a " + type);
  return it->second;
}

Counter& Metrics::counter(std::string_view name, std::string_view help, const MetricLabels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, help, "counter").counters[render_labels(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Histogram& Metrics::histogram(std::string_view name, std::string_view help, const std::vector<double>& bounds,
                              const MetricLabels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, help, "histogram").histograms[render_labels(labels)];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return *slot;
}

void Metrics::counter_reading(std::string_view name, std::string_view help, std::function<double()> read,
                              const MetricLabels& labels) {
  std::lock_guard lock(mutex_);
  family(name, help, "counter").gauges[render_labels(labels)] = std::move(read);
}

void Metrics::gauge(std::string_view name, std::string_view help, std::function<double()> read,
                    const MetricLabels& labels) {
  std::lock_guard lock(mutex_);
  family(name, help, "gauge").gauges[render_labels(labels)] = std::move(read);
}

std::string Metrics::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + escape_help(f.help) + "\n# TYPE " + name + " " + f.type + "\n";
    for (const auto& [labels, c] : f.counters) out += name + labels + " " + std::to_string(c->value()) + "\n";
    for (const auto& [labels, read] : f.gauges) out += name + labels + " " + number(read()) + "\n";
    for (const auto& [labels, h] : f.histograms) {
      const auto snap = h->snapshot();
      for (size_t i = 0; i < h->bounds().size(); ++i)
        out += name + "_bucket" + with_le(labels, number(h->bounds()[i])) + " " + std::to_string(snap.cumulative[i]) + "\n";
      out += name + "_bucket" + with_le(labels, "+Inf") + " " + std::to_string(snap.cumulative.back()) + "\n";
      out += name + "_sum" + labels + " " + number(snap.sum) + "\n";
      out += name + "_count" + labels + " " + std::to_string(snap.count) + "\n";
    }
  }
  return out;
}

const std::vector<double>& latency_buckets() {
  static const std::vector<double> b{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return b;
}

const std::vector<double>& size_buckets() {
  static const std::vector<double> b{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
  return b;
}

}  // namespace recado
