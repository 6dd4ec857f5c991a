// check_webhook_auth: each provider's way of proving a webhook is genuine, and the answer
// (401 no credentials, 403 wrong ones) when it is not.
#include "src/webhook_auth.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "src/hmac.hpp"

namespace recado {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const Timestamp kNow{seconds{1767225600}};
const std::string kBody = R"({"event":"messages.upsert","instance":"clinic1","data":{}})";

HttpRequest post(std::vector<std::pair<std::string, std::string>> headers,
                 std::string body = kBody) {
  HttpRequest r;
  r.method = "POST";
  r.path = "/webhooks/clinic1/x";
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

Secret secret(std::string value) {
  return Secret{std::move(value), "config"};
}

WebhookConfig config_for(Provider provider) {
  WebhookConfig c;
  c.provider = provider;
  return c;
}

// Whether the request may pass; the failure message gives the reason it may not.
::testing::AssertionResult passes(const std::optional<AuthFailure>& failure) {
  if (!failure) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "refused with " << failure->status << ": " << failure->reason;
}

// The failure's status, or 0 when the request passed.
int status_of(const std::optional<AuthFailure>& failure) {
  return failure ? failure->status : 0;
}

// Whether no reason names `secret_value`: reasons go back to the sender and into the log.
void expect_reason_hides(const std::optional<AuthFailure>& failure,
                         const std::string& secret_value) {
  if (failure) {
    EXPECT_FALSE(failure->reason.empty());
    EXPECT_EQ(failure->reason.find(secret_value), std::string::npos) << failure->reason;
  }
}

// --- WhatsApp Cloud API: X-Hub-Signature-256: sha256=<hex> ------------------------------

class CloudApiAuth : public ::testing::Test {
 protected:
  CloudApiAuth() : c_(config_for(Provider::cloudapi)) {
    c_.secret = secret("meta-app-secret-1234");
  }
  std::optional<AuthFailure> check(std::vector<std::pair<std::string, std::string>> headers) {
    return check_webhook_auth(c_, post(std::move(headers)), "", kNow);
  }
  WebhookConfig c_;
};

TEST_F(CloudApiAuth, GoodSignaturePasses) {
  EXPECT_TRUE(passes(check(
      {{"x-hub-signature-256", "sha256=" + hmac_sha256_hex("meta-app-secret-1234", kBody)}})));
}

TEST_F(CloudApiAuth, MissingHeaderIs401) {
  const auto f = check({{"content-type", "application/json"}});
  EXPECT_EQ(status_of(f), 401);
  expect_reason_hides(f, "meta-app-secret-1234");
}

TEST_F(CloudApiAuth, WrongSignatureIs403) {
  // Signed under another secret, and the right signature over other bytes.
  EXPECT_EQ(
      status_of(check({{"x-hub-signature-256", "sha256=" + hmac_sha256_hex("other", kBody)}})),
      403);
  const auto f = check(
      {{"x-hub-signature-256", "sha256=" + hmac_sha256_hex("meta-app-secret-1234", kBody + " ")}});
  EXPECT_EQ(status_of(f), 403);
  expect_reason_hides(f, "meta-app-secret-1234");
}

TEST_F(CloudApiAuth, SignatureWithoutThePrefixIs403) {
  const auto f = check({{"x-hub-signature-256", hmac_sha256_hex("meta-app-secret-1234", kBody)}});
  EXPECT_EQ(status_of(f), 403);
  ASSERT_TRUE(f.has_value());
  EXPECT_NE(f->reason.find("sha256="), std::string::npos) << f->reason;  // says what is missing
  EXPECT_EQ(status_of(check({{"x-hub-signature-256",
                              "sha1=" + hmac_sha256_hex("meta-app-secret-1234", kBody)}})),
            403);
}

TEST_F(CloudApiAuth, SignatureOverTheExactBytes) {
  // Re-serialised JSON is other bytes: the signature must be over what arrived.
  const std::string reformatted =
      R"({"event": "messages.upsert", "instance": "clinic1", "data": {}})";
  const auto f = check_webhook_auth(
      c_,
      post({{"x-hub-signature-256", "sha256=" + hmac_sha256_hex("meta-app-secret-1234", kBody)}},
           reformatted),
      "", kNow);
  EXPECT_EQ(status_of(f), 403);
}

// --- Cal.com: X-Cal-Signature-256: <hex>, no prefix ---------------------------------------

TEST(CalcomAuth, HexWithoutPrefixPasses) {
  WebhookConfig c = config_for(Provider::calcom);
  c.secret = secret("cal-webhook-secret");
  EXPECT_TRUE(passes(check_webhook_auth(
      c, post({{"x-cal-signature-256", hmac_sha256_hex("cal-webhook-secret", kBody)}}), "", kNow)));
}

TEST(CalcomAuth, WrongOrMissingSignatureIsRefused) {
  WebhookConfig c = config_for(Provider::calcom);
  c.secret = secret("cal-webhook-secret");
  EXPECT_EQ(status_of(check_webhook_auth(
                c, post({{"x-cal-signature-256", hmac_sha256_hex("another", kBody)}}), "", kNow)),
            403);
  EXPECT_EQ(status_of(check_webhook_auth(c, post({}), "", kNow)), 401);
}

TEST(CalcomAuth, NoSecretProvidedIsRefused) {
  WebhookConfig c = config_for(Provider::calcom);
  c.secret = secret("cal-webhook-secret");
  const auto f =
      check_webhook_auth(c, post({{"x-cal-signature-256", "no-secret-provided"}}), "", kNow);
  EXPECT_EQ(status_of(f), 403);
  expect_reason_hides(f, "cal-webhook-secret");
  // Without a secret configured, still refused.
  WebhookConfig none = config_for(Provider::calcom);
  EXPECT_EQ(status_of(check_webhook_auth(
                none, post({{"x-cal-signature-256", "no-secret-provided"}}), "", kNow)),
            403);
  EXPECT_EQ(status_of(check_webhook_auth(none, post({}), "", kNow)), 403);
}

TEST(CalcomAuth, NoSecretProvidedPassesWhenUnsignedIsAllowed) {
  WebhookConfig c = config_for(Provider::calcom);
  c.allow_unsigned = true;
  EXPECT_TRUE(passes(
      check_webhook_auth(c, post({{"x-cal-signature-256", "no-secret-provided"}}), "", kNow)));
  EXPECT_TRUE(passes(check_webhook_auth(c, post({}), "", kNow)));
}

// A secret that is configured is there to be checked; allow_unsigned is meant for Cal.com
// webhooks that have no secret. Today a tenant with both set accepts any body whose
// X-Cal-Signature-256 is the literal "no-secret-provided" (src/webhook_auth.cpp:49,
// check_calcom, first `if`), so the secret protects nothing. Disabled: a question for the
// lead (config.cpp accepts both keys together), not yet a decided bug.
TEST(CalcomAuth, ConfiguredSecretIsCheckedEvenWhenUnsignedIsAllowed) {
  WebhookConfig c = config_for(Provider::calcom);
  c.secret = secret("cal-webhook-secret");
  c.allow_unsigned = true;
  EXPECT_EQ(status_of(check_webhook_auth(c, post({{"x-cal-signature-256", "no-secret-provided"}}),
                                         "", kNow)),
            403);
}

// --- Chatwoot: X-Chatwoot-Signature: sha256=<hex of "{ts}.{body}"> -----------------------

class ChatwootAuth : public ::testing::Test {
 protected:
  ChatwootAuth() : c_(config_for(Provider::chatwoot)) { c_.secret = secret("chatwoot-hmac-key"); }

  static std::string stamp(Timestamp t) {
    return std::to_string(std::chrono::duration_cast<seconds>(t.time_since_epoch()).count());
  }
  static std::string signature(const std::string& ts, const std::string& body = kBody) {
    return "sha256=" + hmac_sha256_hex("chatwoot-hmac-key", ts + "." + body);
  }
  std::optional<AuthFailure> check(std::vector<std::pair<std::string, std::string>> headers) {
    return check_webhook_auth(c_, post(std::move(headers)), "", kNow);
  }
  WebhookConfig c_;
};

TEST_F(ChatwootAuth, SignatureOverTimestampDotBodyPasses) {
  const std::string ts = stamp(kNow);
  EXPECT_TRUE(
      passes(check({{"x-chatwoot-timestamp", ts}, {"x-chatwoot-signature", signature(ts)}})));
  // A little clock skew either way is fine.
  const std::string early = stamp(kNow - minutes{4});
  EXPECT_TRUE(
      passes(check({{"x-chatwoot-timestamp", early}, {"x-chatwoot-signature", signature(early)}})));
  const std::string late = stamp(kNow + minutes{4});
  EXPECT_TRUE(
      passes(check({{"x-chatwoot-timestamp", late}, {"x-chatwoot-signature", signature(late)}})));
}

TEST_F(ChatwootAuth, SignatureOverTheBodyAloneIs403) {
  const std::string ts = stamp(kNow);
  EXPECT_EQ(status_of(check({{"x-chatwoot-timestamp", ts},
                             {"x-chatwoot-signature",
                              "sha256=" + hmac_sha256_hex("chatwoot-hmac-key", kBody)}})),
            403);
}

TEST_F(ChatwootAuth, StaleTimestampIs403) {
  // Correctly signed six minutes ago: a replay.
  const std::string old = stamp(kNow - minutes{6});
  const auto f = check({{"x-chatwoot-timestamp", old}, {"x-chatwoot-signature", signature(old)}});
  EXPECT_EQ(status_of(f), 403);
  expect_reason_hides(f, "chatwoot-hmac-key");
  const std::string future = stamp(kNow + minutes{6});
  EXPECT_EQ(status_of(check(
                {{"x-chatwoot-timestamp", future}, {"x-chatwoot-signature", signature(future)}})),
            403);
}

TEST_F(ChatwootAuth, TimestampChangedAfterSigningIs403) {
  const std::string ts = stamp(kNow);
  EXPECT_EQ(status_of(check({{"x-chatwoot-timestamp", stamp(kNow + seconds{1})},
                             {"x-chatwoot-signature", signature(ts)}})),
            403);
}

TEST_F(ChatwootAuth, MissingTimestampIs401) {
  EXPECT_EQ(status_of(check({{"x-chatwoot-signature", signature(stamp(kNow))}})), 401);
}

TEST_F(ChatwootAuth, MissingSignatureIs401) {
  EXPECT_EQ(status_of(check({{"x-chatwoot-timestamp", stamp(kNow)}})), 401);
}

TEST_F(ChatwootAuth, TimestampThatIsNotUnixSecondsIs403) {
  for (const std::string ts : {"yesterday", "1767225600.5", "-1", "99999999999999999999"}) {
    EXPECT_EQ(
        status_of(check({{"x-chatwoot-timestamp", ts}, {"x-chatwoot-signature", signature(ts)}})),
        403)
        << ts;
  }
}

TEST(ChatwootTokenAuth, WithoutASecretATokenIsChecked) {
  WebhookConfig c = config_for(Provider::chatwoot);
  c.token = secret("cw-token-77");
  EXPECT_TRUE(passes(check_webhook_auth(c, post({{"x-recado-token", "cw-token-77"}}), "", kNow)));
  EXPECT_TRUE(passes(check_webhook_auth(c, post({}), "cw-token-77", kNow)));
  EXPECT_EQ(status_of(check_webhook_auth(c, post({}), "", kNow)), 401);
  EXPECT_EQ(status_of(check_webhook_auth(c, post({{"x-recado-token", "cw-token-78"}}), "", kNow)),
            403);
  // Signature headers are no substitute for the token in this mode.
  EXPECT_EQ(
      status_of(check_webhook_auth(
          c, post({{"x-chatwoot-timestamp", "1767225600"}, {"x-chatwoot-signature", "sha256=00"}}),
          "", kNow)),
      401);
}

// --- Evolution: a shared token, or an HS256 JWT ------------------------------------------

class EvolutionAuth : public ::testing::Test {
 protected:
  EvolutionAuth() : c_(config_for(Provider::evolution)) {
    c_.token = secret("evo-shared-token");
    c_.token_header = "apikey-recado";
  }
  WebhookConfig c_;
};

TEST_F(EvolutionAuth, TokenInTheConfiguredHeaderPasses) {
  EXPECT_TRUE(
      passes(check_webhook_auth(c_, post({{"apikey-recado", "evo-shared-token"}}), "", kNow)));
}

TEST_F(EvolutionAuth, TokenInAnotherHeaderDoesNotCount) {
  EXPECT_EQ(
      status_of(check_webhook_auth(c_, post({{"x-recado-token", "evo-shared-token"}}), "", kNow)),
      401);
}

TEST_F(EvolutionAuth, TokenInThePathPasses) {
  EXPECT_TRUE(passes(check_webhook_auth(c_, post({}), "evo-shared-token", kNow)));
}

TEST_F(EvolutionAuth, MissingTokenIs401) {
  const auto f = check_webhook_auth(c_, post({}), "", kNow);
  EXPECT_EQ(status_of(f), 401);
  expect_reason_hides(f, "evo-shared-token");
}

TEST_F(EvolutionAuth, WrongTokenIs403) {
  auto f = check_webhook_auth(c_, post({{"apikey-recado", "evo-shared-tokeN"}}), "", kNow);
  EXPECT_EQ(status_of(f), 403);
  expect_reason_hides(f, "evo-shared-token");
  EXPECT_EQ(status_of(check_webhook_auth(c_, post({}), "evo-shared", kNow)), 403);
  EXPECT_EQ(status_of(check_webhook_auth(c_, post({}), "evo-shared-token-and-more", kNow)), 403);
}

std::string evolution_jwt(const std::string& jwt_secret, Timestamp iat) {
  const auto s = [](Timestamp t) {
    return std::to_string(std::chrono::duration_cast<seconds>(t.time_since_epoch()).count());
  };
  const std::string input =
      base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." +
      base64url_encode(R"({"iat":)" + s(iat) + R"(,"exp":)" + s(iat + seconds{600}) +
                       R"(,"app":"evolution","action":"webhook"})");
  return input + "." + base64url_encode(hmac_sha256(jwt_secret, input));
}

TEST(EvolutionJwtAuth, BearerJwtPasses) {
  WebhookConfig c = config_for(Provider::evolution);
  c.jwt_secret = secret("evo-jwt-key");
  EXPECT_TRUE(passes(check_webhook_auth(
      c, post({{"authorization", "Bearer " + evolution_jwt("evo-jwt-key", kNow)}}), "", kNow)));
}

TEST(EvolutionJwtAuth, ExpiredJwtIs403) {
  WebhookConfig c = config_for(Provider::evolution);
  c.jwt_secret = secret("evo-jwt-key");
  const auto f = check_webhook_auth(
      c, post({{"authorization", "Bearer " + evolution_jwt("evo-jwt-key", kNow - minutes{30})}}),
      "", kNow);
  EXPECT_EQ(status_of(f), 403);
  ASSERT_TRUE(f.has_value());
  EXPECT_NE(f->reason.find("expired"), std::string::npos) << f->reason;
  expect_reason_hides(f, "evo-jwt-key");
}

TEST(EvolutionJwtAuth, JwtUnderAnotherSecretIs403) {
  WebhookConfig c = config_for(Provider::evolution);
  c.jwt_secret = secret("evo-jwt-key");
  EXPECT_EQ(
      status_of(check_webhook_auth(
          c, post({{"authorization", "Bearer " + evolution_jwt("not-the-key", kNow)}}), "", kNow)),
      403);
}

TEST(EvolutionJwtAuth, NoJwtAndNoTokenConfiguredIs401) {
  WebhookConfig c = config_for(Provider::evolution);
  c.jwt_secret = secret("evo-jwt-key");
  EXPECT_EQ(status_of(check_webhook_auth(c, post({}), "", kNow)), 401);
  // A path segment is not a JWT.
  EXPECT_EQ(status_of(check_webhook_auth(c, post({}), evolution_jwt("evo-jwt-key", kNow), kNow)),
            401);
}

TEST(EvolutionJwtAuth, TokenStillWorksBesideAJwtSecret) {
  WebhookConfig c = config_for(Provider::evolution);
  c.jwt_secret = secret("evo-jwt-key");
  c.token = secret("evo-shared-token");
  EXPECT_TRUE(
      passes(check_webhook_auth(c, post({{"x-recado-token", "evo-shared-token"}}), "", kNow)));
  EXPECT_TRUE(passes(check_webhook_auth(
      c, post({{"authorization", "Bearer " + evolution_jwt("evo-jwt-key", kNow)}}), "", kNow)));
}

// --- Whaticket: a shared token ---------------------------------------------------------------

TEST(WhaticketAuth, TokenInHeaderOrPath) {
  WebhookConfig c = config_for(Provider::whaticket);
  c.token = secret("wt-9f8e7d");
  EXPECT_TRUE(passes(check_webhook_auth(c, post({{"x-recado-token", "wt-9f8e7d"}}), "", kNow)));
  EXPECT_TRUE(passes(check_webhook_auth(c, post({}), "wt-9f8e7d", kNow)));
  EXPECT_EQ(status_of(check_webhook_auth(c, post({}), "", kNow)), 401);
  EXPECT_EQ(status_of(check_webhook_auth(c, post({{"x-recado-token", "wt-9f8e7e"}}), "", kNow)),
            403);
  EXPECT_EQ(status_of(check_webhook_auth(c, post({}), "wt-9f8e7", kNow)), 403);
}

TEST(WhaticketAuth, EmptyConfiguredTokenLetsNothingIn) {
  // Defence in depth: config refuses this, but the check must not pass an empty token.
  WebhookConfig c = config_for(Provider::whaticket);
  EXPECT_NE(status_of(check_webhook_auth(c, post({}), "", kNow)), 0);
  EXPECT_NE(status_of(check_webhook_auth(c, post({{"x-recado-token", "anything"}}), "", kNow)), 0);
}

}  // namespace
}  // namespace recado
