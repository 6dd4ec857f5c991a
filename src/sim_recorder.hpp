#pragma once
// The simulator's request recorder: every request to a provider endpoint (and to unknown
// paths), with what was answered, numbered from 1, at most `capacity` kept (the oldest go
// first). GET /_sim/requests reads it. Not thread-safe: loop thread only.
#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace recado {

struct SimRecord {
  uint64_t seq = 0;
  int64_t at_ms = 0;     // unix milliseconds when it arrived
  std::string endpoint;  // an endpoint name, or "unknown"
  std::string method;
  std::string path;
  std::string query;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;
  int status = 0;     // what was answered; 0 while unanswered, or when nothing was (reset, hang)
  std::string fault;  // the fault that hit it; "" none
};

class SimRecorder {
 public:
  explicit SimRecorder(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Keeps `record`, numbering it; returns its number.
  uint64_t add(SimRecord record);
  // Notes what request `seq` got (a no-op once it has been dropped).
  void set_status(uint64_t seq, int status);
  void set_fault(uint64_t seq, std::string_view fault);
  void clear();

  // {"requests":[...], "last_seq": N}: records after `since`, of `endpoint` when given, at
  // most `limit` of them.
  nlohmann::json query(std::optional<std::string_view> endpoint, uint64_t since,
                       std::size_t limit) const;
  // The last number given out (0 before any).
  uint64_t last_seq() const { return next_seq_ - 1; }
  std::size_t size() const { return records_.size(); }

 private:
  SimRecord* find(uint64_t seq);

  std::size_t capacity_;
  std::deque<SimRecord> records_;  // seq ascending, consecutive
  uint64_t next_seq_ = 1;
};

}  // namespace recado
