#pragma once
// Who may post a tenant's webhooks: each provider's check, from its WebhookConfig.
//  - HMAC-SHA256 over the exact bytes received (Cloud API X-Hub-Signature-256, Cal.com
//    X-Cal-Signature-256, Chatwoot X-Chatwoot-Signature over "{timestamp}.{body}");
//  - a shared token, in a header or as the last path segment (Evolution, Whaticket, Chatwoot
//    when unsigned);
//  - an HS256 JWT in Authorization: Bearer (Evolution).
// Secrets are compared in constant time. Pure; safe from any thread.
#include <optional>
#include <string>
#include <string_view>

#include "src/clock.hpp"
#include "src/config.hpp"
#include "src/http_request_parser.hpp"

namespace recado {

struct AuthFailure {
  int status = 401;    // 401: no credentials; 403: wrong ones
  std::string reason;  // for the sender and the log; never holds a secret
};

// nullopt when the request may pass. `path_token` is the segment after the provider in
// /webhooks/{tenant}/{provider}/{token}, or "".
std::optional<AuthFailure> check_webhook_auth(const WebhookConfig& config, const HttpRequest& request,
                                              std::string_view path_token, Timestamp now);

// How far a signed Chatwoot timestamp may be from now.
inline constexpr Duration kChatwootReplayWindow = std::chrono::minutes{5};

}  // namespace recado
