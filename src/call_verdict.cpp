#include "src/call_verdict.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <charconv>
#include <ctime>

namespace recado {

using nlohmann::json;

std::string_view to_string(Api api) {
  switch (api) {
    case Api::openai: return "openai";
    case Api::anthropic: return "anthropic";
    case Api::gemini: return "gemini";
    case Api::evolution: return "evolution";
    case Api::whaticket: return "whaticket";
    case Api::cloudapi: return "cloudapi";
    case Api::calcom: return "calcom";
  }
  return "openai";
}

std::optional<Api> parse_api(std::string_view name) {
  for (Api api : {Api::openai, Api::anthropic, Api::gemini, Api::evolution, Api::whaticket, Api::cloudapi, Api::calcom})
    if (to_string(api) == name) return api;
  return std::nullopt;
}

std::string_view to_string(CallVerdict::Type t) {
  switch (t) {
    case CallVerdict::Type::success: return "success";
    case CallVerdict::Type::retry: return "retry";
    case CallVerdict::Type::permanent: return "permanent";
  }
  return "success";
}

namespace {

constexpr Duration kMaxDelay = std::chrono::hours{24};

std::optional<double> parse_number(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || !(v >= 0)) return std::nullopt;
  return v;
}

Duration seconds(double s) { return std::min(kMaxDelay, Duration{static_cast<int64_t>(s * 1e6)}); }

// "Wed, 21 Oct 2026 07:28:00 GMT"
std::optional<Timestamp> parse_http_date(const std::string& s) {
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  return Timestamp{std::chrono::seconds{timegm(&tm)}};
}

// The error object of a body, whichever way the provider wraps it.
json error_object(const json& body) {
  if (body.is_array() && !body.empty()) return error_object(body.front());  // Gemini's OpenAI endpoint
  if (!body.is_object()) return json::object();
  auto it = body.find("error");
  if (it == body.end()) return json::object();
  if (it->is_object()) return *it;
  if (it->is_string()) return json{{"message", *it}};
  return json::object();
}

std::string text_of(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<long long>());
  return {};
}

std::string excerpt(std::string s) {
  if (s.size() > 200) s = s.substr(0, 200) + "…";
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

CallVerdict make(CallVerdict::Type type, std::string reason, bool breaker_failure = false) {
  return {type, std::move(reason), std::nullopt, breaker_failure};
}

// Cloud API errors carry a code that says more than the status (rate limits come as 400).
std::optional<CallVerdict> classify_cloudapi_code(long long code, const std::string& what) {
  const std::string reason = "Cloud API error " + std::to_string(code) + (what.empty() ? "" : ": " + what);
  switch (code) {
    case 130429:  // throughput limit of the number
    case 131056:  // pair rate limit: too many messages to one user
    case 4:       // application request limit
    case 80007:   // WABA rate limit
      return make(CallVerdict::Type::retry, reason);
    case 131000:  // something went wrong
    case 131016:  // service unavailable
    case 2:       // temporary service error
      return make(CallVerdict::Type::retry, reason, true);
    case 131047:  // outside the 24-hour window: only a template may go
    case 131048:  // spam rate limit: sending more makes it worse
    case 131026:  // undeliverable
    case 131051:  // unsupported message type
    case 131008:  // required parameter missing
    case 131009:  // parameter value invalid
    case 100:     // invalid parameter
    case 190:     // access token expired or invalid
    case 10:      // permission denied
    case 368:     // temporarily blocked for policy violations
      return make(CallVerdict::Type::permanent, reason);
    default: return std::nullopt;
  }
}

}  // namespace

std::optional<Duration> retry_after(const HttpReply& reply, Timestamp now) {
  if (auto ms = reply.header("retry-after-ms"))
    if (auto v = parse_number(*ms)) return seconds(*v / 1000);
  if (auto ra = reply.header("retry-after")) {
    if (auto v = parse_number(*ra)) return seconds(*v);
    if (auto at = parse_http_date(std::string(*ra))) return std::clamp(*at - now, Duration{0}, kMaxDelay);
  }
  if (reply.body.find("retryDelay") != std::string::npos) {
    const json body = json::parse(reply.body, nullptr, false);
    const json error = error_object(body);
    if (auto details = error.find("details"); details != error.end() && details->is_array()) {
      for (const json& d : *details) {
        const std::string delay = d.is_object() ? text_of(d, "retryDelay") : "";
        if (delay.size() > 1 && delay.back() == 's')
          if (auto v = parse_number(std::string_view(delay).substr(0, delay.size() - 1))) return seconds(*v);
      }
    }
  }
  return std::nullopt;
}

std::optional<TokenUsage> token_usage(Api api, const std::string& body) {
  const char* field = api == Api::gemini ? "usageMetadata" : "usage";
  if (api != Api::openai && api != Api::anthropic && api != Api::gemini) return std::nullopt;
  if (body.find(field) == std::string::npos) return std::nullopt;
  const json doc = json::parse(body, nullptr, false);
  if (!doc.is_object() || !doc.contains(field) || !doc[field].is_object()) return std::nullopt;
  const json& u = doc[field];
  auto count = [&](const char* key) {
    auto it = u.find(key);
    return it != u.end() && it->is_number_integer() ? it->get<long>() : 0L;
  };
  switch (api) {
    case Api::openai: return TokenUsage{count("prompt_tokens"), count("completion_tokens")};
    case Api::anthropic: return TokenUsage{count("input_tokens"), count("output_tokens")};
    default: return TokenUsage{count("promptTokenCount"), count("candidatesTokenCount")};
  }
}

CallVerdict classify(Api api, const HttpReply& reply, Timestamp now) {
  if (!reply.responded()) {
    const bool cancelled = reply.failure == HttpReply::Failure::cancelled;
    return make(CallVerdict::Type::retry,
                std::string(to_string(api)) + " call failed (" + std::string(to_string(reply.failure)) + "): " + excerpt(reply.failure_text),
                !cancelled);
  }
  const int status = reply.status;
  const bool is_json = !reply.body.empty() && (reply.body.front() == '{' || reply.body.front() == '[');
  const json body = is_json ? json::parse(reply.body, nullptr, false) : json();
  const json error = error_object(body);
  const std::string code = text_of(error, "code").empty() ? text_of(error, "status") : text_of(error, "code");
  const std::string type = text_of(error, "type");
  std::string message = text_of(error, "message");
  if (api == Api::evolution && body.is_object())  // {"status":400,"error":"Bad Request","response":{"message":...}}
    if (auto r = body.find("response"); r != body.end() && r->is_object() && r->contains("message"))
      message += (message.empty() ? "" : ": ") + (*r)["message"].dump();

  if (api == Api::cloudapi && error.contains("code") && error["code"].is_number_integer())
    if (auto v = classify_cloudapi_code(error["code"].get<long long>(), excerpt(message))) {
      v->retry_after = retry_after(reply, now);
      return *v;
    }
  if (status >= 200 && status < 300) {
    if (api == Api::calcom && body.is_object() && body.value("status", "") == "error")
      return make(CallVerdict::Type::permanent, "Cal.com answered " + std::to_string(status) + " with an error: " + excerpt(message));
    return make(CallVerdict::Type::success, {});
  }

  std::string reason = std::string(to_string(api)) + " answered " + std::to_string(status);
  if (!code.empty()) reason += " " + code;
  else if (!type.empty()) reason += " " + type;
  if (!message.empty()) reason += ": " + excerpt(message);

  // Out of money is not a reason to try again: the next call fails the same way.
  if (code == "insufficient_quota" || type == "insufficient_quota" || status == 402)
    return make(CallVerdict::Type::permanent, reason);
  if (status == 408 || status == 409 || status == 429 || status >= 500) {
    CallVerdict v = make(CallVerdict::Type::retry, reason, status != 409);
    v.retry_after = retry_after(reply, now);
    if (!v.retry_after && api == Api::calcom)
      if (auto reset = reply.header("x-ratelimit-reset-default"))
        if (auto s = parse_number(*reset); s && *s <= 86400) v.retry_after = seconds(*s);
    return v;
  }
  return make(CallVerdict::Type::permanent, reason);
}

}  // namespace recado
