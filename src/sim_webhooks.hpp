#pragma once
// The provider side of inbound traffic: the exact webhook bodies Evolution API, Whaticket,
// the WhatsApp Cloud API, Cal.com and Chatwoot send (shared/protocols.md; recado decodes
// them in webhook_decode), with the headers that authenticate them. Used by the simulator's
// POST /_sim/webhooks, and by tests and benchmarks directly. Pure: the caller passes the
// time and the ids; safe from any thread.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "src/clock.hpp"
#include "src/config.hpp"

namespace recado {

// A chat message, or a delivery status of one we sent (Evolution, Whaticket, Cloud API).
struct ChatWebhookSpec {
  std::string from;  // the contact's phone number (digits)
  std::string name;  // their profile name
  std::string text;
  std::string id;        // the provider's message id
  bool from_me = false;  // our own send echoing back (Evolution, Whaticket)
  std::string group;     // a group id: the message is in "<group>@g.us" (Evolution, Whaticket)
  // A delivery status instead of a message: Evolution messages.update (PENDING, SERVER_ACK,
  // DELIVERY_ACK, READ, PLAYED, ERROR) or a Cloud API status (sent, delivered, read, failed).
  std::string status;
  int64_t error_code = 0;        // Cloud API failed status: errors[0].code (e.g. 131047)
  std::string instance = "sim";  // Evolution instance
  std::string phone_number_id = "100000000000001";  // Cloud API: the business number's id
  std::string business_number = "5511900000000";    // the number the contact writes to
};

// A Cal.com booking event.
struct CalcomWebhookSpec {
  std::string event =
      "BOOKING_CREATED";  // BOOKING_CREATED|RESCHEDULED|CANCELLED, MEETING_STARTED|ENDED, ...
  std::string uid;
  int64_t booking_id = 0;
  Timestamp start;
  std::optional<Timestamp> end;  // default start + 30 minutes
  std::string title = "Consulta";
  std::string name = "Ana";
  std::string email = "ana@example.com";
  std::string phone;  // attendee phone number, when known
  std::string time_zone = "America/Sao_Paulo";
  std::string reschedule_uid;       // BOOKING_RESCHEDULED: the uid it replaces
  std::string cancellation_reason;  // BOOKING_CANCELLED
};

// A Chatwoot event about a conversation.
struct ChatwootWebhookSpec {
  // conversation_status_changed | conversation_updated (an assignee set) | message_created
  // (an outgoing message from a human agent)
  std::string event = "conversation_status_changed";
  int64_t conversation_id = 1;
  std::string phone;            // the contact's phone number (digits)
  std::string status = "open";  // conversation_status_changed: open | resolved | pending
  int64_t assignee_id = 1;      // conversation_updated
  int64_t message_id = 1;       // message_created
  std::string text;             // message_created
  std::string agent_name = "Atendente";
};

// How the webhook proves itself. Tokens go in `token_header`; HMAC secrets sign per the
// provider (Cloud API X-Hub-Signature-256 "sha256=<hex>", Cal.com X-Cal-Signature-256
// "<hex>" or "no-secret-provided" without a secret, Chatwoot X-Chatwoot-Signature
// "sha256=<hex>" over "{timestamp}.{body}" with X-Chatwoot-Timestamp); an Evolution JWT
// secret makes an HS256 Authorization: Bearer token ({iat, exp: +600 s, app, action}).
struct WebhookCredentials {
  std::string token;
  std::string token_header = "x-recado-token";
  std::string secret;
  std::string jwt_secret;
};

struct BuiltWebhook {
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Type first
};

BuiltWebhook build_evolution_webhook(const ChatWebhookSpec& spec,
                                     const WebhookCredentials& credentials, Timestamp now);
BuiltWebhook build_whaticket_webhook(const ChatWebhookSpec& spec,
                                     const WebhookCredentials& credentials, Timestamp now);
BuiltWebhook build_cloudapi_webhook(const ChatWebhookSpec& spec,
                                    const WebhookCredentials& credentials, Timestamp now);
BuiltWebhook build_calcom_webhook(const CalcomWebhookSpec& spec,
                                  const WebhookCredentials& credentials, Timestamp now);
BuiltWebhook build_chatwoot_webhook(const ChatwootWebhookSpec& spec,
                                    const WebhookCredentials& credentials, Timestamp now);

// POST /_sim/webhooks, read: what to send, where, how often.
struct WebhookOrder {
  std::string url;
  Provider provider = Provider::evolution;
  WebhookCredentials credentials;
  std::variant<ChatWebhookSpec, CalcomWebhookSpec, ChatwootWebhookSpec> event;
  int repeat = 1;           // the same webhook this many times (duplicates)
  bool concurrent = false;  // all copies at once instead of one after another
  Duration timeout = std::chrono::seconds{10};
};

// Reads an order. Ids the order leaves out (message id, booking uid) come from
// `fresh_id`, so each order makes new ones; the reason on failure names the field.
std::variant<WebhookOrder, std::string> parse_webhook_order(const nlohmann::json& order,
                                                            const std::string& fresh_id);
// The webhook an order sends.
BuiltWebhook build_webhook(const WebhookOrder& order, Timestamp now);

}  // namespace recado
