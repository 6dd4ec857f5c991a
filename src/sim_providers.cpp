#include "src/sim_providers.hpp"

#include <cctype>
#include <cstdio>

#include "src/json_limits.hpp"
#include "src/sim_brain.hpp"
#include "src/sim_llm.hpp"

namespace recado {

using json = nlohmann::json;

std::variant<json, std::string> parse_sim_body(std::string_view body) {
  if (body.empty()) return std::string("the body is empty (a JSON object is expected)");
  if (json_depth(body) > kMaxJsonDepth)
    return "the body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels";
  json doc = json::parse(body.begin(), body.end(), nullptr, false);
  if (doc.is_discarded()) return std::string("the body is not valid JSON");
  if (!doc.is_object()) return std::string("the body must be a JSON object");
  return doc;
}

std::string sim_dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

HttpResponse json_response(int status, const json& body) {
  return HttpResponse::json(status, sim_dump(body));
}

std::string_view anthropic_type(int status) {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 402:
      return "billing_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 504:
      return "timeout_error";
    case 529:
      return "overloaded_error";
    default:
      return "api_error";
  }
}

std::string_view google_status(int status) {
  switch (status) {
    case 400:
      return "INVALID_ARGUMENT";
    case 401:
      return "UNAUTHENTICATED";
    case 403:
      return "PERMISSION_DENIED";
    case 404:
      return "NOT_FOUND";
    case 409:
      return "ABORTED";
    case 429:
      return "RESOURCE_EXHAUSTED";
    case 499:
      return "CANCELLED";
    case 500:
      return "INTERNAL";
    case 501:
      return "UNIMPLEMENTED";
    case 503:
      return "UNAVAILABLE";
    case 504:
      return "DEADLINE_EXCEEDED";
    default:
      return "UNKNOWN";
  }
}

std::string_view calcom_code(int status) {
  switch (status) {
    case 400:
      return "BAD_REQUEST";
    case 401:
      return "UNAUTHORIZED";
    case 403:
      return "FORBIDDEN";
    case 404:
      return "NOT_FOUND";
    case 405:
      return "METHOD_NOT_ALLOWED";
    case 409:
      return "CONFLICT";
    case 429:
      return "TOO_MANY_REQUESTS";
    case 500:
      return "INTERNAL_SERVER_ERROR";
    case 503:
      return "SERVICE_UNAVAILABLE";
    default:
      return "ERROR";
  }
}

// The Graph API code a plain HTTP status usually comes with.
int64_t cloudapi_code_for(int status) {
  switch (status) {
    case 400:
      return 100;
    case 401:
      return 190;
    case 403:
      return 10;
    case 404:
      return 803;
    case 429:
      return 4;
    case 503:
      return 2;
    default:
      return 1;
  }
}

void add_retry_headers(HttpResponse& r, const FaultSpec& spec) {
  if (!spec.retry_after.empty()) r.headers.emplace_back("Retry-After", spec.retry_after);
  if (spec.retry_after_ms)
    r.headers.emplace_back("retry-after-ms", std::to_string(*spec.retry_after_ms));
}

HttpResponse rate_limit_reply(SimEndpoint e, const FaultSpec& spec) {
  switch (e) {
    case SimEndpoint::openai: {
      HttpResponse r = openai_error(
          429, "Rate limit reached for requests (simulated). Please try again in a moment.",
          "rate_limit_exceeded", "rate_limit_exceeded");
      r.headers.emplace_back("x-ratelimit-remaining-requests", "0");
      return r;
    }
    case SimEndpoint::anthropic: {
      HttpResponse r = anthropic_error(
          429, "rate_limit_error",
          "This request would exceed the rate limit for your organization (simulated).");
      r.headers.emplace_back("anthropic-ratelimit-requests-remaining", "0");
      return r;
    }
    case SimEndpoint::gemini:
      return gemini_error(
          429, "Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED",
          json::array({{{"@type", "type.googleapis.com/google.rpc.RetryInfo"},
                        {"retryDelay", spec.retry_delay.empty() ? "5s" : spec.retry_delay}}}));
    case SimEndpoint::evolution:
      return evolution_error(429, json::array({"rate-overlimit"}));
    case SimEndpoint::whaticket:
      return whaticket_error(429, "ERR_TOO_MANY_REQUESTS");
    case SimEndpoint::cloudapi:
      return cloudapi_error(400, 130429, cloudapi_code_message(130429),
                            "Cloud API message throughput has been reached.");
    case SimEndpoint::calcom_bookings:
    case SimEndpoint::calcom_slots: {
      HttpResponse r =
          calcom_error(429, "TOO_MANY_REQUESTS", "ThrottlerException: Too Many Requests");
      const bool seconds = !spec.retry_after.empty() &&
                           std::isdigit(static_cast<unsigned char>(spec.retry_after[0]));
      r.headers.emplace_back("X-RateLimit-Limit-Default", "120");
      r.headers.emplace_back("X-RateLimit-Remaining-Default", "0");
      r.headers.emplace_back("X-RateLimit-Reset-Default", seconds ? spec.retry_after : "60");
      return r;
    }
  }
  return sim_error(e, 429, "rate limited");
}

HttpResponse quota_reply(SimEndpoint e, const FaultSpec& spec) {
  switch (e) {
    case SimEndpoint::openai:
      return openai_error(
          429, "You exceeded your current quota, please check your plan and billing details.",
          "insufficient_quota", "insufficient_quota");
    case SimEndpoint::anthropic:
      return anthropic_error(
          402, "billing_error",
          "Your credit balance is too low to access the Anthropic API. Please go to Plans & "
          "Billing to upgrade or purchase credits.");
    case SimEndpoint::gemini: {
      json details =
          json::array({{{"@type", "type.googleapis.com/google.rpc.QuotaFailure"},
                        {"violations",
                         {{{"quotaMetric",
                            "generativelanguage.googleapis.com/generate_content_requests_per_day"},
                           {"quotaId", "GenerateRequestsPerDayPerProjectPerModel"}}}}}});
      if (!spec.retry_delay.empty())
        details.push_back({{"@type", "type.googleapis.com/google.rpc.RetryInfo"},
                           {"retryDelay", spec.retry_delay}});
      return gemini_error(
          429, "You exceeded your current quota, please check your plan and billing details.",
          "RESOURCE_EXHAUSTED", std::move(details));
    }
    default:
      return sim_error(e, 429, "quota exceeded");
  }
}

HttpResponse overloaded_reply(SimEndpoint e) {
  switch (e) {
    case SimEndpoint::anthropic:
      return anthropic_error(529, "overloaded_error", "Overloaded");
    case SimEndpoint::openai:
      return openai_error(503, "The engine is currently overloaded, please try again later.",
                          "server_error");
    case SimEndpoint::gemini:
      return gemini_error(503, "The model is overloaded. Please try again later.", "UNAVAILABLE");
    default:
      return sim_error(e, 503, "Service temporarily unavailable (simulated overload)");
  }
}

std::string_view bearer_token(const HttpRequest& r) {
  constexpr std::string_view kBearer = "Bearer ";
  std::string_view auth = r.header("authorization");
  if (auth.size() <= kBearer.size()) return {};
  for (size_t i = 0; i < kBearer.size() - 1; ++i)
    if (std::tolower(static_cast<unsigned char>(auth[i])) !=
        std::tolower(static_cast<unsigned char>(kBearer[i])))
      return {};
  if (auth[kBearer.size() - 1] != ' ') return {};
  auth.remove_prefix(kBearer.size());
  while (!auth.empty() && auth.front() == ' ') auth.remove_prefix(1);
  return auth;
}

std::string string_field(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

int64_t unix_seconds(Timestamp t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

HttpResponse openai_error(int status, std::string_view message, std::string_view type,
                          std::string_view code) {
  return json_response(status, {{"error",
                                 {{"message", message},
                                  {"type", type},
                                  {"param", nullptr},
                                  {"code", code.empty() ? json(nullptr) : json(code)}}}});
}

HttpResponse anthropic_error(int status, std::string_view type, std::string_view message) {
  return json_response(status,
                       {{"type", "error"}, {"error", {{"type", type}, {"message", message}}}});
}

HttpResponse gemini_error(int status, std::string_view message, std::string_view status_name,
                          json details) {
  json error = {{"code", status}, {"message", message}, {"status", status_name}};
  if (!details.is_null()) error["details"] = std::move(details);
  return json_response(status, {{"error", std::move(error)}});
}

HttpResponse evolution_error(int status, json response_message) {
  return json_response(status, {{"status", status},
                                {"error", http_status_text(status)},
                                {"response", {{"message", std::move(response_message)}}}});
}

HttpResponse whaticket_error(int status, std::string_view error) {
  return json_response(status, {{"error", error}});
}

HttpResponse cloudapi_error(int status, int64_t code, std::string_view message,
                            std::string_view details) {
  json error = {{"message", message}, {"type", "OAuthException"}, {"code", code}};
  if (!details.empty())
    error["error_data"] = {{"messaging_product", "whatsapp"}, {"details", details}};
  error["fbtrace_id"] = "ArecadoSimTrace";
  return json_response(status, {{"error", std::move(error)}});
}

HttpResponse calcom_error(int status, std::string_view code, std::string_view message) {
  return json_response(status,
                       {{"status", "error"}, {"error", {{"code", code}, {"message", message}}}});
}

std::string cloudapi_code_message(int64_t code) {
  switch (code) {
    case 130429:
      return "(#130429) Rate limit hit";
    case 131056:
      return "(#131056) (Business Account, Consumer Account) pair rate limit hit";
    case 131047:
      return "(#131047) Re-engagement message";
    case 131048:
      return "(#131048) Spam rate limit hit";
    case 131000:
      return "(#131000) Something went wrong";
    case 131016:
      return "(#131016) Service unavailable";
    case 131026:
      return "(#131026) Message undeliverable";
    case 131030:
      return "(#131030) Recipient phone number not in allowed list";
    case 131051:
      return "(#131051) Unsupported message type";
    case 132000:
      return "(#132000) Number of parameters does not match the expected number of params";
    case 132001:
      return "(#132001) Template name does not exist in the translation";
    case 80007:
      return "(#80007) Rate limit issues";
    case 368:
      return "(#368) Temporarily blocked for policies violations";
    case 190:
      return "Invalid OAuth access token - Cannot parse access token";
    case 100:
      return "(#100) Invalid parameter";
    case 4:
      return "(#4) Application request limit reached";
    case 2:
      return "(#2) Service temporarily unavailable";
    case 1:
      return "An unknown error occurred";
    default:
      return "(#" + std::to_string(code) + ") Simulated error";
  }
}

HttpResponse sim_error(SimEndpoint endpoint, int status, std::string_view message) {
  switch (endpoint) {
    case SimEndpoint::openai: {
      const std::string_view type = status >= 500 ? "server_error" : "invalid_request_error";
      return openai_error(status, message, type);
    }
    case SimEndpoint::anthropic:
      return anthropic_error(status, anthropic_type(status), message);
    case SimEndpoint::gemini:
      return gemini_error(status, message, google_status(status));
    case SimEndpoint::evolution:
      return evolution_error(status, json::array({message}));
    case SimEndpoint::whaticket:
      return whaticket_error(status, message);
    case SimEndpoint::cloudapi: {
      const int64_t code = cloudapi_code_for(status);
      return cloudapi_error(
          status, code,
          code == 1 || code == 2 ? cloudapi_code_message(code) : std::string(message));
    }
    case SimEndpoint::calcom_bookings:
    case SimEndpoint::calcom_slots:
      return calcom_error(status, calcom_code(status), message);
  }
  return HttpResponse::error(status, message);
}

HttpResponse sim_fault_reply(SimEndpoint endpoint, const FaultSpec& spec) {
  HttpResponse r;
  switch (spec.fault) {
    case FaultKind::status: {
      std::string message = "Simulated error: HTTP " + std::to_string(spec.status);
      r = sim_error(endpoint, spec.status, message);
      break;
    }
    case FaultKind::rate_limit:
      r = rate_limit_reply(endpoint, spec);
      break;
    case FaultKind::quota:
      r = quota_reply(endpoint, spec);
      break;
    case FaultKind::overloaded:
      r = overloaded_reply(endpoint);
      break;
    case FaultKind::cloudapi_code:
      r = cloudapi_error(400, spec.code, cloudapi_code_message(spec.code),
                         "Simulated by recado sim");
      break;
    default:
      r = sim_error(endpoint, 500, "no answer for this fault");
      break;
  }
  add_retry_headers(r, spec);
  return r;
}

std::optional<HttpResponse> sim_check_credentials(SimEndpoint endpoint, const HttpRequest& r) {
  switch (endpoint) {
    case SimEndpoint::openai:
      if (bearer_token(r).empty())
        return openai_error(
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization "
            "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            "invalid_request_error");
      return std::nullopt;
    case SimEndpoint::anthropic:
      if (r.header("x-api-key").empty())
        return anthropic_error(401, "authentication_error", "x-api-key header is required");
      if (r.header("anthropic-version").empty())
        return anthropic_error(400, "invalid_request_error",
                               "anthropic-version: header is required");
      return std::nullopt;
    case SimEndpoint::gemini:
      if (r.header("x-goog-api-key").empty() &&
          sim_query_param(r.query, "key").value_or("").empty())
        return gemini_error(
            401,
            "Method doesn't allow unregistered callers (callers without established identity). "
            "Please use API Key or other form of API consumer identity to call this API.",
            "UNAUTHENTICATED");
      return std::nullopt;
    case SimEndpoint::evolution:
      if (r.header("apikey").empty()) return evolution_error(401, "Unauthorized");
      return std::nullopt;
    case SimEndpoint::whaticket:
      if (bearer_token(r).empty()) return whaticket_error(401, "ERR_SESSION_EXPIRED");
      return std::nullopt;
    case SimEndpoint::cloudapi:
      if (bearer_token(r).empty()) return cloudapi_error(401, 190, cloudapi_code_message(190));
      return std::nullopt;
    case SimEndpoint::calcom_bookings:
    case SimEndpoint::calcom_slots:
      if (bearer_token(r).empty())
        return calcom_error(401, "UNAUTHORIZED",
                            "No API key or access token: send Authorization: Bearer cal_...");
      if (r.header("cal-api-version").empty())
        return calcom_error(400, "BAD_REQUEST",
                            "the cal-api-version header is required (e.g. 2024-08-13)");
      return std::nullopt;
  }
  return std::nullopt;
}

std::string sim_message_id(std::string_view prefix, const SimContext& ctx, bool upper) {
  char seq[24];
  std::snprintf(seq, sizeof seq, upper ? "%010llX" : "%010llx",
                static_cast<unsigned long long>(ctx.seq));
  std::string nonce = ctx.nonce;
  if (upper)
    for (char& c : nonce) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return std::string(prefix) + nonce + seq;
}

// --- LLMs ------------------------------------------------------------------------------------

namespace {

// The answer to `p`: the script's next turn, the secretary, or the deterministic text.
LlmAnswer llm_answer(const LlmPrompt& p, LlmScript* script, std::string_view id_prefix,
                     const SimContext& ctx) {
  LlmAnswer a;
  if (std::optional<LlmScriptTurn> turn = script ? script->take() : std::nullopt)
    a = make_answer(p, turn->text.value_or(""), std::move(turn->tool_calls));
  else if (!p.tools.empty())
    a = secretary_answer(p);
  else
    return simulated_answer(p);
  if (!id_prefix.empty())
    for (size_t i = 0; i < a.tool_calls.size(); ++i)
      if (a.tool_calls[i].id.empty())
        a.tool_calls[i].id = sim_message_id(id_prefix, ctx) + "_" + std::to_string(i);
  return a;
}

}  // namespace

HttpResponse sim_openai_reply(const HttpRequest& request, const SimContext& ctx,
                              LlmScript* script) {
  auto prompt = parse_openai_prompt(request.body);
  if (auto* reason = std::get_if<std::string>(&prompt))
    return openai_error(400, *reason, "invalid_request_error");
  const LlmPrompt& p = std::get<LlmPrompt>(prompt);
  return HttpResponse::json(
      200, openai_completion_body(p, llm_answer(p, script, "call_", ctx),
                                  sim_message_id("chatcmpl-sim", ctx), unix_seconds(ctx.now)));
}

HttpResponse sim_anthropic_reply(const HttpRequest& request, const SimContext& ctx,
                                 LlmScript* script) {
  auto prompt = parse_anthropic_prompt(request.body);
  if (auto* reason = std::get_if<std::string>(&prompt))
    return anthropic_error(400, "invalid_request_error", *reason);
  const LlmPrompt& p = std::get<LlmPrompt>(prompt);
  return HttpResponse::json(200, anthropic_message_body(p, llm_answer(p, script, "toolu_", ctx),
                                                        sim_message_id("msg_sim", ctx)));
}

HttpResponse sim_gemini_reply(const HttpRequest& request, std::string_view model,
                              const SimContext& ctx, LlmScript* script) {
  auto prompt = parse_gemini_prompt(request.body, model);
  if (auto* reason = std::get_if<std::string>(&prompt))
    return gemini_error(400, *reason, "INVALID_ARGUMENT");
  const LlmPrompt& p = std::get<LlmPrompt>(prompt);
  return HttpResponse::json(
      200, gemini_response_body(p, llm_answer(p, script, "", ctx), sim_message_id("sim", ctx)));
}

// --- WhatsApp gateways -------------------------------------------------------------------------

std::string phone_digits(std::string_view number) {
  std::string out;
  for (char c : number) {
    if (c == '@' || c == ':') break;
    if (std::isdigit(static_cast<unsigned char>(c))) out += c;
  }
  return out;
}

HttpResponse sim_evolution_reply(const HttpRequest& request, std::string_view instance,
                                 const SimContext& ctx) {
  auto parsed = parse_sim_body(request.body);
  if (auto* reason = std::get_if<std::string>(&parsed))
    return evolution_error(400, json::array({*reason}));
  const json& doc = std::get<json>(parsed);
  const std::string number = string_field(doc, "number");
  if (number.empty()) return evolution_error(400, json::array({"number is required (a string)"}));
  if (!doc.contains("text") || !doc["text"].is_string())
    return evolution_error(400, json::array({"text is required (a string)"}));
  if (doc.contains("delay") && !doc["delay"].is_number_integer() &&
      !doc["delay"].is_number_unsigned())
    return evolution_error(400, json::array({"delay must be a whole number of milliseconds"}));
  const std::string digits = phone_digits(number);
  const bool group = number.ends_with("@g.us");
  if (!group && (digits.size() < 8 || digits.starts_with(kNotOnWhatsAppPrefix))) {
    return evolution_error(
        400, json::array(
                 {{{"exists", false}, {"jid", digits + "@s.whatsapp.net"}, {"number", number}}}));
  }
  const std::string jid = group ? number : digits + "@s.whatsapp.net";
  return json_response(
      201,
      {{"key", {{"remoteJid", jid}, {"fromMe", true}, {"id", sim_message_id("3EB0", ctx, true)}}},
       {"pushName", ""},
       {"status", "PENDING"},
       {"message", {{"conversation", doc["text"]}}},
       {"messageType", "conversation"},
       {"messageTimestamp", std::to_string(unix_seconds(ctx.now))},
       {"instanceId", std::string(instance)},
       {"source", "unknown"}});
}

HttpResponse sim_whaticket_reply(const HttpRequest& request, const SimContext&) {
  auto parsed = parse_sim_body(request.body);
  if (auto* reason = std::get_if<std::string>(&parsed)) return whaticket_error(400, *reason);
  const json& doc = std::get<json>(parsed);
  const std::string number = string_field(doc, "number");
  if (number.empty())
    return whaticket_error(400, "ERR_INVALID_NUMBER: number is required (a string)");
  if (!doc.contains("body") || !doc["body"].is_string())
    return whaticket_error(400, "ERR_INVALID_BODY: body is required (a string)");
  const std::string digits = phone_digits(number);
  if (digits.size() < 8 || digits.starts_with(kNotOnWhatsAppPrefix))
    return whaticket_error(400, "ERR_WAPP_INVALID_CONTACT");
  return json_response(200, {{"mensagem", "Mensagem enviada"}});
}

HttpResponse sim_cloudapi_reply(const HttpRequest& request, std::string_view,
                                const SimContext& ctx) {
  auto parsed = parse_sim_body(request.body);
  if (auto* reason = std::get_if<std::string>(&parsed))
    return cloudapi_error(400, 100, "(#100) " + *reason);
  const json& doc = std::get<json>(parsed);
  if (string_field(doc, "messaging_product") != "whatsapp")
    return cloudapi_error(400, 100, "(#100) The parameter messaging_product is required.");
  const std::string to = string_field(doc, "to");
  if (to.empty()) return cloudapi_error(400, 100, "(#100) The parameter to is required.");
  const std::string type = doc.contains("type") ? string_field(doc, "type") : "text";
  if (type.empty()) return cloudapi_error(400, 100, "(#100) Param type must be a string.");
  auto object = doc.find(type);
  if (object == doc.end() || !object->is_object())
    return cloudapi_error(400, 100, "(#100) The parameter " + type + " is required.");
  if (type == "text" && string_field(*object, "body").empty())
    return cloudapi_error(400, 100, "(#100) The parameter text['body'] is required.");
  if (type == "template") {
    if (string_field(*object, "name").empty())
      return cloudapi_error(400, 100, "(#100) The parameter template['name'] is required.");
    auto language = object->find("language");
    if (language == object->end() || !language->is_object() ||
        string_field(*language, "code").empty())
      return cloudapi_error(400, 100,
                            "(#100) The parameter template['language']['code'] is required.");
  }
  json message = {{"id", sim_message_id("wamid.SIM", ctx, true)}};
  if (type == "template") message["message_status"] = "accepted";
  return json_response(200, {{"messaging_product", "whatsapp"},
                             {"contacts", {{{"input", to}, {"wa_id", phone_digits(to)}}}},
                             {"messages", json::array({message})}});
}

}  // namespace recado
