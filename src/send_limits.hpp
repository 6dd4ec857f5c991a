#pragma once
// Send limits per sending WhatsApp number, so that no number sends fast enough to be banned.
// The sends are recorded in PostgreSQL (recado.sends), so every worker process on every
// machine counts the same sends, and a reservation is exact under concurrency: reservations
// for one sender are serialised (recado.senders, one row per sender, locked FOR UPDATE),
// reservations for different senders never wait for each other.
//
// Every function is blocking and runs its own short transaction on the connection it is
// given: call it from a database thread (DbPool), never from the event loop. libpqxx's
// exceptions propagate; the caller translates them (db_error.hpp).
#include <pqxx/pqxx>

#include <chrono>
#include <string>
#include <string_view>

#include "src/clock.hpp"

namespace recado {

// A tenant's limits; 0 means no such limit.
struct SendLimits {
  Duration min_spacing{0};            // between any two sends of the number
  int per_hour = 0;                   // sends in any rolling hour
  int per_day = 0;                    // sends in any rolling 24 hours
  Duration per_recipient_spacing{0};  // between two sends of the number to one recipient

  bool any() const {
    return min_spacing.count() > 0 || per_hour > 0 || per_day > 0 || per_recipient_spacing.count() > 0;
  }
};

// The longest any limit looks back: sends older than this are never consulted, and
// prune_sends() may delete them. Configuration keeps the spacings within it.
inline constexpr Duration kSendHistory = std::chrono::hours{24};

struct SendPermit {
  bool granted = false;
  // Granted: the reservation's `now`. Refused: the earliest instant at which a retry passes
  // every limit, given the sends recorded so far (the latest of the refusing limits' own).
  Timestamp not_before;
  // Refused: the limit that sets not_before: "min_spacing", "per_hour", "per_day" or
  // "per_recipient" (on a tie, the first in that order). Granted: empty.
  std::string reason;
};

// If every limit allows `sender` to send to `recipient` at `now`, records that send
// (sender, recipient, at `now`) and grants; otherwise records nothing and refuses. `now` is
// the caller's clock, never the database's. Sends recorded with a time after `now` (another
// machine's clock running ahead) count as already made. With no limit set it grants without
// touching the database. A window is rolling and half-open: a send made exactly one hour
// before `now` no longer counts against per_hour. Its cost is a few index look-ups, the
// longest reading up to max(per_hour, per_day) entries, under the sender's lock.
SendPermit reserve_send(pqxx::connection& conn, std::string_view sender, std::string_view recipient,
                        const SendLimits& limits, Timestamp now);

// Deletes up to `limit` recorded sends made before `older_than` (pass now - kSendHistory or
// earlier); returns how many it deleted. For the worker's periodic pruning.
int prune_sends(pqxx::connection& conn, Timestamp older_than, int limit);

}  // namespace recado
