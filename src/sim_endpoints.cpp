#include "src/sim_endpoints.hpp"

#include <cctype>

namespace recado {

std::string_view to_string(SimEndpoint e) {
  switch (e) {
    case SimEndpoint::openai:
      return "openai";
    case SimEndpoint::anthropic:
      return "anthropic";
    case SimEndpoint::gemini:
      return "gemini";
    case SimEndpoint::evolution:
      return "evolution";
    case SimEndpoint::whaticket:
      return "whaticket";
    case SimEndpoint::cloudapi:
      return "cloudapi";
    case SimEndpoint::calcom_bookings:
      return "calcom_bookings";
    case SimEndpoint::calcom_slots:
      return "calcom_slots";
  }
  return "unknown";
}

std::optional<SimEndpoint> parse_sim_endpoint(std::string_view name) {
  for (SimEndpoint e : kSimEndpoints)
    if (to_string(e) == name) return e;
  return std::nullopt;
}

std::string sim_endpoint_names() {
  std::string out;
  for (SimEndpoint e : kSimEndpoints) {
    if (!out.empty()) out += '|';
    out += to_string(e);
  }
  return out;
}

bool is_llm(SimEndpoint e) {
  return e == SimEndpoint::openai || e == SimEndpoint::anthropic || e == SimEndpoint::gemini;
}

bool is_calcom(SimEndpoint e) {
  return e == SimEndpoint::calcom_bookings || e == SimEndpoint::calcom_slots;
}

namespace {

// One path segment: non-empty, no slash.
bool segment_ok(std::string_view s) {
  return !s.empty() && s.find('/') == std::string_view::npos;
}

// "v21.0", "v19": a Graph API version.
bool graph_version(std::string_view s) {
  if (s.size() < 2 || s[0] != 'v' || !std::isdigit(static_cast<unsigned char>(s[1]))) return false;
  for (char c : s.substr(1))
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.') return false;
  return true;
}

// What follows `prefix` in `path`, or nullopt when `path` does not start with it.
std::optional<std::string_view> after(std::string_view path, std::string_view prefix) {
  if (!path.starts_with(prefix)) return std::nullopt;
  return path.substr(prefix.size());
}

}  // namespace

std::optional<SimRoute> route_sim_path(std::string_view path) {
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path == "/v1/chat/completions" || path == "/v1beta/openai/chat/completions")
    return SimRoute{SimEndpoint::openai};
  if (path == "/v1/messages") return SimRoute{SimEndpoint::anthropic};
  if (auto rest = after(path, "/v1beta/models/")) {
    constexpr std::string_view kVerb = ":generateContent";
    if (rest->ends_with(kVerb)) {
      const std::string_view model = rest->substr(0, rest->size() - kVerb.size());
      if (segment_ok(model)) return SimRoute{SimEndpoint::gemini, std::string(model)};
    }
    return std::nullopt;
  }
  if (auto rest = after(path, "/message/sendText/"); rest && segment_ok(*rest))
    return SimRoute{SimEndpoint::evolution, std::string(*rest)};
  if (path == "/api/messages/send") return SimRoute{SimEndpoint::whaticket};
  if (path == "/v2/bookings") return SimRoute{SimEndpoint::calcom_bookings};
  if (auto rest = after(path, "/v2/bookings/")) {
    constexpr std::string_view kCancel = "/cancel";
    constexpr std::string_view kReschedule = "/reschedule";
    if (rest->ends_with(kCancel)) {
      const std::string_view uid = rest->substr(0, rest->size() - kCancel.size());
      if (segment_ok(uid)) return SimRoute{SimEndpoint::calcom_bookings, std::string(uid), true};
    }
    if (rest->ends_with(kReschedule)) {
      const std::string_view uid = rest->substr(0, rest->size() - kReschedule.size());
      if (segment_ok(uid))
        return SimRoute{SimEndpoint::calcom_bookings, std::string(uid), false, true};
    }
    return std::nullopt;
  }
  if (path == "/v2/slots") return SimRoute{SimEndpoint::calcom_slots};
  // /v{N}/{phone_number_id}/messages
  if (path.size() > 1 && path[0] == '/') {
    const std::string_view rest = path.substr(1);
    const size_t first = rest.find('/');
    if (first != std::string_view::npos && graph_version(rest.substr(0, first))) {
      const std::string_view tail = rest.substr(first + 1);
      constexpr std::string_view kMessages = "/messages";
      if (tail.ends_with(kMessages)) {
        const std::string_view phone_id = tail.substr(0, tail.size() - kMessages.size());
        if (segment_ok(phone_id)) return SimRoute{SimEndpoint::cloudapi, std::string(phone_id)};
      }
    }
  }
  return std::nullopt;
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> sim_query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq));
    if (!key || *key != name) continue;
    return percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
  }
  return std::nullopt;
}

}  // namespace recado
