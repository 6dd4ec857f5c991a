// The simulator's webhook builders: every body they make is one recado's own decoder
// (decode_webhook) reads as the event described, and every signature or token they add is
// one recado's auth check (check_webhook_auth) lets through — and a wrong secret is not.
// Also parse_webhook_order, which reads POST /_sim/webhooks.
#include "src/sim_webhooks.hpp"

#include <gtest/gtest.h>

#include <string>

#include "src/time_format.hpp"
#include "src/webhook_auth.hpp"
#include "src/webhook_decode.hpp"

namespace recado {
namespace {

using json = nlohmann::json;
using std::chrono::seconds;

const Timestamp kNow{seconds{1767225600}};  // 2026-01-01T00:00:00Z

HttpRequest as_request(const BuiltWebhook& w) {
  HttpRequest r;
  r.method = "POST";
  r.path = "/webhooks/t1/x";
  for (auto [name, value] : w.headers) {
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers.emplace_back(name, value);
  }
  r.body = w.body;
  return r;
}

WebhookConfig config(Provider p, std::string token = "", std::string secret = "") {
  WebhookConfig c;
  c.provider = p;
  c.token = Secret{std::move(token), "config"};
  c.secret = Secret{std::move(secret), "config"};
  return c;
}

::testing::AssertionResult passes(const WebhookConfig& c, const BuiltWebhook& w) {
  auto failure = check_webhook_auth(c, as_request(w), "", kNow);
  if (!failure) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "refused " << failure->status << ": " << failure->reason;
}

std::vector<InboundEvent> decode(Provider p, const BuiltWebhook& w) {
  auto r = decode_webhook(p, w.body);
  if (auto* e = std::get_if<WebhookError>(&r)) {
    ADD_FAILURE() << "decode refused " << e->status << ": " << e->reason << "\n" << w.body;
    return {};
  }
  return std::get<DecodedWebhook>(r).events;
}

ChatWebhookSpec chat() {
  ChatWebhookSpec s;
  s.from = "5511987654321";
  s.name = "Ana";
  s.text = "Quero marcar";
  s.id = "3EB0AAA1";
  return s;
}

TEST(SimWebhooks, EvolutionMessageDecodesAndPassesTokenAndJwt) {
  const WebhookCredentials creds{"evo-token", "x-recado-token", "", ""};
  const BuiltWebhook w = build_evolution_webhook(chat(), creds, kNow);
  EXPECT_TRUE(passes(config(Provider::evolution, "evo-token"), w));
  EXPECT_FALSE(passes(config(Provider::evolution, "other-token"), w));
  const auto events = decode(Provider::evolution, w);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, InboundEvent::Type::message);
  EXPECT_EQ(events[0].message_id, "3EB0AAA1");
  EXPECT_EQ(events[0].sender, "5511987654321");
  EXPECT_EQ(events[0].conversation, "5511987654321@s.whatsapp.net");
  EXPECT_EQ(events[0].sender_name, "Ana");
  EXPECT_EQ(events[0].text, "Quero marcar");
  EXPECT_EQ(events[0].occurred_at, kNow);
  EXPECT_TRUE(events[0].wants_reply());

  WebhookConfig jwt = config(Provider::evolution);
  jwt.jwt_secret = Secret{"jwt-secret", "config"};
  EXPECT_TRUE(
      passes(jwt, build_evolution_webhook(chat(), {"", "x-recado-token", "", "jwt-secret"}, kNow)));
  EXPECT_FALSE(
      passes(jwt, build_evolution_webhook(chat(), {"", "x-recado-token", "", "wrong"}, kNow)));
}

TEST(SimWebhooks, EvolutionGroupFromMeAndStatus) {
  ChatWebhookSpec s = chat();
  s.group = "120363000000000001";
  auto events = decode(Provider::evolution, build_evolution_webhook(s, {}, kNow));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].chat, "group");
  EXPECT_EQ(events[0].sender, "5511987654321");
  EXPECT_FALSE(events[0].wants_reply());

  s = chat();
  s.from_me = true;
  events = decode(Provider::evolution, build_evolution_webhook(s, {}, kNow));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].from_me);

  s = chat();
  s.status = "READ";
  events = decode(Provider::evolution, build_evolution_webhook(s, {}, kNow));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, InboundEvent::Type::status);
  EXPECT_EQ(events[0].message_id, "3EB0AAA1");
  EXPECT_EQ(events[0].kind, "read");
}

TEST(SimWebhooks, WhaticketMessageDecodesAndPassesToken) {
  const BuiltWebhook w = build_whaticket_webhook(chat(), {"wt-token", "x-wt-token", "", ""}, kNow);
  WebhookConfig c = config(Provider::whaticket, "wt-token");
  c.token_header = "x-wt-token";
  EXPECT_TRUE(passes(c, w));
  const auto events = decode(Provider::whaticket, w);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].message_id, "3EB0AAA1");
  EXPECT_EQ(events[0].text, "Quero marcar");
  EXPECT_EQ(events[0].sender, "5511987654321");
}

TEST(SimWebhooks, CloudApiMessageAndStatusAreSigned) {
  ChatWebhookSpec s = chat();
  s.id = "wamid.ABC";
  const BuiltWebhook w = build_cloudapi_webhook(s, {"", "", "app-secret", ""}, kNow);
  EXPECT_TRUE(passes(config(Provider::cloudapi, "", "app-secret"), w));
  EXPECT_FALSE(passes(config(Provider::cloudapi, "", "another-secret"), w));
  auto events = decode(Provider::cloudapi, w);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].message_id, "wamid.ABC");
  EXPECT_EQ(events[0].sender, "5511987654321");
  EXPECT_EQ(events[0].sender_name, "Ana");
  EXPECT_EQ(events[0].text, "Quero marcar");
  EXPECT_EQ(events[0].kind, "text");
  EXPECT_EQ(events[0].occurred_at, kNow);

  s.status = "failed";
  s.error_code = 131047;
  events = decode(Provider::cloudapi, build_cloudapi_webhook(s, {"", "", "app-secret", ""}, kNow));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, InboundEvent::Type::status);
  EXPECT_EQ(events[0].kind, "failed");
  EXPECT_NE(events[0].detail_json.find("131047"), std::string::npos) << events[0].detail_json;
}

TEST(SimWebhooks, CalcomEventsDecodeAndAreSigned) {
  CalcomWebhookSpec s;
  s.uid = "bk-1";
  s.booking_id = 91;
  s.start = *parse_rfc3339("2026-01-05T13:00:00Z");
  s.phone = "5511987654321";
  const BuiltWebhook w = build_calcom_webhook(s, {"", "", "cal-secret", ""}, kNow);
  EXPECT_TRUE(passes(config(Provider::calcom, "", "cal-secret"), w));
  EXPECT_FALSE(passes(config(Provider::calcom, "", "other"), w));
  auto events = decode(Provider::calcom, w);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, InboundEvent::Type::booking);
  EXPECT_EQ(events[0].kind, "BOOKING_CREATED");
  EXPECT_EQ(events[0].message_id, "bk-1");
  const json detail = json::parse(events[0].detail_json);
  EXPECT_EQ(detail["booking_id"], 91);
  EXPECT_EQ(detail["startTime"], "2026-01-05T13:00:00.000Z");
  EXPECT_EQ(detail["endTime"], "2026-01-05T13:30:00.000Z");

  // Without a secret: the literal Cal.com sends, which a configured secret refuses.
  const BuiltWebhook unsigned_w = build_calcom_webhook(s, {}, kNow);
  EXPECT_EQ(as_request(unsigned_w).header("x-cal-signature-256"), "no-secret-provided");
  EXPECT_FALSE(passes(config(Provider::calcom, "", "cal-secret"), unsigned_w));

  s.event = "BOOKING_RESCHEDULED";
  s.uid = "bk-2";
  s.reschedule_uid = "bk-1";
  events = decode(Provider::calcom, build_calcom_webhook(s, {}, kNow));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].dedup_key, "BOOKING_RESCHEDULED:bk-2:bk-1");

  s.event = "BOOKING_CANCELLED";
  s.cancellation_reason = "imprevisto";
  events = decode(Provider::calcom, build_calcom_webhook(s, {}, kNow));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(json::parse(events[0].detail_json)["cancellationReason"], "imprevisto");

  s.event = "MEETING_STARTED";  // flat body
  events = decode(Provider::calcom, build_calcom_webhook(s, {}, kNow));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, "MEETING_STARTED");
  EXPECT_EQ(json::parse(events[0].detail_json)["booking_id"], 91);
}

TEST(SimWebhooks, ChatwootEventsDecodeAndAreSigned) {
  ChatwootWebhookSpec s;
  s.conversation_id = 12;
  s.phone = "5511987654321";
  const BuiltWebhook opened = build_chatwoot_webhook(s, {"", "", "cw-secret", ""}, kNow);
  EXPECT_TRUE(passes(config(Provider::chatwoot, "", "cw-secret"), opened));
  EXPECT_FALSE(passes(config(Provider::chatwoot, "", "nope"), opened));
  auto events = decode(Provider::chatwoot, opened);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, InboundEvent::Type::handoff);
  EXPECT_EQ(events[0].kind, "opened");
  EXPECT_EQ(events[0].conversation, "5511987654321");

  s.event = "conversation_updated";
  events = decode(Provider::chatwoot, build_chatwoot_webhook(s, {}, kNow));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, "assigned");

  s.event = "message_created";
  s.text = "Olá, sou a Joana";
  s.message_id = 555;
  const BuiltWebhook tokened =
      build_chatwoot_webhook(s, {"cw-token", "x-recado-token", "", ""}, kNow);
  EXPECT_TRUE(passes(config(Provider::chatwoot, "cw-token"), tokened));
  events = decode(Provider::chatwoot, tokened);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, "agent_message");
  EXPECT_EQ(events[0].message_id, "555");
}

TEST(SimWebhooks, OrdersAreReadWithDefaultsAndRefusedWithReasons) {
  auto order = parse_webhook_order(
      json::parse(R"({"url":"http://127.0.0.1:8080/webhooks/t1/evolution","provider":"evolution",
      "token":"tk","message":{"from":"+55 11 98765-4321","text":"Oi"},"repeat":3})"),
      "abc123");
  ASSERT_TRUE(std::holds_alternative<WebhookOrder>(order)) << std::get<std::string>(order);
  const WebhookOrder& o = std::get<WebhookOrder>(order);
  EXPECT_EQ(o.repeat, 3);
  EXPECT_FALSE(o.concurrent);
  const auto& spec = std::get<ChatWebhookSpec>(o.event);
  EXPECT_EQ(spec.from, "5511987654321");
  EXPECT_EQ(spec.id, "3EB0ABC123");  // from the fresh id
  const auto events = decode(Provider::evolution, build_webhook(o, kNow));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].text, "Oi");

  auto reason = [](const std::string& text) {
    auto r = parse_webhook_order(json::parse(text), "x");
    return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : std::string{};
  };
  EXPECT_NE(reason(R"({"provider":"evolution","message":{"from":"1","text":"x"}})").find("url"),
            std::string::npos);
  EXPECT_NE(reason(R"({"url":"ftp://x","provider":"evolution","message":{"from":"1","text":"x"}})")
                .find("url"),
            std::string::npos);
  EXPECT_NE(reason(R"({"url":"http://x","provider":"telegram","message":{}})").find("provider"),
            std::string::npos);
  EXPECT_NE(reason(R"({"url":"http://x","provider":"evolution"})").find("message"),
            std::string::npos);
  EXPECT_NE(reason(R"({"url":"http://x","provider":"evolution","message":{"text":"x"}})")
                .find("message.from"),
            std::string::npos);
  EXPECT_NE(
      reason(R"({"url":"http://x","provider":"evolution","message":{"from":"abc","text":"x"}})")
          .find("message.from"),
      std::string::npos);
  EXPECT_NE(
      reason(
          R"({"url":"http://x","provider":"evolution","repeat":0,"message":{"from":"1","text":"x"}})")
          .find("repeat"),
      std::string::npos);
  EXPECT_NE(
      reason(
          R"({"url":"http://x","provider":"evolution","message":{"from":"1","text":"x","colour":1}})")
          .find("colour"),
      std::string::npos);
  EXPECT_NE(
      reason(
          R"({"url":"http://x","provider":"cloudapi","message":{"from":"1","text":"x","group":"g"}})")
          .find("group"),
      std::string::npos);
  EXPECT_NE(reason(R"({"url":"http://x","provider":"calcom","message":{"uid":"u"}})")
                .find("message.start"),
            std::string::npos);
  EXPECT_NE(
      reason(R"({"url":"http://x","provider":"chatwoot","message":{"event":"typing","phone":"1"}})")
          .find("event"),
      std::string::npos);
  EXPECT_NE(
      reason(
          R"({"url":"http://x","provider":"whaticket","jwt_secret":"s","message":{"from":"1","text":"x"}})")
          .find("jwt_secret"),
      std::string::npos);
}

}  // namespace
}  // namespace recado
