#pragma once
// Prometheus metrics: counters, gauges read at scrape time, and histograms, rendered in the
// text exposition format for GET /metrics. Thread-safe: series may be created and updated
// from any thread. A series, once made, lives as long as the registry, so callers may keep
// the reference and update it without a lookup.
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace recado {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // Cumulative counts per bound (and +Inf last), the sum and the count, read together.
  struct Snapshot {
    std::vector<uint64_t> cumulative;
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::vector<uint64_t> counts_;  // one per bound, then +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Counter& counter(std::string_view name, std::string_view help, const MetricLabels& labels = {});
  Histogram& histogram(std::string_view name, std::string_view help, const std::vector<double>& bounds,
                       const MetricLabels& labels = {});
  // A gauge whose value `read` gives at scrape time; `read` runs on the scraping thread.
  void gauge(std::string_view name, std::string_view help, std::function<double()> read,
             const MetricLabels& labels = {});

  // A counter whose running total `read` gives at scrape time (a total kept elsewhere, such as
  // the process's CPU time); `read` runs on the scraping thread.
  void counter_reading(std::string_view name, std::string_view help, std::function<double()> read,
                       const MetricLabels& labels = {});
  // Everything, in the Prometheus text format (version 0.0.4).
  std::string render() const;

 private:
  struct Family {
    std::string help;
    std::string type;  // counter | gauge | histogram
    std::map<std::string, std::unique_ptr<Counter>> counters;      // by rendered labels
    std::map<std::string, std::unique_ptr<Histogram>> histograms;  // by rendered labels
    std::map<std::string, std::function<double()>> gauges;         // by rendered labels
  };
  Family& family(std::string_view name, std::string_view help, const char* type);

  mutable std::mutex mutex_;
  std::map<std::string, Family, std::less<>> families_;
};

// Bounds for latencies in seconds, 0.5 ms to 10 s.
const std::vector<double>& latency_buckets();
// Bounds for batch sizes, 1 to 1000.
const std::vector<double>& size_buckets();

}  // namespace recado
