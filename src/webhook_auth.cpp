#include "src/webhook_auth.hpp"

#include <charconv>

#include "src/hmac.hpp"
#include "src/secure_compare.hpp"

namespace recado {

namespace {

std::optional<AuthFailure> check_token(const WebhookConfig& c, const HttpRequest& r, std::string_view path_token) {
  std::string_view given = r.header(c.token_header);
  if (given.empty()) given = path_token;
  if (given.empty())
    return AuthFailure{401, "no token: send it in the " + c.token_header + " header or as the last path segment"};
  if (!secure_equals(given, c.token.value)) return AuthFailure{403, "wrong token"};
  return std::nullopt;
}

// `header` holding the hex HMAC of `signed_text`, after `prefix`.
std::optional<AuthFailure> check_signature(const HttpRequest& r, std::string_view header, std::string_view prefix,
                                           const Secret& secret, std::string_view signed_text) {
  std::string_view given = r.header(header);
  if (given.empty()) return AuthFailure{401, "no " + std::string(header) + " header"};
  if (given.substr(0, prefix.size()) != prefix)
    return AuthFailure{403, std::string(header) + " must start with " + std::string(prefix)};
  given.remove_prefix(prefix.size());
  if (!verify_hmac_sha256_hex(secret.value, signed_text, given))
    return AuthFailure{403, std::string(header) + " does not match the body"};
  return std::nullopt;
}

std::optional<AuthFailure> check_evolution(const WebhookConfig& c, const HttpRequest& r, std::string_view path_token,
                                           Timestamp now) {
  constexpr std::string_view kBearer = "Bearer ";
  const std::string_view auth = r.header("authorization");
  if (!c.jwt_secret.empty() && auth.substr(0, kBearer.size()) == kBearer) {
    if (auto problem = jwt_hs256_problem(auth.substr(kBearer.size()), c.jwt_secret.value, now))
      return AuthFailure{403, *problem};
    return std::nullopt;
  }
  if (c.token.empty()) return AuthFailure{401, "no JWT in Authorization: Bearer"};
  return check_token(c, r, path_token);
}

// With a secret configured the signature is always checked; allow_unsigned only lets in
// webhooks when no secret is configured at all.
std::optional<AuthFailure> check_calcom(const WebhookConfig& c, const HttpRequest& r) {
  if (!c.secret.empty()) {
    if (r.header("x-cal-signature-256") == "no-secret-provided")
      return AuthFailure{403, "the Cal.com webhook has no secret set (no-secret-provided)"};
    return check_signature(r, "x-cal-signature-256", "", c.secret, r.body);
  }
  if (c.allow_unsigned) return std::nullopt;
  return AuthFailure{403, "no Cal.com secret is configured and allow_unsigned is off"};
}

std::optional<AuthFailure> check_chatwoot(const WebhookConfig& c, const HttpRequest& r, std::string_view path_token,
                                          Timestamp now) {
  if (c.secret.empty()) return check_token(c, r, path_token);
  const std::string_view stamp = r.header("x-chatwoot-timestamp");
  if (stamp.empty()) return AuthFailure{401, "no x-chatwoot-timestamp header"};
  int64_t seconds = 0;
  auto [end, ec] = std::from_chars(stamp.data(), stamp.data() + stamp.size(), seconds);
  if (ec != std::errc{} || end != stamp.data() + stamp.size() || seconds < 0 || seconds > (int64_t{1} << 36))
    return AuthFailure{403, "x-chatwoot-timestamp is not unix seconds"};
  const Timestamp sent{std::chrono::seconds{seconds}};
  std::string signed_text;
  signed_text.reserve(stamp.size() + 1 + r.body.size());
  signed_text.append(stamp).append(".").append(r.body);
  if (auto failure = check_signature(r, "x-chatwoot-signature", "sha256=", c.secret, signed_text)) return failure;
  if (sent < now - kChatwootReplayWindow || sent > now + kChatwootReplayWindow)
    return AuthFailure{403, "x-chatwoot-timestamp is more than 5 minutes away (a replay?)"};
  return std::nullopt;
}

}  // namespace

std::optional<AuthFailure> check_webhook_auth(const WebhookConfig& c, const HttpRequest& r,
                                              std::string_view path_token, Timestamp now) {
  switch (c.provider) {
    case Provider::evolution: return check_evolution(c, r, path_token, now);
    case Provider::whaticket: return check_token(c, r, path_token);
    case Provider::cloudapi: return check_signature(r, "x-hub-signature-256", "sha256=", c.secret, r.body);
    case Provider::calcom: return check_calcom(c, r);
    case Provider::chatwoot: return check_chatwoot(c, r, path_token, now);
  }
  return AuthFailure{403, "unknown provider"};
}

}  // namespace recado
