#pragma once
// The WhatsApp gateway adapters: the HTTP request that sends one text (or, on the Cloud API,
// one template) and the reading of the gateway's answer (shared/protocols.md, "WhatsApp
// sends"):
//   Api::evolution  POST {base}/message/sendText/{instance}, apikey, {"number","text"}
//   Api::whaticket  POST {base}/api/messages/send, Authorization: Bearer, {"number","body"}
//   Api::cloudapi   POST {base}/{version}/{phone_number_id}/messages, Authorization: Bearer
// Pure functions: no sockets, no clock, no state; safe from any thread. Pacing sends and
// classifying error statuses are the caller's (send limits, src/call_verdict).
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "src/call_verdict.hpp"
#include "src/http_client.hpp"

namespace recado::jobs::providers {

struct GatewayEndpoint {
  Api api = Api::evolution;
  std::string base_url;  // with or without a trailing slash; Cloud API: https://graph.facebook.com
  std::string token;     // Evolution apikey, Whaticket bearer, Cloud API bearer
  std::string instance;  // Evolution instance name (percent-encoded into the path)
  std::string phone_number_id;        // Cloud API
  std::string api_version = "v21.0";  // Cloud API; "21.0" is taken as "v21.0"
};

struct OutgoingText {
  // The contact: digits, "+55 11 98765-4321", or a JID like 5511987654321@s.whatsapp.net.
  std::string to;
  std::string text;
  // Cloud API only: send this approved template instead of `text` (outside the 24-hour
  // window). Evolution and Whaticket have no templates and always send `text`.
  std::optional<std::string> template_name;
  std::string template_language = "pt_BR";
  std::vector<std::string> template_params;  // the body's {{1}}, {{2}}, ... in order
};

// The contact as `api` wants it in a send: digits only (country code first, no "+"), for
// every gateway. Strips a JID's @s.whatsapp.net / @c.us and device suffix (":12"), a leading
// "+", and the spaces, dashes, dots and parentheses of a written number. Refuses, with a
// reason: group JIDs (@g.us), broadcasts, @lid identities (they hide the phone number), any
// other JID domain, and anything not 8 to 15 digits after that.
// Index 0 is the number, index 1 the reason.
std::variant<std::string, std::string> normalise_recipient(Api api, std::string_view contact);

// The HTTP call that sends `message` through `endpoint`, recipient normalised as above.
// Throws std::invalid_argument when `endpoint.api` is not a WhatsApp gateway, when the
// recipient is refused (call normalise_recipient first to have the reason as a value), when
// there is nothing to send (empty text and, on the Cloud API, no template), or when the
// Evolution instance or Cloud API phone number id is missing: these are the caller's bugs or
// configuration, not the provider's answer.
HttpCall build_send_call(const GatewayEndpoint& endpoint, const OutgoingText& message);

// Reads a 2xx answer to a send: the provider's id of the sent message (Evolution key.id,
// Cloud API messages[0].id; Whaticket gives none: nullopt), or, when the body is not what the
// provider sends on success (no id where one belongs, an error object, not JSON), a sentence
// saying so, quoting at most 200 characters of the body.
std::variant<std::optional<std::string>, std::string> parse_send_answer(Api api,
                                                                        const std::string& body);

}  // namespace recado::jobs::providers
