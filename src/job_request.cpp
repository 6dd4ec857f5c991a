#include "src/job_request.hpp"

#include <nlohmann/json.hpp>

#include "src/duration.hpp"
#include "src/json_limits.hpp"
#include "src/time_format.hpp"

namespace recado {

namespace {

using json = nlohmann::json;

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

// The integer in `value` when it is one within [lo, hi].
std::optional<int> int_in_range(const json& value, int64_t lo, int64_t hi) {
  if (value.is_number_unsigned()) {
    const auto v = value.get<uint64_t>();
    if (v > static_cast<uint64_t>(hi) || static_cast<int64_t>(v) < lo) return std::nullopt;
    return static_cast<int>(v);
  }
  if (!value.is_number_integer()) return std::nullopt;
  const auto v = value.get<int64_t>();
  if (v < lo || v > hi) return std::nullopt;
  return static_cast<int>(v);
}

constexpr Duration kLongestDelay = std::chrono::hours{24 * 36600};  // a century

}  // namespace

std::variant<NewJob, JobRequestError> parse_job_request(std::string_view body,
                                                        const std::set<std::string>& kinds,
                                                        Timestamp now) {
  if (json_depth(body) > kMaxJsonDepth)
    return JobRequestError{"body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels"};
  json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return JobRequestError{"body is not valid JSON"};
  if (!doc.is_object()) return JobRequestError{"body must be a JSON object"};
  NewJob job;
  bool has_kind = false, has_run_at = false;
  for (auto& [key, value] : doc.items()) {
    auto need_string = [&](std::string& out, size_t max_len) -> std::optional<JobRequestError> {
      if (!value.is_string()) return JobRequestError{"'" + key + "' must be a string"};
      out = value.get<std::string>();
      if (out.empty()) return JobRequestError{"'" + key + "' must not be empty"};
      if (out.find('\0') != std::string::npos)
        return JobRequestError{"'" + key + "' must not contain the NUL character (\\u0000)"};
      if (out.size() > max_len)
        return JobRequestError{"'" + key + "' is longer than " + std::to_string(max_len) + " bytes"};
      return std::nullopt;
    };
    if (key == "queue" || key == "kind") {
      std::string s;
      if (auto e = need_string(s, 128)) return *e;
      if (!valid_name(s))
        return JobRequestError{"'" + key + "' may hold only letters, digits, '_', '-' and '.'"};
      (key == "queue" ? job.queue : job.kind) = s;
      has_kind |= key == "kind";
    } else if (key == "payload") {
      if (!value.is_object()) return JobRequestError{"'payload' must be a JSON object"};
      if (holds_nul(value)) return JobRequestError{"'payload' must not contain the NUL character (\\u0000)"};
      job.payload_json = value.dump();
    } else if (key == "priority") {
      auto v = int_in_range(value, -32768, 32767);
      if (!v) return JobRequestError{"'priority' must be an integer from -32768 to 32767"};
      job.priority = *v;
    } else if (key == "max_attempts") {
      auto v = int_in_range(value, 1, 1000);
      if (!v) return JobRequestError{"'max_attempts' must be an integer from 1 to 1000"};
      job.max_attempts = *v;
    } else if (key == "run_at") {
      if (!value.is_string()) return JobRequestError{"'run_at' must be an RFC 3339 time string"};
      auto t = parse_rfc3339(value.get<std::string>());
      if (!t) return JobRequestError{"'run_at' is not an RFC 3339 time such as 2026-11-25T10:00:00Z"};
      if (has_run_at) return JobRequestError{"give 'run_at' or 'run_in', not both"};
      job.run_at = *t;
      has_run_at = true;
    } else if (key == "run_in") {
      if (!value.is_string()) return JobRequestError{"'run_in' must be a duration string such as \"5m\""};
      auto d = parse_duration(value.get<std::string>());
      if (!d) return JobRequestError{"'run_in' is not a duration such as 30s, 5m or 2h"};
      if (*d > kLongestDelay) return JobRequestError{"'run_in' may be at most a century"};
      if (has_run_at) return JobRequestError{"give 'run_at' or 'run_in', not both"};
      job.run_at = now + *d;
      has_run_at = true;
    } else if (key == "dedup_key" || key == "sequence_key") {
      std::string s;
      if (auto e = need_string(s, 512)) return *e;
      (key == "dedup_key" ? job.dedup_key : job.sequence_key) = s;
    } else {
      return JobRequestError{"unknown field '" + key + "'"};
    }
  }
  if (!has_kind) return JobRequestError{"'kind' is required"};
  if (!kinds.empty() && !kinds.count(job.kind)) {
    std::string known;
    for (const auto& k : kinds) known += (known.empty() ? "" : ", ") + k;
    return JobRequestError{"unknown kind '" + job.kind + "' (known: " + known + ")"};
  }
  return job;
}

}  // namespace recado
