#include "src/sim_recorder.hpp"

#include <algorithm>

namespace recado {

using json = nlohmann::json;

uint64_t SimRecorder::add(SimRecord record) {
  record.seq = next_seq_++;
  if (records_.size() >= capacity_) records_.pop_front();
  records_.push_back(std::move(record));
  return records_.back().seq;
}

SimRecord* SimRecorder::find(uint64_t seq) {
  if (records_.empty() || seq < records_.front().seq || seq > records_.back().seq) return nullptr;
  return &records_[seq - records_.front().seq];  // numbers are consecutive
}

void SimRecorder::set_status(uint64_t seq, int status) {
  if (SimRecord* r = find(seq)) r->status = status;
}

void SimRecorder::set_fault(uint64_t seq, std::string_view fault) {
  if (SimRecord* r = find(seq)) r->fault = std::string(fault);
}

void SimRecorder::clear() {
  records_.clear();
}

json SimRecorder::query(std::optional<std::string_view> endpoint, uint64_t since,
                        std::size_t limit) const {
  json list = json::array();
  auto it = records_.begin();
  if (!records_.empty() && since >= records_.front().seq)
    it += static_cast<std::ptrdiff_t>(
        std::min<uint64_t>(since - records_.front().seq + 1, records_.size()));
  for (; it != records_.end() && list.size() < limit; ++it) {
    const SimRecord& r = *it;
    if (endpoint && r.endpoint != *endpoint) continue;
    json headers = json::object();
    for (const auto& [name, value] : r.headers)
      if (!headers.contains(name)) headers[name] = value;
    list.push_back({{"seq", r.seq},
                    {"at_ms", r.at_ms},
                    {"endpoint", r.endpoint},
                    {"method", r.method},
                    {"path", r.path},
                    {"query", r.query},
                    {"headers", std::move(headers)},
                    {"body", r.body},
                    {"status", r.status},
                    {"fault", r.fault.empty() ? json(nullptr) : json(r.fault)}});
  }
  return {{"requests", std::move(list)}, {"last_seq", last_seq()}};
}

}  // namespace recado
