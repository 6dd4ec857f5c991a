#pragma once
// What the simulated providers answer, in their own wire formats (shared/protocols.md):
// each provider's error body, the answers of the faults that answer, the credential checks,
// and the success replies of the LLMs and the WhatsApp gateways (Cal.com is sim_calcom).
// Pure: no I/O, no clock (the caller passes the time); safe from any thread, but for the
// LLM script a caller passes in (its owner's thread only).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "src/clock.hpp"
#include "src/http_request_parser.hpp"
#include "src/http_server.hpp"
#include "src/sim_endpoints.hpp"
#include "src/sim_faults.hpp"
#include "src/sim_llm.hpp"

namespace recado {

// What a reply may need besides the request: a number unique in this run (the recorder's
// sequence number), a token unique to this run (so ids differ across restarts) and the time.
struct SimContext {
  uint64_t seq = 0;
  std::string nonce;
  Timestamp now;
};

// A JSON object out of a request body (depth-checked); on failure, the reason.
std::variant<nlohmann::json, std::string> parse_sim_body(std::string_view body);
// JSON text, invalid UTF-8 replaced (bodies echo untrusted bytes).
std::string sim_dump(const nlohmann::json& j);

// --- Each provider's error format -------------------------------------------------------
// {"error":{"message","type","param":null,"code"}}; `code` "" is JSON null.
HttpResponse openai_error(int status, std::string_view message, std::string_view type,
                          std::string_view code = "");
// {"type":"error","error":{"type","message"}}
HttpResponse anthropic_error(int status, std::string_view type, std::string_view message);
// {"error":{"code","message","status","details"?}}
HttpResponse gemini_error(int status, std::string_view message, std::string_view status_name,
                          nlohmann::json details = nullptr);
// {"status":N,"error":"<reason phrase>","response":{"message":...}}
HttpResponse evolution_error(int status, nlohmann::json response_message);
// {"error":"..."}
HttpResponse whaticket_error(int status, std::string_view error);
// {"error":{"message","type":"OAuthException","code","error_data"?,"fbtrace_id"}}
HttpResponse cloudapi_error(int status, int64_t code, std::string_view message,
                            std::string_view details = "");
// {"status":"error","error":{"code","message"}}
HttpResponse calcom_error(int status, std::string_view code, std::string_view message);
// `endpoint`'s error for `status`, with the type/status name/code that status usually has.
HttpResponse sim_error(SimEndpoint endpoint, int status, std::string_view message);
// The Graph API's message for a WhatsApp Cloud API error code ("(#131056) ... pair rate limit
// hit").
std::string cloudapi_code_message(int64_t code);

// What a fault that answers (status, rate_limit, quota, overloaded, cloudapi_code) answers on
// `endpoint`, with its Retry-After / retry-after-ms headers when the spec sets them.
HttpResponse sim_fault_reply(SimEndpoint endpoint, const FaultSpec& spec);

// The provider's 401 (or 400 for a missing required header) when `request` lacks the
// credentials it needs; nullopt when they are there. Any non-empty key is accepted.
//   openai, whaticket, cloudapi, calcom_*: Authorization: Bearer <token>
//   anthropic: x-api-key and anthropic-version;  gemini: x-goog-api-key or ?key=
//   evolution: apikey;  calcom_*: also cal-api-version
std::optional<HttpResponse> sim_check_credentials(SimEndpoint endpoint, const HttpRequest& request);

// --- Success replies (credentials already checked) ---------------------------------------
// The LLMs answer a request that reads well with, in this order: the next turn of `script`
// (taken from it; nullptr: no script), the built-in secretary (sim_brain.hpp) when the
// request offers tools, else the deterministic answer (sim_llm.hpp). A request refused with
// a 400 takes no turn. Tool calls get ids "call_<nonce><seq>_<n>" (OpenAI) and
// "toolu_<nonce><seq>_<n>" (Anthropic), unique across runs; Gemini's have none.
HttpResponse sim_openai_reply(const HttpRequest& request, const SimContext& ctx,
                              LlmScript* script = nullptr);
HttpResponse sim_anthropic_reply(const HttpRequest& request, const SimContext& ctx,
                                 LlmScript* script = nullptr);
HttpResponse sim_gemini_reply(const HttpRequest& request, std::string_view model,
                              const SimContext& ctx, LlmScript* script = nullptr);

// Numbers whose digits start with this are "not on WhatsApp": Evolution answers 400 with
// exists:false, Whaticket 400 ERR_WAPP_INVALID_CONTACT.
inline constexpr std::string_view kNotOnWhatsAppPrefix = "5500";
// The digits of a phone number or JID ("+55 11 9..." / "5511...@s.whatsapp.net").
std::string phone_digits(std::string_view number);

HttpResponse sim_evolution_reply(const HttpRequest& request, std::string_view instance,
                                 const SimContext& ctx);
HttpResponse sim_whaticket_reply(const HttpRequest& request, const SimContext& ctx);
HttpResponse sim_cloudapi_reply(const HttpRequest& request, std::string_view phone_number_id,
                                const SimContext& ctx);

// A message id unique in this run and across runs: `prefix` + nonce + sequence, in hex.
std::string sim_message_id(std::string_view prefix, const SimContext& ctx, bool upper = false);

}  // namespace recado
