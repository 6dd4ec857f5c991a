#pragma once
// The clock seam: business logic and the worker read time only through a Clock, so tests
// move a FakeClock instead of sleeping.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace recado {

// Microsecond resolution, like PostgreSQL's timestamptz, and a range of ±292,000 years
// (nanosecond system_clock time points end in 2262).
using Duration = std::chrono::microseconds;
using Timestamp = std::chrono::time_point<std::chrono::system_clock, Duration>;

// The wall clock. Business logic gets time from a Clock instead.
inline Timestamp system_now() {
  return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
}

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Timestamp now() const override { return system_now(); }
};

// A clock that only moves when told to. Safe to read from any thread.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Timestamp start = Timestamp{std::chrono::seconds{1767225600}})
      : micros_(to_micros(start)) {}
  Timestamp now() const override { return Timestamp{Duration{micros_.load()}}; }
  void advance(Duration d) { micros_ += d.count(); }
  void set(Timestamp t) { micros_ = to_micros(t); }

 private:
  static int64_t to_micros(Timestamp t) { return t.time_since_epoch().count(); }
  std::atomic<int64_t> micros_;
};

// The wall clock moved forward by a shift the caller sets: time flows as usual and jumps
// when told (tests of schedules hours ahead: the worker's claims ask for jobs due by this
// clock, so a jump makes them due). Safe to read from any thread.
class ShiftedClock final : public Clock {
 public:
  Timestamp now() const override { return system_now() + Duration{shift_.load()}; }
  void advance(Duration d) { shift_ += d.count(); }

 private:
  std::atomic<int64_t> shift_{0};
};

// Microseconds since the Unix epoch: how timestamps cross into SQL.
inline int64_t epoch_micros(Timestamp t) { return t.time_since_epoch().count(); }
inline Timestamp from_epoch_micros(int64_t us) { return Timestamp{Duration{us}}; }

}  // namespace recado
