#pragma once
// Turns a provider's webhook body into the events recado keeps, normalised across providers
// (wire formats: shared/protocols.md). Pure: no I/O, no clock; safe from any thread. The
// body has been authenticated already; decoding still trusts nothing in it.
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "src/clock.hpp"
#include "src/config.hpp"

namespace recado {

// One thing a webhook told us.
struct InboundEvent {
  enum class Type { message, status, booking, handoff };
  Type type = Type::message;
  std::string dedup_key;     // unique among this tenant's events from this provider
  std::string conversation;  // the contact's chat id (a JID or wa_id); "" for bookings
  std::string message_id;    // the provider's message id; for statuses, the message they describe
  std::string sender;        // who sent it: a phone number or JID, "" when hidden (@lid)
  std::string sender_name;
  // message: text | image | audio | video | document | sticker | location | contacts |
  //          reaction | interactive | other;  status: sent | delivered | read | failed | ...;
  // booking: Cal.com's triggerEvent;  handoff: agent_message | assigned | opened | resolved
  std::string kind;
  std::string text;  // message text or caption; "" when none
  std::optional<Timestamp> occurred_at;
  bool from_me = false;           // our own send echoing back
  std::string chat = "direct";    // direct | group | broadcast
  std::string detail_json = "{}";  // what else matters: status errors, booking uid and times

  // Only a contact writing to us in a direct chat gets an answer; reactions and protocol
  // messages (deletes, edits) do not start one.
  bool wants_reply() const {
    return type == Type::message && !from_me && chat == "direct" && kind != "reaction" && kind != "other";
  }
  // Booking events start a calcom_sync job.
  bool wants_sync() const { return type == Type::booking; }
};

struct DecodedWebhook {
  std::vector<InboundEvent> events;
  std::string ignored;  // when `events` is empty: why the webhook was accepted and dropped
};

struct WebhookError {
  int status = 400;  // 400 not JSON / too deep / invalid UTF-8; 422 wrong shape
  std::string reason;
};

std::variant<DecodedWebhook, WebhookError> decode_webhook(Provider provider, std::string_view body);

}  // namespace recado
