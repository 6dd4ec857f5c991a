// decode_webhook: each provider's body, as the real services send it (shared/protocols.md),
// into the events recado keeps; and the bodies it must refuse, without echoing them.
#include "src/webhook_decode.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace recado {
namespace {

using json = nlohmann::json;
using std::chrono::seconds;
using Type = InboundEvent::Type;

// Whether `text` holds `part`; the failure message shows both.
::testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

// The decoded webhook; fails the test when decoding refused the body.
DecodedWebhook decoded(Provider provider, const std::string& body) {
  auto result = decode_webhook(provider, body);
  if (auto* error = std::get_if<WebhookError>(&result)) {
    ADD_FAILURE() << "refused with " << error->status << ": " << error->reason
                  << "\nbody: " << body;
    return {};
  }
  return std::get<DecodedWebhook>(std::move(result));
}

// The one event a body holds; fails the test when there is not exactly one.
InboundEvent only_event(Provider provider, const std::string& body) {
  DecodedWebhook d = decoded(provider, body);
  if (d.events.size() != 1) {
    ADD_FAILURE() << d.events.size() << " events (ignored: '" << d.ignored << "') for " << body;
    return {};
  }
  return d.events[0];
}

// The refusal; fails the test when the body decoded.
WebhookError refused(Provider provider, const std::string& body) {
  auto result = decode_webhook(provider, body);
  if (auto* error = std::get_if<WebhookError>(&result)) return *error;
  ADD_FAILURE() << "decoded, not refused: " << body;
  return {0, ""};
}

const Timestamp kJan1{seconds{1767225600}};  // 2026-01-01T00:00:00Z

// --- Evolution API -----------------------------------------------------------------------

// messages.upsert for a text from a contact in a direct chat, as Evolution v2 posts it.
json evolution_upsert() {
  return json::parse(R"({
    "event": "messages.upsert",
    "instance": "clinic1",
    "data": {
      "key": {"remoteJid": "5511987654321@s.whatsapp.net", "fromMe": false,
              "id": "3A5581F0C2D4E6B8A0C2"},
      "pushName": "Ana Souza",
      "status": "DELIVERY_ACK",
      "message": {"conversation": "Oi, quero marcar uma consulta",
                  "messageContextInfo": {"deviceListMetadataVersion": 2}},
      "messageType": "conversation",
      "messageTimestamp": 1767225600,
      "instanceId": "6f1c2d7e-0b4a-4c3e-9d8f-1a2b3c4d5e6f",
      "source": "android"
    },
    "destination": "https://recado.example/webhooks/clinic1/evolution",
    "date_time": "2025-12-31T21:00:00.000Z",
    "sender": "5511999990000@s.whatsapp.net",
    "server_url": "http://evolution:8080",
    "apikey": "B6D711FCDE4D4FD5936544120E713976"
  })");
}

TEST(DecodeEvolution, TextMessageFromAContact) {
  const InboundEvent e = only_event(Provider::evolution, evolution_upsert().dump());
  EXPECT_EQ(e.type, Type::message);
  EXPECT_EQ(e.dedup_key, "msg:clinic1:3A5581F0C2D4E6B8A0C2");
  EXPECT_EQ(e.message_id, "3A5581F0C2D4E6B8A0C2");
  EXPECT_EQ(e.conversation, "5511987654321@s.whatsapp.net");
  EXPECT_EQ(e.sender, "5511987654321");
  EXPECT_EQ(e.sender_name, "Ana Souza");
  EXPECT_EQ(e.kind, "text");
  EXPECT_EQ(e.text, "Oi, quero marcar uma consulta");
  EXPECT_EQ(e.occurred_at, kJan1);
  EXPECT_FALSE(e.from_me);
  EXPECT_EQ(e.chat, "direct");
  EXPECT_TRUE(e.wants_reply());
  EXPECT_FALSE(e.wants_sync());
}

TEST(DecodeEvolution, DedupKeyIsScopedByInstance) {
  json other = evolution_upsert();
  other["instance"] = "clinic2";
  EXPECT_EQ(only_event(Provider::evolution, other.dump()).dedup_key,
            "msg:clinic2:3A5581F0C2D4E6B8A0C2");
}

TEST(DecodeEvolution, TimestampAsAStringOfDigits) {
  json body = evolution_upsert();
  body["data"]["messageTimestamp"] = "1767225600";
  EXPECT_EQ(only_event(Provider::evolution, body.dump()).occurred_at, kJan1);
}

TEST(DecodeEvolution, ExtendedTextMessageIsText) {
  json body = evolution_upsert();
  body["data"]["message"] = json::parse(R"({"extendedTextMessage": {
      "text": "Olha esse link https://clinic.example/precos",
      "contextInfo": {"stanzaId": "3A11", "participant": "5511999990000@s.whatsapp.net"}}})");
  body["data"]["messageType"] = "extendedTextMessage";
  const InboundEvent e = only_event(Provider::evolution, body.dump());
  EXPECT_EQ(e.kind, "text");
  EXPECT_EQ(e.text, "Olha esse link https://clinic.example/precos");
  EXPECT_TRUE(e.wants_reply());
}

TEST(DecodeEvolution, ImageWithCaption) {
  json body = evolution_upsert();
  body["data"]["message"] = json::parse(R"({"imageMessage": {
      "url": "https://mmg.whatsapp.net/o1/v/t62.7118-24/abc.enc",
      "mimetype": "image/jpeg", "caption": "Meu exame de sangue",
      "fileLength": "48213", "height": 1280, "width": 960}})");
  body["data"]["messageType"] = "imageMessage";
  const InboundEvent e = only_event(Provider::evolution, body.dump());
  EXPECT_EQ(e.kind, "image");
  EXPECT_EQ(e.text, "Meu exame de sangue");
  EXPECT_TRUE(e.wants_reply());
}

TEST(DecodeEvolution, ImageWithoutCaptionHasNoText) {
  json body = evolution_upsert();
  body["data"]["message"] = json::parse(R"({"imageMessage": {"mimetype": "image/jpeg"}})");
  const InboundEvent e = only_event(Provider::evolution, body.dump());
  EXPECT_EQ(e.kind, "image");
  EXPECT_EQ(e.text, "");
}

TEST(DecodeEvolution, FromMeIsRecordedButNotAnswered) {
  json body = evolution_upsert();
  body["data"]["key"]["fromMe"] = true;
  const InboundEvent e = only_event(Provider::evolution, body.dump());
  EXPECT_TRUE(e.from_me);
  EXPECT_EQ(e.type, Type::message);
  EXPECT_FALSE(e.wants_reply());
}

TEST(DecodeEvolution, GroupMessageComesFromItsParticipant) {
  json body = evolution_upsert();
  body["data"]["key"] = json::parse(R"({"remoteJid": "120363025246125486@g.us", "fromMe": false,
      "id": "3A99", "participant": "5511912345678@s.whatsapp.net"})");
  const InboundEvent e = only_event(Provider::evolution, body.dump());
  EXPECT_EQ(e.chat, "group");
  EXPECT_EQ(e.conversation, "120363025246125486@g.us");
  EXPECT_EQ(e.sender, "5511912345678");
  EXPECT_FALSE(e.wants_reply());
}

TEST(DecodeEvolution, DeviceSuffixIsNotPartOfThePhone) {
  json body = evolution_upsert();
  body["data"]["key"] = json::parse(R"({"remoteJid": "120363025246125486@g.us", "fromMe": false,
      "id": "3A99", "participant": "5511912345678:12@s.whatsapp.net"})");
  EXPECT_EQ(only_event(Provider::evolution, body.dump()).sender, "5511912345678");
}

TEST(DecodeEvolution, StatusBroadcastIsNotAnswered) {
  json body = evolution_upsert();
  body["data"]["key"] = json::parse(R"({"remoteJid": "status@broadcast", "fromMe": false,
      "id": "3A77", "participant": "5511912345678@s.whatsapp.net"})");
  const InboundEvent e = only_event(Provider::evolution, body.dump());
  EXPECT_EQ(e.chat, "broadcast");
  EXPECT_FALSE(e.wants_reply());
}

TEST(DecodeEvolution, LidSenderTakesThePhoneFromRemoteJidAlt) {
  json body = evolution_upsert();
  body["data"]["key"] = json::parse(R"({"remoteJid": "187654321098765@lid",
      "remoteJidAlt": "5511987654321@s.whatsapp.net", "fromMe": false, "id": "3A66"})");
  const InboundEvent e = only_event(Provider::evolution, body.dump());
  EXPECT_EQ(e.conversation, "187654321098765@lid");
  EXPECT_EQ(e.sender, "5511987654321");
  EXPECT_EQ(e.chat, "direct");
  EXPECT_TRUE(e.wants_reply());
}

TEST(DecodeEvolution, LidWithoutAPhoneLeavesTheSenderEmpty) {
  json body = evolution_upsert();
  body["data"]["key"] =
      json::parse(R"({"remoteJid": "187654321098765@lid", "fromMe": false, "id": "3A65"})");
  const InboundEvent e = only_event(Provider::evolution, body.dump());
  EXPECT_EQ(e.sender, "");  // never the hidden id posing as a number
  EXPECT_EQ(e.conversation, "187654321098765@lid");
}

TEST(DecodeEvolution, ReactionIsRecordedButNotAnswered) {
  json body = evolution_upsert();
  body["data"]["message"] = json::parse(R"({"reactionMessage": {
      "key": {"remoteJid": "5511987654321@s.whatsapp.net", "fromMe": true, "id": "3EB0AA"},
      "text": "👍", "senderTimestampMs": "1767225600123"}})");
  body["data"]["messageType"] = "reactionMessage";
  const InboundEvent e = only_event(Provider::evolution, body.dump());
  EXPECT_EQ(e.kind, "reaction");
  EXPECT_EQ(e.text, "👍");
  EXPECT_FALSE(e.wants_reply());
}

TEST(DecodeEvolution, ProtocolMessageIsOtherAndNotAnswered) {
  json body = evolution_upsert();
  body["data"]["message"] = json::parse(R"({"protocolMessage": {"type": "REVOKE",
      "key": {"remoteJid": "5511987654321@s.whatsapp.net", "fromMe": false, "id": "3A10"}}})");
  const InboundEvent e = only_event(Provider::evolution, body.dump());
  EXPECT_EQ(e.kind, "other");
  EXPECT_FALSE(e.wants_reply());
}

TEST(DecodeEvolution, MessagesUpdateIsADeliveryStatus) {
  const std::string body = R"({
    "event": "messages.update",
    "instance": "clinic1",
    "data": {
      "messageId": "cm5x1y2z3000108l4abcd1234",
      "keyId": "3EB0C431C26A1D9A6F2B",
      "remoteJid": "5511987654321@s.whatsapp.net",
      "fromMe": true,
      "participant": null,
      "status": "DELIVERY_ACK",
      "instanceId": "6f1c2d7e-0b4a-4c3e-9d8f-1a2b3c4d5e6f"
    },
    "date_time": "2025-12-31T21:00:05.000Z",
    "sender": "5511999990000@s.whatsapp.net",
    "server_url": "http://evolution:8080",
    "apikey": "B6D711FCDE4D4FD5936544120E713976"
  })";
  const InboundEvent e = only_event(Provider::evolution, body);
  EXPECT_EQ(e.type, Type::status);
  EXPECT_EQ(e.kind, "delivery_ack");
  EXPECT_EQ(e.message_id, "3EB0C431C26A1D9A6F2B");
  EXPECT_EQ(e.dedup_key, "status:clinic1:3EB0C431C26A1D9A6F2B:delivery_ack");
  EXPECT_EQ(e.conversation, "5511987654321@s.whatsapp.net");
  EXPECT_TRUE(e.from_me);
  EXPECT_FALSE(e.wants_reply());
}

TEST(DecodeEvolution, EachStatusOfOneMessageHasItsOwnDedupKey) {
  json body = json::parse(R"({"event": "messages.update", "instance": "clinic1",
      "data": {"keyId": "3EB0", "remoteJid": "5511987654321@s.whatsapp.net", "fromMe": true,
               "status": "READ"}})");
  const std::string read_key = only_event(Provider::evolution, body.dump()).dedup_key;
  body["data"]["status"] = "PLAYED";
  const std::string played_key = only_event(Provider::evolution, body.dump()).dedup_key;
  EXPECT_EQ(read_key, "status:clinic1:3EB0:read");
  EXPECT_EQ(played_key, "status:clinic1:3EB0:played");
}

TEST(DecodeEvolution, EventNameInUpperCaseWithUnderscores) {
  json body = evolution_upsert();
  body["event"] = "MESSAGES_UPSERT";
  const InboundEvent e = only_event(Provider::evolution, body.dump());
  EXPECT_EQ(e.kind, "text");
  EXPECT_EQ(e.dedup_key, "msg:clinic1:3A5581F0C2D4E6B8A0C2");
}

TEST(DecodeEvolution, ConnectionUpdateIsAcceptedAndIgnored) {
  const DecodedWebhook d = decoded(Provider::evolution, R"({
    "event": "connection.update", "instance": "clinic1",
    "data": {"instance": "clinic1", "state": "open", "statusReason": 200},
    "date_time": "2025-12-31T21:00:00.000Z", "server_url": "http://evolution:8080",
    "apikey": "x"})");
  EXPECT_TRUE(d.events.empty());
  EXPECT_FALSE(d.ignored.empty());
  EXPECT_TRUE(contains(d.ignored, "connection.update"));
}

TEST(DecodeEvolution, MissingKeyIdIs422NamingThePath) {
  json body = evolution_upsert();
  body["data"]["key"].erase("id");
  const WebhookError e = refused(Provider::evolution, body.dump());
  EXPECT_EQ(e.status, 422);
  EXPECT_TRUE(contains(e.reason, "body.data.key.id"));
}

TEST(DecodeEvolution, EmptyKeyIdIs422) {
  json body = evolution_upsert();
  body["data"]["key"]["id"] = "";
  const WebhookError e = refused(Provider::evolution, body.dump());
  EXPECT_EQ(e.status, 422);
  EXPECT_TRUE(contains(e.reason, "body.data.key.id"));
}

TEST(DecodeEvolution, FromMeAsAStringIs422) {
  json body = evolution_upsert();
  body["data"]["key"]["fromMe"] = "false";
  const WebhookError e = refused(Provider::evolution, body.dump());
  EXPECT_EQ(e.status, 422);
  EXPECT_TRUE(contains(e.reason, "body.data.key.fromMe"));
}

TEST(DecodeEvolution, MissingEventIs422) {
  json body = evolution_upsert();
  body.erase("event");
  const WebhookError e = refused(Provider::evolution, body.dump());
  EXPECT_EQ(e.status, 422);
  EXPECT_TRUE(contains(e.reason, "body.event"));
}

// --- Whaticket -----------------------------------------------------------------------------

TEST(DecodeWhaticket, RawBaileysMessage) {
  const InboundEvent e = only_event(Provider::whaticket, R"({
    "key": {"remoteJid": "5521976543210@s.whatsapp.net", "fromMe": false, "id": "BAE5F2C9A1B3D4E5"},
    "message": {"extendedTextMessage": {"text": "Bom dia, vocês abrem sábado?"}},
    "messageTimestamp": 1767225600,
    "pushName": "Carlos Lima",
    "broadcast": false
  })");
  EXPECT_EQ(e.type, Type::message);
  EXPECT_EQ(e.message_id, "BAE5F2C9A1B3D4E5");
  EXPECT_TRUE(contains(e.dedup_key, "BAE5F2C9A1B3D4E5"));
  EXPECT_EQ(e.conversation, "5521976543210@s.whatsapp.net");
  EXPECT_EQ(e.sender, "5521976543210");
  EXPECT_EQ(e.sender_name, "Carlos Lima");
  EXPECT_EQ(e.kind, "text");
  EXPECT_EQ(e.text, "Bom dia, vocês abrem sábado?");
  EXPECT_EQ(e.occurred_at, kJan1);
  EXPECT_TRUE(e.wants_reply());
}

// In chats with disappearing messages on, Baileys delivers the content wrapped:
// {"ephemeralMessage": {"message": {...}}} (likewise viewOnceMessage / viewOnceMessageV2);
// Whaticket's own getBodyMessage unwraps ephemeralMessage. read_baileys_content
// (src/webhook_decode.cpp:121) unwraps only documentWithCaptionMessage, so such a text is kind
// "other" and never answered. Disabled until the wrappers are unwrapped.
TEST(DecodeWhaticket, EphemeralWrapperIsUnwrapped) {
  const InboundEvent e = only_event(Provider::whaticket, R"({
    "key": {"remoteJid": "5521976543210@s.whatsapp.net", "fromMe": false, "id": "BAE5EPH1"},
    "message": {"ephemeralMessage": {"message": {"extendedTextMessage": {
      "text": "Ainda tem horário amanhã?", "contextInfo": {"expiration": 604800}}}}},
    "messageTimestamp": 1767225600, "pushName": "Carlos Lima"})");
  EXPECT_EQ(e.kind, "text");
  EXPECT_EQ(e.text, "Ainda tem horário amanhã?");
  EXPECT_TRUE(e.wants_reply());
}

TEST(DecodeWhaticket, MissingKeyIs422) {
  const WebhookError e = refused(Provider::whaticket, R"({"message": {"conversation": "oi"}})");
  EXPECT_EQ(e.status, 422);
  EXPECT_TRUE(contains(e.reason, "body.key"));
}

// --- WhatsApp Cloud API ----------------------------------------------------------------------

// One notification carrying two entries: the first with a "messages" change (two messages
// and a status) and a change of another field; the second with a message and two statuses.
const char* kCloudBatch = R"({
  "object": "whatsapp_business_account",
  "entry": [
    {
      "id": "102290129340398",
      "changes": [
        {
          "field": "messages",
          "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881",
                         "phone_number_id": "106540352242922"},
            "contacts": [
              {"profile": {"name": "Ana"}, "wa_id": "5511987654321"},
              {"profile": {"name": "Bruno"}, "wa_id": "5511912345678"}
            ],
            "messages": [
              {"from": "5511987654321", "id": "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFjNFQjA",
               "timestamp": "1767225600", "type": "text", "text": {"body": "Oi"}},
              {"from": "5511912345678", "id": "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFjNFQjE",
               "timestamp": "1767225601", "type": "interactive",
               "context": {"from": "15550783881", "id": "wamid.OUR_BUTTONS"},
               "interactive": {"type": "button_reply",
                               "button_reply": {"id": "confirm", "title": "Confirmar"}}}
            ],
            "statuses": [
              {"id": "wamid.SENT_EARLIER_1", "status": "read", "timestamp": "1767225602",
               "recipient_id": "5511987654321"}
            ]
          }
        },
        {
          "field": "message_template_status_update",
          "value": {"event": "APPROVED", "message_template_id": 123,
                    "message_template_name": "lembrete"}
        }
      ]
    },
    {
      "id": "102290129340398",
      "changes": [
        {
          "field": "messages",
          "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881",
                         "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Carla"}, "wa_id": "5521976543210"}],
            "messages": [
              {"from": "5521976543210", "id": "wamid.CARLA_IMAGE", "timestamp": "1767225603",
               "type": "image", "image": {"caption": "Receita", "mime_type": "image/jpeg",
               "sha256": "abc=", "id": "1234567890"}}
            ],
            "statuses": [
              {"id": "wamid.SENT_EARLIER_2", "status": "delivered", "timestamp": "1767225604",
               "recipient_id": "5521976543210",
               "conversation": {"id": "c1", "origin": {"type": "service"}},
               "pricing": {"billable": true, "pricing_model": "CBP", "category": "service"}},
              {"id": "wamid.SENT_EARLIER_3", "status": "failed", "timestamp": "1767225605",
               "recipient_id": "5521976543210",
               "errors": [{"code": 131047, "title": "Re-engagement message",
                           "message": "Re-engagement message",
                           "error_data": {"details": "More than 24 hours have passed."}}]}
            ]
          }
        }
      ]
    }
  ]
})";

TEST(DecodeCloudApi, EveryMessageAndStatusOfEveryEntryInOrder) {
  const DecodedWebhook d = decoded(Provider::cloudapi, kCloudBatch);
  ASSERT_EQ(d.events.size(), 6u);
  EXPECT_EQ(d.ignored, "");

  const InboundEvent& text = d.events[0];
  EXPECT_EQ(text.type, Type::message);
  EXPECT_EQ(text.message_id, "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFjNFQjA");
  EXPECT_EQ(text.dedup_key, "msg:106540352242922:wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFjNFQjA");
  EXPECT_EQ(text.sender, "5511987654321");
  EXPECT_EQ(text.conversation, "5511987654321");
  EXPECT_EQ(text.sender_name, "Ana");
  EXPECT_EQ(text.kind, "text");
  EXPECT_EQ(text.text, "Oi");
  EXPECT_EQ(text.occurred_at, kJan1);
  EXPECT_TRUE(text.wants_reply());

  const InboundEvent& button = d.events[1];
  EXPECT_EQ(button.kind, "interactive");
  EXPECT_EQ(button.text, "Confirmar");
  EXPECT_EQ(button.sender_name, "Bruno");  // the contact matching its wa_id
  EXPECT_EQ(button.occurred_at, kJan1 + seconds{1});

  const InboundEvent& read = d.events[2];
  EXPECT_EQ(read.type, Type::status);
  EXPECT_EQ(read.kind, "read");
  EXPECT_EQ(read.message_id, "wamid.SENT_EARLIER_1");
  EXPECT_EQ(read.dedup_key, "status:106540352242922:wamid.SENT_EARLIER_1:read");
  EXPECT_EQ(read.conversation, "5511987654321");
  EXPECT_FALSE(read.wants_reply());

  const InboundEvent& image = d.events[3];
  EXPECT_EQ(image.kind, "image");
  EXPECT_EQ(image.text, "Receita");
  EXPECT_EQ(image.sender_name, "Carla");

  EXPECT_EQ(d.events[4].kind, "delivered");
  EXPECT_EQ(d.events[4].detail_json, "{}");
  EXPECT_EQ(d.events[5].kind, "failed");
  EXPECT_EQ(d.events[5].occurred_at, kJan1 + seconds{5});
}

TEST(DecodeCloudApi, StatusErrorsAreKeptInTheDetail) {
  const DecodedWebhook d = decoded(Provider::cloudapi, kCloudBatch);
  ASSERT_EQ(d.events.size(), 6u);
  const json detail = json::parse(d.events[5].detail_json);
  ASSERT_TRUE(detail.contains("errors"));
  ASSERT_TRUE(detail["errors"].is_array());
  ASSERT_EQ(detail["errors"].size(), 1u);
  EXPECT_EQ(detail["errors"][0]["code"], 131047);
}

TEST(DecodeCloudApi, OnlyNonMessageFieldsAreIgnored) {
  const DecodedWebhook d = decoded(Provider::cloudapi, R"({
    "object": "whatsapp_business_account",
    "entry": [{"id": "1", "changes": [{"field": "account_update",
      "value": {"phone_number": "15550783881", "event": "VERIFIED_ACCOUNT"}}]}]})");
  EXPECT_TRUE(d.events.empty());
  EXPECT_FALSE(d.ignored.empty());
}

TEST(DecodeCloudApi, OnlyTheMessagesFieldIsRead) {
  // Whatever another field's value holds, it is not read as messages.
  const DecodedWebhook d = decoded(Provider::cloudapi, R"({
    "object": "whatsapp_business_account",
    "entry": [{"id": "1", "changes": [{"field": "smb_message_echoes", "value": {
      "metadata": {"phone_number_id": "106540352242922"},
      "messages": [{"from": "5511987654321", "id": "wamid.ECHO", "timestamp": "1767225600",
                    "type": "text", "text": {"body": "echo"}}]}}]}]})");
  EXPECT_TRUE(d.events.empty());
  EXPECT_FALSE(d.ignored.empty());
}

TEST(DecodeCloudApi, OtherObjectIsIgnored) {
  const DecodedWebhook d = decoded(Provider::cloudapi, R"({
    "object": "page", "entry": [{"id": "1", "time": 1767225600, "messaging": []}]})");
  EXPECT_TRUE(d.events.empty());
  EXPECT_FALSE(d.ignored.empty());
}

TEST(DecodeCloudApi, NonNumericTimestampIs422) {
  json body = json::parse(kCloudBatch);
  body["entry"][0]["changes"][0]["value"]["messages"][1]["timestamp"] = "yesterday";
  const WebhookError e = refused(Provider::cloudapi, body.dump());
  EXPECT_EQ(e.status, 422);
  EXPECT_TRUE(contains(e.reason, "body.entry[0].changes[0].value.messages[1].timestamp"));
}

TEST(DecodeCloudApi, MessageWithoutIdIs422) {
  json body = json::parse(kCloudBatch);
  body["entry"][1]["changes"][0]["value"]["messages"][0].erase("id");
  const WebhookError e = refused(Provider::cloudapi, body.dump());
  EXPECT_EQ(e.status, 422);
  EXPECT_TRUE(contains(e.reason, "body.entry[1].changes[0].value.messages[0].id"));
}

TEST(DecodeCloudApi, UnsupportedMessageTypeIsOther) {
  const InboundEvent e = only_event(Provider::cloudapi, R"({
    "object": "whatsapp_business_account",
    "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
      "metadata": {"phone_number_id": "106540352242922"},
      "messages": [{"from": "5511987654321", "id": "wamid.U", "timestamp": "1767225600",
                    "type": "unsupported",
                    "errors": [{"code": 131051, "title": "Message type unknown"}]}]}}]}]})");
  EXPECT_EQ(e.kind, "other");
  EXPECT_FALSE(e.wants_reply());
}

// --- Cal.com -----------------------------------------------------------------------------------

json calcom_created() {
  return json::parse(R"({
    "triggerEvent": "BOOKING_CREATED",
    "createdAt": "2026-01-01T00:00:00.000Z",
    "payload": {
      "type": "consulta-30min",
      "title": "Consulta between Dra. Lima and Ana",
      "description": "",
      "startTime": "2026-01-05T13:00:00Z",
      "endTime": "2026-01-05T13:30:00Z",
      "organizer": {"id": 5, "name": "Dra. Lima", "email": "lima@clinic.example",
                    "timeZone": "America/Sao_Paulo", "language": {"locale": "pt"}},
      "responses": {"name": {"label": "your_name", "value": "Ana"},
                    "email": {"label": "email_address", "value": "ana@example.com"}},
      "attendees": [{"name": "Ana", "email": "ana@example.com", "timeZone": "America/Sao_Paulo",
                     "language": {"locale": "pt"}}],
      "location": "integrations:daily",
      "eventTypeId": 7,
      "uid": "bFJeNb2uX8ANpT3JL5EfXw",
      "bookingId": 91,
      "metadata": {"videoCallUrl": "https://app.cal.com/video/bFJeNb2uX8ANpT3JL5EfXw"},
      "status": "ACCEPTED"
    }
  })");
}

TEST(DecodeCalcom, BookingCreated) {
  const InboundEvent e = only_event(Provider::calcom, calcom_created().dump());
  EXPECT_EQ(e.type, Type::booking);
  EXPECT_EQ(e.kind, "BOOKING_CREATED");
  EXPECT_EQ(e.dedup_key, "BOOKING_CREATED:bFJeNb2uX8ANpT3JL5EfXw");
  EXPECT_EQ(e.message_id, "bFJeNb2uX8ANpT3JL5EfXw");
  EXPECT_EQ(e.conversation, "");
  EXPECT_EQ(e.occurred_at, kJan1);
  EXPECT_TRUE(e.wants_sync());
  EXPECT_FALSE(e.wants_reply());
  const json detail = json::parse(e.detail_json);
  EXPECT_EQ(detail["uid"], "bFJeNb2uX8ANpT3JL5EfXw");
  EXPECT_EQ(detail["booking_id"], 91);
  EXPECT_EQ(detail["startTime"], "2026-01-05T13:00:00Z");
  EXPECT_EQ(detail["status"], "ACCEPTED");
}

TEST(DecodeCalcom, BookingRescheduledKeysOnBothUids) {
  json body = calcom_created();
  body["triggerEvent"] = "BOOKING_RESCHEDULED";
  body["payload"]["uid"] = "nEwUiD7Qk2LpZr8sT1vW";
  body["payload"]["rescheduleUid"] = "bFJeNb2uX8ANpT3JL5EfXw";
  body["payload"]["startTime"] = "2026-01-06T14:00:00Z";
  const InboundEvent e = only_event(Provider::calcom, body.dump());
  EXPECT_EQ(e.kind, "BOOKING_RESCHEDULED");
  EXPECT_EQ(e.dedup_key, "BOOKING_RESCHEDULED:nEwUiD7Qk2LpZr8sT1vW:bFJeNb2uX8ANpT3JL5EfXw");
  EXPECT_TRUE(e.wants_sync());
  const json detail = json::parse(e.detail_json);
  EXPECT_EQ(detail["reschedule_uid"], "bFJeNb2uX8ANpT3JL5EfXw");
}

TEST(DecodeCalcom, BookingCancelledKeepsTheReason) {
  json body = calcom_created();
  body["triggerEvent"] = "BOOKING_CANCELLED";
  body["payload"]["status"] = "CANCELLED";
  body["payload"]["cancellationReason"] = "Paciente viajou";
  const InboundEvent e = only_event(Provider::calcom, body.dump());
  EXPECT_EQ(e.dedup_key, "BOOKING_CANCELLED:bFJeNb2uX8ANpT3JL5EfXw");
  EXPECT_EQ(json::parse(e.detail_json)["cancellationReason"], "Paciente viajou");
}

TEST(DecodeCalcom, MeetingEndedHasAFlatBody) {
  const InboundEvent e = only_event(Provider::calcom, R"({
    "triggerEvent": "MEETING_ENDED",
    "id": 91,
    "uid": "bFJeNb2uX8ANpT3JL5EfXw",
    "title": "Consulta between Dra. Lima and Ana",
    "startTime": "2026-01-05T13:00:00.000Z",
    "endTime": "2026-01-05T13:30:00.000Z",
    "status": "ACCEPTED",
    "user": {"email": "lima@clinic.example", "name": "Dra. Lima", "timeZone": "America/Sao_Paulo"},
    "attendees": [{"name": "Ana", "email": "ana@example.com", "timeZone": "America/Sao_Paulo"}]
  })");
  EXPECT_EQ(e.type, Type::booking);
  EXPECT_EQ(e.kind, "MEETING_ENDED");
  EXPECT_EQ(e.dedup_key, "MEETING_ENDED:bFJeNb2uX8ANpT3JL5EfXw");
  EXPECT_EQ(e.occurred_at, std::nullopt);  // no createdAt in flat bodies
  EXPECT_EQ(json::parse(e.detail_json)["booking_id"], 91);
}

TEST(DecodeCalcom, FormSubmittedIsIgnored) {
  const DecodedWebhook d = decoded(Provider::calcom, R"({
    "triggerEvent": "FORM_SUBMITTED", "createdAt": "2026-01-01T00:00:00.000Z",
    "payload": {"formId": "f1", "formName": "Triagem",
                "responses": {"nome": {"value": "Ana", "response": "Ana"}}}})");
  EXPECT_TRUE(d.events.empty());
  EXPECT_TRUE(contains(d.ignored, "FORM_SUBMITTED"));
}

TEST(DecodeCalcom, MissingPayloadUidIs422) {
  json body = calcom_created();
  body["payload"].erase("uid");
  const WebhookError e = refused(Provider::calcom, body.dump());
  EXPECT_EQ(e.status, 422);
  EXPECT_TRUE(contains(e.reason, "body.payload.uid"));
}

TEST(DecodeCalcom, BadCreatedAtIs422) {
  json body = calcom_created();
  body["createdAt"] = "last tuesday";
  const WebhookError e = refused(Provider::calcom, body.dump());
  EXPECT_EQ(e.status, 422);
  EXPECT_TRUE(contains(e.reason, "body.createdAt"));
}

// --- Chatwoot --------------------------------------------------------------------------------

// message_created for a reply an agent typed in Chatwoot.
json chatwoot_agent_message() {
  return json::parse(R"({
    "event": "message_created",
    "id": 4521,
    "content": "Olá, aqui é a Júlia da recepção",
    "created_at": "2026-01-01T00:05:00.000Z",
    "message_type": "outgoing",
    "content_type": "text",
    "content_attributes": {},
    "source_id": null,
    "private": false,
    "sender": {"id": 3, "name": "Júlia", "email": "julia@clinic.example", "type": "user"},
    "account": {"id": 1, "name": "Clinic"},
    "inbox": {"id": 2, "name": "WhatsApp"},
    "conversation": {
      "id": 87, "inbox_id": 2, "status": "open", "channel": "Channel::Whatsapp", "can_reply": true,
      "contact_inbox": {"id": 55, "contact_id": 40, "inbox_id": 2, "source_id": "5511987654321",
                        "hmac_verified": false},
      "meta": {"sender": {"id": 40, "name": "Ana", "phone_number": "+5511987654321",
                          "type": "contact"},
               "assignee": {"id": 3, "name": "Júlia", "type": "user"}},
      "timestamp": 1767225900
    }
  })");
}

TEST(DecodeChatwoot, OutgoingMessageFromAnAgentIsAHandoff) {
  const InboundEvent e = only_event(Provider::chatwoot, chatwoot_agent_message().dump());
  EXPECT_EQ(e.type, Type::handoff);
  EXPECT_EQ(e.kind, "agent_message");
  EXPECT_EQ(e.conversation, "5511987654321");
  EXPECT_EQ(e.message_id, "4521");
  EXPECT_TRUE(contains(e.dedup_key, "4521"));
  EXPECT_EQ(json::parse(e.detail_json)["chatwoot_conversation"], "87");
  EXPECT_FALSE(e.wants_reply());
}

TEST(DecodeChatwoot, ContactFallsBackToTheSendersPhone) {
  json body = chatwoot_agent_message();
  body["conversation"].erase("contact_inbox");
  EXPECT_EQ(only_event(Provider::chatwoot, body.dump()).conversation, "5511987654321");
}

TEST(DecodeChatwoot, IncomingMessageIsIgnored) {
  json body = chatwoot_agent_message();
  body["message_type"] = "incoming";
  body["sender"] = json::parse(R"({"id": 40, "name": "Ana", "type": "contact"})");
  const DecodedWebhook d = decoded(Provider::chatwoot, body.dump());
  EXPECT_TRUE(d.events.empty());
  EXPECT_FALSE(d.ignored.empty());
}

TEST(DecodeChatwoot, OutgoingFromABotIsIgnored) {
  json body = chatwoot_agent_message();
  body["sender"] = json::parse(R"({"id": 9, "name": "Bot", "type": "agent_bot"})");
  EXPECT_TRUE(decoded(Provider::chatwoot, body.dump()).events.empty());
}

TEST(DecodeChatwoot, PrivateNoteIsIgnored) {
  json body = chatwoot_agent_message();
  body["private"] = true;
  const DecodedWebhook d = decoded(Provider::chatwoot, body.dump());
  EXPECT_TRUE(d.events.empty());
  EXPECT_FALSE(d.ignored.empty());
}

// conversation_status_changed / conversation_updated: the conversation itself, plus what changed.
json chatwoot_conversation(const std::string& event) {
  json body = json::parse(R"({
    "id": 87, "inbox_id": 2, "status": "open", "channel": "Channel::Whatsapp", "can_reply": true,
    "additional_attributes": {}, "custom_attributes": {}, "labels": [], "messages": [],
    "contact_inbox": {"id": 55, "contact_id": 40, "inbox_id": 2, "source_id": "5511987654321"},
    "meta": {"sender": {"id": 40, "name": "Ana", "phone_number": "+5511987654321",
                        "type": "contact"},
             "assignee": null, "hmac_verified": false},
    "unread_count": 1, "agent_last_seen_at": 0, "contact_last_seen_at": 0,
    "timestamp": 1767225900, "created_at": 1767225600,
    "changed_attributes": [{"status": {"previous_value": "pending", "current_value": "open"}}]
  })");
  body["event"] = event;
  return body;
}

TEST(DecodeChatwoot, StatusChangedToOpenIsOpened) {
  const InboundEvent e =
      only_event(Provider::chatwoot, chatwoot_conversation("conversation_status_changed").dump());
  EXPECT_EQ(e.type, Type::handoff);
  EXPECT_EQ(e.kind, "opened");
  EXPECT_EQ(e.conversation, "5511987654321");
  EXPECT_TRUE(contains(e.dedup_key, "87"));
  EXPECT_EQ(json::parse(e.detail_json)["chatwoot_conversation"], "87");
}

TEST(DecodeChatwoot, StatusChangedToResolvedIsResolved) {
  json body = chatwoot_conversation("conversation_status_changed");
  body["status"] = "resolved";
  EXPECT_EQ(only_event(Provider::chatwoot, body.dump()).kind, "resolved");
}

TEST(DecodeChatwoot, StatusChangedToPendingIsIgnored) {
  json body = chatwoot_conversation("conversation_status_changed");
  body["status"] = "pending";
  EXPECT_TRUE(decoded(Provider::chatwoot, body.dump()).events.empty());
}

TEST(DecodeChatwoot, AssigneeSetIsAssigned) {
  json body = chatwoot_conversation("conversation_updated");
  body["status"] = "pending";
  body["changed_attributes"] =
      json::parse(R"([{"assignee_id": {"previous_value": null, "current_value": 3}}])");
  const InboundEvent e = only_event(Provider::chatwoot, body.dump());
  EXPECT_EQ(e.kind, "assigned");
  EXPECT_EQ(e.conversation, "5511987654321");
}

TEST(DecodeChatwoot, AssigneeRemovedIsIgnored) {
  json body = chatwoot_conversation("conversation_updated");
  body["changed_attributes"] =
      json::parse(R"([{"assignee_id": {"previous_value": 3, "current_value": null}}])");
  EXPECT_TRUE(decoded(Provider::chatwoot, body.dump()).events.empty());
}

TEST(DecodeChatwoot, OtherEventsAreIgnored) {
  json body = chatwoot_conversation("conversation_created");
  const DecodedWebhook d = decoded(Provider::chatwoot, body.dump());
  EXPECT_TRUE(d.events.empty());
  EXPECT_TRUE(contains(d.ignored, "conversation_created"));
}

// Chatwoot's Conversations::EventDataPresenter#push_timestamps sends `updated_at:
// updated_at.to_f` (a float such as 1767225900.123456), and conversation webhooks carry it.
// decode_chatwoot reads it with opt_str, which accepts only strings and integers, so every
// status change or assignment from a current Chatwoot is refused with a 422 and the handoff
// is lost (Chatwoot does not retry). Bug in src/webhook_decode.cpp:390 (the dedup_key line of
// decode_chatwoot); disabled until it is fixed.
TEST(DecodeChatwoot, FloatUpdatedAtFromCurrentChatwootIsAccepted) {
  json body = chatwoot_conversation("conversation_status_changed");
  body["updated_at"] = 1767225900.123456;
  const InboundEvent e = only_event(Provider::chatwoot, body.dump());
  EXPECT_EQ(e.kind, "opened");
}

TEST(DecodeChatwoot, HandoffWithoutAContactIs422) {
  json body = chatwoot_conversation("conversation_status_changed");
  body.erase("contact_inbox");
  body.erase("meta");
  EXPECT_EQ(refused(Provider::chatwoot, body.dump()).status, 422);
}

// --- bodies that are refused ------------------------------------------------------------------

TEST(DecodeBadInput, NotJsonIs400) {
  for (const char* body : {"", "not json", "{\"event\":", "{'event':'x'}", "{\"a\":1}}"}) {
    const WebhookError e = refused(Provider::evolution, body);
    EXPECT_EQ(e.status, 400) << "'" << body << "'";
  }
}

TEST(DecodeBadInput, InvalidUtf8Is400SayingSo) {
  json body = evolution_upsert();
  std::string text = body.dump();
  const std::string good = "quero marcar";
  const auto at = text.find(good);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, good.size(), "quero \xff marcar");
  const WebhookError e = refused(Provider::evolution, text);
  EXPECT_EQ(e.status, 400);
  EXPECT_TRUE(contains(e.reason, "UTF-8"));
}

TEST(DecodeBadInput, DeepNestingIs400) {
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  const std::string body = R"({"event":"messages.upsert","instance":"c","data":)" + deep + "}";
  const WebhookError e = refused(Provider::evolution, body);
  EXPECT_EQ(e.status, 400);
  EXPECT_TRUE(contains(e.reason, "deeper"));
}

TEST(DecodeBadInput, BracketsInsideStringsAreNotNesting) {
  json body = evolution_upsert();
  body["data"]["message"]["conversation"] = std::string(100, '[') + std::string(100, '{');
  EXPECT_EQ(only_event(Provider::evolution, body.dump()).kind, "text");
}

TEST(DecodeBadInput, NulCharacterIs422) {
  json body = evolution_upsert();
  body["data"]["message"]["conversation"] = std::string("before\0after", 12);
  const std::string text = body.dump();
  ASSERT_TRUE(contains(text, "\\u0000"));
  const WebhookError e = refused(Provider::evolution, text);
  EXPECT_EQ(e.status, 422);
  EXPECT_TRUE(contains(e.reason, "NUL"));
}

TEST(DecodeBadInput, EscapedBackslashBeforeU0000IsNotANul) {
  // The text "\u0000" written out literally (an escaped backslash) holds no NUL.
  json body = evolution_upsert();
  body["data"]["message"]["conversation"] = "see \\u0000 here";
  EXPECT_EQ(only_event(Provider::evolution, body.dump()).text, "see \\u0000 here");
}

TEST(DecodeBadInput, TopLevelArrayIs422) {
  for (Provider p : {Provider::evolution, Provider::whaticket, Provider::cloudapi, Provider::calcom,
                     Provider::chatwoot}) {
    const WebhookError e = refused(p, "[" + evolution_upsert().dump() + "]");
    EXPECT_EQ(e.status, 422) << to_string(p);
    EXPECT_TRUE(contains(e.reason, "body")) << to_string(p);
  }
}

TEST(DecodeBadInput, ReasonsNeverQuoteTheMessageText) {
  const std::string word = "Zyxwvutsrqplumbago";
  std::vector<std::string> bodies;
  // Not JSON, the word right where parsing stops.
  bodies.push_back(R"({"event":"messages.upsert","data":{"message":{"conversation":")" + word +
                   "\"}");
  bodies.push_back(R"({"event":"messages.upsert","data":{"message":{"conversation":")" + word +
                   R"(" x}})");
  // Invalid UTF-8 beside the word.
  bodies.push_back(R"({"event":"messages.upsert","data":{"message":{"conversation":")" + word +
                   "\xc3\x28" + word + R"("}}})");
  // Valid JSON, wrong shape, the word in the body.
  json wrong = evolution_upsert();
  wrong["data"]["message"]["conversation"] = word;
  wrong["data"]["key"]["fromMe"] = "no";
  bodies.push_back(wrong.dump());
  json no_id = evolution_upsert();
  no_id["data"]["message"]["conversation"] = word;
  no_id["data"]["key"]["id"] = json::array({word});
  bodies.push_back(no_id.dump());
  // The word in a NUL-holding text.
  json nul = evolution_upsert();
  nul["data"]["message"]["conversation"] = word + std::string(1, '\0');
  bodies.push_back(nul.dump());
  for (const auto& body : bodies) {
    const WebhookError e = refused(Provider::evolution, body);
    EXPECT_NE(e.status, 0);
    EXPECT_FALSE(contains(e.reason, word)) << "reason: " << e.reason;
    EXPECT_FALSE(contains(e.reason, "Zyxw")) << "reason: " << e.reason;
  }
}

}  // namespace
}  // namespace recado
