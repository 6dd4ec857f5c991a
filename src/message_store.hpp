#pragma once
// A conversation's history as the secretary keeps it (recado.messages, migration 6), and the
// bookkeeping of who was answered: what the reply job reads before it asks the LLM, what it
// writes with its answer, and what the send job records. Blocking SQL on the connection or
// transaction it is given: call from a database thread (HandlerContext::query), never the loop.
#include <pqxx/pqxx>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "src/clock.hpp"

namespace recado::message_store {

struct StoredMessage {
  int64_t id = 0;
  bool inbound = true;
  std::string origin;  // outbound: llm_reply, fallback, followup:RULE, echo (sent from the phone)
  std::string kind;    // text, image, audio, ...
  std::string body;
  Timestamp at;
};

struct UpcomingBooking {
  std::string uid, title;
  Timestamp start, end;
};

// What a reply job needs to know about its conversation.
struct ReplyState {
  std::string contact;  // recado.contact_key(conversation)
  std::string name;     // the contact's name as the gateway gave it
  std::optional<std::string> paused;  // the pause that holds this tenant ("*" or the tenant)
  bool handed_off = false;
  int64_t newest_inbound = 0;   // messages.id of the newest inbound message (0: none)
  int64_t replied_through = 0;  // the newest inbound message a reply covered
  int64_t fallback_through = 0; // the newest one a fallback message covered
  std::vector<StoredMessage> history;  // oldest first
  std::vector<UpcomingBooking> bookings;  // the contact's accepted upcoming bookings, soonest first (at most 5)
  // For the contact limits, measured back from `now`: the contact's messages of the last
  // minute (by when they reached recado), and our LLM replies of the last hour (by when they
  // were written) with the oldest and newest of them.
  int inbound_last_minute = 0;
  int replies_last_hour = 0;
  std::optional<Timestamp> oldest_reply_in_hour, newest_reply;
};

// Copies the conversation's new inbound messages (and echoes of sends made from the phone)
// into its history, then reads the state above: at most `history_messages` newest messages
// whose bodies fit in `history_bytes`. Commits.
ReplyState load_reply_state(pqxx::connection& conn, const std::string& tenant,
                            const std::string& conversation, int history_messages,
                            int history_bytes, Timestamp now);

struct Outbound {
  std::string tenant, conversation, provider, origin, body;
  std::optional<Timestamp> at;  // when it was written (the job's clock); default: the database's now
};

// The origins of replies the LLM wrote (what contact_limits.replies_per_hour counts).
inline constexpr const char* kReplyOrigins[] = {"llm_reply", "booking", "cache"};

// In the caller's transaction: stores an outbound message as queued and enqueues the
// whatsapp_send job that sends it (one at a time per contact, in order). Returns the
// message's id.
int64_t queue_outbound(pqxx::transaction_base& tx, const Outbound& message);

// In the caller's transaction: the conversation's inbound messages up to `through` are
// answered (by a reply) or covered (by the fallback message). Never moves backwards.
void mark_replied(pqxx::transaction_base& tx, const std::string& tenant, const std::string& contact,
                  int64_t through);
void mark_fallback(pqxx::transaction_base& tx, const std::string& tenant, const std::string& contact,
                   int64_t through);

// What a send job needs to know about its message.
struct SendState {
  bool found = false;
  std::string tenant, contact, conversation, provider, origin, body, status, provider_id;
  bool outcome_unknown = false;  // an earlier attempt ended without an answer
  bool handed_off = false;
  std::optional<std::string> paused;
  std::optional<Timestamp> last_inbound;  // the contact's newest message to us
};
SendState load_send(pqxx::connection& conn, int64_t message_id);

// An attempt ended without an answer (timeout, reset): a retry may send twice. Commits.
void mark_outcome_unknown(pqxx::connection& conn, int64_t message_id);

// In the caller's transaction: the gateway took the message under `provider_id` ("": it
// gave none). Folds in
// any delivery status that arrived before this record and drops the history's copy of the
// gateway's echo of it.
void record_sent(pqxx::transaction_base& tx, int64_t message_id, const std::string& provider_id,
                 Timestamp at);
// In the caller's transaction: the message will not be sent, and why.
void record_discarded(pqxx::transaction_base& tx, int64_t message_id, const std::string& reason);

// The queue and kind of the send jobs queue_outbound makes.
inline constexpr const char* kSendQueue = "whatsapp_send";

}  // namespace recado::message_store
