#include "src/sim_faults.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace recado {

using json = nlohmann::json;

namespace {

constexpr std::array<std::pair<FaultKind, std::string_view>, 9> kKinds = {{
    {FaultKind::none, "none"},
    {FaultKind::status, "status"},
    {FaultKind::rate_limit, "rate_limit"},
    {FaultKind::quota, "quota"},
    {FaultKind::overloaded, "overloaded"},
    {FaultKind::cloudapi_code, "cloudapi_code"},
    {FaultKind::hang, "hang"},
    {FaultKind::reset, "reset"},
    {FaultKind::truncate, "truncate"},
}};

constexpr int64_t kMaxLatencyMs = 600'000;

// A spec that cannot be accepted; the message names the field.
struct SpecError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string kind_names() {
  std::string out;
  for (const auto& [kind, name] : kKinds) out += (out.empty() ? "" : "|") + std::string(name);
  return out;
}

// Faults that answer with an HTTP status (and may carry retry headers).
bool answers(FaultKind k) {
  return k == FaultKind::status || k == FaultKind::rate_limit || k == FaultKind::quota ||
         k == FaultKind::overloaded || k == FaultKind::cloudapi_code;
}

int64_t whole_number(const json& v, const std::string& field, int64_t min, int64_t max) {
  if (!v.is_number_integer() && !v.is_number_unsigned())
    throw SpecError(field + " must be a whole number");
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(max))
    throw SpecError(field + " must be at most " + std::to_string(max));
  const int64_t n = v.get<int64_t>();
  if (n < min || n > max)
    throw SpecError(field + " must be from " + std::to_string(min) + " to " + std::to_string(max));
  return n;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

// "Wed, 21 Oct 2015 07:28:00 GMT" (RFC 9110 IMF-fixdate), checked by shape.
bool http_date(std::string_view s) {
  constexpr std::string_view kShape = "Aaa, 00 Aaa 0000 00:00:00 GMT";
  if (s.size() != kShape.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    switch (kShape[i]) {
      case 'A':
        if (!std::isalpha(c)) return false;
        break;
      case 'a':
        if (!std::isalpha(c)) return false;
        break;
      case '0':
        if (!std::isdigit(c)) return false;
        break;
      default:
        if (s[i] != kShape[i]) return false;
    }
  }
  return true;
}

// "5s", "0.5s": a google.protobuf.Duration in JSON.
bool proto_duration(std::string_view s) {
  if (s.size() < 2 || s.back() != 's') return false;
  s.remove_suffix(1);
  const size_t dot = s.find('.');
  if (dot == std::string_view::npos) return all_digits(s);
  return all_digits(s.substr(0, dot)) && all_digits(s.substr(dot + 1));
}

SimLatency parse_latency(const json& v, const std::string& field) {
  if (v.is_object()) {
    for (const auto& [key, value] : v.items())
      if (key != "min" && key != "max")
        throw SpecError(field + " has an unknown field '" + key + "' (known: min, max)");
    if (!v.contains("min") || !v.contains("max"))
      throw SpecError(field + " must have both min and max");
    SimLatency l;
    l.min_ms = whole_number(v["min"], field + ".min", 0, kMaxLatencyMs);
    l.max_ms = whole_number(v["max"], field + ".max", 0, kMaxLatencyMs);
    if (l.min_ms > l.max_ms) throw SpecError(field + ".min must not be above " + field + ".max");
    return l;
  }
  if (!v.is_number())
    throw SpecError(field + " must be a whole number of milliseconds or {\"min\":A,\"max\":B}");
  const int64_t ms = whole_number(v, field, 0, kMaxLatencyMs);
  return SimLatency{ms, ms};
}

FaultSpec parse_spec(const json& j, SimEndpoint endpoint, const std::string& prefix) {
  auto field = [&](std::string_view name) { return prefix + std::string(name); };
  if (!j.is_object())
    throw SpecError(
        (prefix.empty() ? std::string("the fault spec") : prefix.substr(0, prefix.size() - 1)) +
        " must be a JSON object");
  static const std::array<std::string_view, 9> kFields = {
      "fault", "rate",           "count",       "status",    "retry_after",
      "code",  "retry_after_ms", "retry_delay", "latency_ms"};
  for (const auto& [key, value] : j.items())
    if (std::find(kFields.begin(), kFields.end(), key) == kFields.end())
      throw SpecError("unknown field '" + field(key) +
                      "' (known: fault, rate, count, status, retry_after, retry_after_ms, "
                      "retry_delay, code, latency_ms)");
  FaultSpec s;
  if (j.contains("fault")) {
    const json& f = j["fault"];
    auto kind = f.is_string() ? parse_fault_kind(f.get<std::string>()) : std::nullopt;
    if (!kind) throw SpecError(field("fault") + " must be one of " + kind_names());
    s.fault = *kind;
  }
  const std::string kind_name(to_string(s.fault));
  // `name` may only be given with the faults `ok` allows.
  auto only_with = [&](std::string_view name, bool ok, std::string_view which) {
    if (j.contains(name) && !ok)
      throw SpecError(field(name) + " applies only to " + std::string(which) + ", not to fault \"" +
                      kind_name + "\"");
  };
  only_with("rate", s.fault != FaultKind::none, "a fault other than none");
  only_with("count", s.fault != FaultKind::none, "a fault other than none");
  only_with("status", s.fault == FaultKind::status, "fault \"status\"");
  only_with("code", s.fault == FaultKind::cloudapi_code, "fault \"cloudapi_code\"");
  only_with("retry_after", answers(s.fault),
            "faults that answer (status, rate_limit, quota, overloaded, cloudapi_code)");
  only_with("retry_after_ms", answers(s.fault),
            "faults that answer (status, rate_limit, quota, overloaded, cloudapi_code)");
  only_with("retry_delay", s.fault == FaultKind::rate_limit || s.fault == FaultKind::quota,
            "faults rate_limit and quota");

  if (s.fault == FaultKind::cloudapi_code && endpoint != SimEndpoint::cloudapi)
    throw SpecError(field("fault") + " \"cloudapi_code\" applies only to endpoint cloudapi");
  if (s.fault == FaultKind::quota && !is_llm(endpoint))
    throw SpecError(field("fault") +
                    " \"quota\" applies only to endpoints openai, anthropic and gemini");
  if (j.contains("retry_delay") && endpoint != SimEndpoint::gemini)
    throw SpecError(field("retry_delay") +
                    " applies only to endpoint gemini (RetryInfo in the body)");

  if (j.contains("rate")) {
    const json& r = j["rate"];
    if (!r.is_number() || r.get<double>() < 0 || r.get<double>() > 1)
      throw SpecError(field("rate") + " must be a number from 0 to 1");
    s.rate = r.get<double>();
  }
  if (j.contains("count")) s.count = whole_number(j["count"], field("count"), 1, int64_t{1} << 40);
  if (j.contains("status"))
    s.status = static_cast<int>(whole_number(j["status"], field("status"), 200, 599));
  if (j.contains("code")) s.code = whole_number(j["code"], field("code"), 1, int64_t{1} << 40);
  if (s.fault == FaultKind::cloudapi_code && !j.contains("code"))
    throw SpecError(field("code") +
                    " is required with fault \"cloudapi_code\" (e.g. 131056, 131047, 130429)");
  if (j.contains("retry_after")) {
    const json& r = j["retry_after"];
    if (r.is_number()) {
      s.retry_after = std::to_string(whole_number(r, field("retry_after"), 0, int64_t{1} << 32));
    } else if (r.is_string() &&
               (all_digits(r.get<std::string>()) || http_date(r.get<std::string>()))) {
      s.retry_after = r.get<std::string>();
    } else {
      throw SpecError(
          field("retry_after") +
          " must be seconds (\"2\") or an HTTP date (\"Wed, 21 Oct 2015 07:28:00 GMT\")");
    }
  }
  if (j.contains("retry_after_ms"))
    s.retry_after_ms =
        whole_number(j["retry_after_ms"], field("retry_after_ms"), 0, int64_t{1} << 40);
  if (j.contains("retry_delay")) {
    const json& d = j["retry_delay"];
    if (!d.is_string() || !proto_duration(d.get<std::string>()))
      throw SpecError(field("retry_delay") +
                      " must be a duration in seconds such as \"5s\" or \"0.5s\"");
    s.retry_delay = d.get<std::string>();
  }
  if (j.contains("latency_ms")) s.latency = parse_latency(j["latency_ms"], field("latency_ms"));
  return s;
}

}  // namespace

std::string_view to_string(FaultKind k) {
  for (const auto& [kind, name] : kKinds)
    if (kind == k) return name;
  return "none";
}

std::optional<FaultKind> parse_fault_kind(std::string_view name) {
  for (const auto& [kind, n] : kKinds)
    if (n == name) return kind;
  return std::nullopt;
}

std::variant<FaultSpec, std::string> parse_fault_spec(const json& spec, SimEndpoint endpoint,
                                                      std::string_view where) {
  try {
    return parse_spec(spec, endpoint, where.empty() ? std::string{} : std::string(where) + ".");
  } catch (const SpecError& e) {
    return std::string(e.what());
  }
}

std::variant<FaultMap, std::string> parse_fault_map(const json& map, std::string_view where) {
  if (!map.is_object())
    return std::string(where) +
           " must be a JSON object of endpoint name to fault spec (endpoints: " +
           sim_endpoint_names() + ")";
  FaultMap out;
  for (const auto& [name, spec] : map.items()) {
    auto endpoint = parse_sim_endpoint(name);
    if (!endpoint)
      return std::string(where) + " names an unknown endpoint '" + name +
             "' (known: " + sim_endpoint_names() + ")";
    auto parsed = parse_fault_spec(spec, *endpoint, std::string(where) + "." + name);
    if (auto* error = std::get_if<std::string>(&parsed)) return *error;
    out[*endpoint] = std::get<FaultSpec>(parsed);
  }
  return out;
}

json to_json(const FaultSpec& s) {
  json j = {{"fault", to_string(s.fault)}};
  if (s.fault != FaultKind::none) {
    j["rate"] = s.rate;
    if (s.count) j["count"] = *s.count;
  }
  if (s.fault == FaultKind::status) j["status"] = s.status;
  if (s.fault == FaultKind::cloudapi_code) j["code"] = s.code;
  if (!s.retry_after.empty()) j["retry_after"] = s.retry_after;
  if (s.retry_after_ms) j["retry_after_ms"] = *s.retry_after_ms;
  if (!s.retry_delay.empty()) j["retry_delay"] = s.retry_delay;
  if (s.latency.any()) {
    if (s.latency.min_ms == s.latency.max_ms) {
      j["latency_ms"] = s.latency.min_ms;
    } else {
      j["latency_ms"] = {{"min", s.latency.min_ms}, {"max", s.latency.max_ms}};
    }
  }
  return j;
}

void FaultBook::set(SimEndpoint endpoint, FaultSpec spec) {
  Slot& slot = slots_[index(endpoint)];
  slot.spec = std::move(spec);
  // One stream per endpoint, so traffic to one endpoint does not move another's draws.
  slot.rng.seed(seed_ ^ (0x9E3779B97F4A7C15ULL * (index(endpoint) + 1)));
}

bool FaultBook::clear(SimEndpoint endpoint) {
  Slot& slot = slots_[index(endpoint)];
  const bool had = slot.spec.has_value();
  slot.spec.reset();
  return had;
}

int FaultBook::clear_all() {
  int n = 0;
  for (SimEndpoint e : kSimEndpoints) n += clear(e) ? 1 : 0;
  return n;
}

FaultDecision FaultBook::decide(SimEndpoint endpoint) {
  Slot& slot = slots_[index(endpoint)];
  FaultDecision d;
  if (!slot.spec) return d;
  FaultSpec& s = *slot.spec;
  if (s.latency.any()) {
    int64_t ms = s.latency.min_ms;
    if (s.latency.max_ms > s.latency.min_ms)
      ms = std::uniform_int_distribution<int64_t>(s.latency.min_ms, s.latency.max_ms)(slot.rng);
    d.latency = std::chrono::milliseconds{ms};
  }
  if (s.fault == FaultKind::none) return d;
  bool hit = s.rate >= 1.0;
  if (!hit && s.rate > 0.0)
    hit = std::uniform_real_distribution<double>(0.0, 1.0)(slot.rng) < s.rate;
  if (!hit) return d;
  d.fault = s.fault;
  d.spec = s;
  if (s.count && --*s.count <= 0) slot.spec.reset();  // the whole spec clears, latency included
  return d;
}

json FaultBook::describe() const {
  json out = json::object();
  for (SimEndpoint e : kSimEndpoints) {
    const auto& spec = slots_[index(e)].spec;
    if (!spec) continue;
    json j = to_json(*spec);
    if (spec->count) {
      j["remaining"] = *spec->count;
      j.erase("count");
    }
    out[std::string(to_string(e))] = std::move(j);
  }
  return out;
}

}  // namespace recado
