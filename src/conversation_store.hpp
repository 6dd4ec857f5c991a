#pragma once
// Who the bot may answer: conversations a human took over (handoff) and tenants paused by an
// operator (or everything, scope "*"). The ingress marks handoffs from Chatwoot's signals in
// the statement that stores them; recadoctl sets both by hand; job kinds ask before replying.
// Blocking (libpqxx): database threads and recadoctl only.
#include <pqxx/pqxx>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/clock.hpp"

namespace recado::conversation_store {

struct Conversation {
  int64_t id = 0;
  std::string tenant;
  std::string contact;  // digits for a phone number, else the provider's id
  bool handed_off = false;
  std::optional<Timestamp> handed_off_at;
  std::string handed_off_by;  // "chatwoot:assigned", "recadoctl", ...
  Timestamp updated_at{};
};

struct Pause {
  std::string scope;  // a tenant id, or "*" for every tenant
  Timestamp paused_at{};
  std::string reason;
};

// Contacts are keyed by recado.contact_key() (SQL): a phone number's digits, whatever the
// gateway's form ("+5511...", "5511...@s.whatsapp.net", "5511...@c.us"); anything else as is.

// Takes a conversation from the bot (creating its row if new), or gives it back.
Conversation hand_off(pqxx::connection& conn, std::string_view tenant, std::string_view contact, std::string_view by);
std::optional<Conversation> set_handed_off(pqxx::connection& conn, int64_t id, bool handed_off, std::string_view by);
bool is_handed_off(pqxx::connection& conn, std::string_view tenant, std::string_view contact);
std::vector<Conversation> list(pqxx::connection& conn, const std::optional<std::string>& tenant, bool handed_off_only,
                               int limit);

// Pauses the tenant `scope` (or "*": all). Idempotent; resume returns whether one was lifted.
void pause(pqxx::connection& conn, std::string_view scope, std::string_view reason);
bool resume(pqxx::connection& conn, std::string_view scope);
// Whether `tenant` may not send now: paused itself, or everything is.
bool is_paused(pqxx::connection& conn, std::string_view tenant);
std::vector<Pause> pauses(pqxx::connection& conn);

}  // namespace recado::conversation_store
