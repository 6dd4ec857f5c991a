#include "src/send_limits.hpp"

#include <optional>

#include "src/job_sql.hpp"

namespace recado {

namespace {

using job_sql::exec;

std::optional<Timestamp> timestamp_of(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return from_epoch_micros(f.as<int64_t>());
}

}  // namespace

// How reservations for one sender are serialised: each takes the row lock of its sender's
// row in recado.senders (FOR UPDATE) before it reads the sender's sends, and holds it until
// it commits the send it records. Chosen over an advisory lock on a hash of the sender
// because a row lock cannot collide: two senders whose hashes met would wait for each
// other, and advisory keys share one space with every other user of them (the migrations
// take one). The row also makes the lock visible in pg_locks under a readable name.
//
// The reads must come in a statement after the one that takes the lock: in READ COMMITTED
// each statement gets a fresh snapshot, so the reads see the send of whoever held the lock
// before. (One statement that locked and read would read with a snapshot taken before it
// waited.) The same is why the transaction asks for READ COMMITTED itself rather than
// inheriting default_transaction_isolation: under REPEATABLE READ the snapshot would be
// the first statement's, taken before the lock was granted.
SendPermit reserve_send(pqxx::connection& conn, std::string_view sender, std::string_view recipient,
                        const SendLimits& limits, Timestamp now) {
  if (!limits.any()) return {true, now, {}};
  const std::string from(sender), to(recipient);

  pqxx::work tx(conn);
  tx.exec("SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
  static const std::string kLock = "SELECT 1 FROM recado.senders WHERE sender = $1 FOR UPDATE";
  if (exec(tx, "recado_sender_lock", kLock, from).empty()) {
    // A sender's first send. Whoever inserts the row holds it; a concurrent first
    // reservation waits for that insert to commit and then locks the row (DO UPDATE locks
    // the row it conflicts with, and sees its latest version).
    static const std::string kAdd =
        "INSERT INTO recado.senders (sender) VALUES ($1) "
        "ON CONFLICT (sender) DO UPDATE SET sender = excluded.sender";
    exec(tx, "recado_sender_add", kAdd, from);
  }

  // What the limits need, each only when its limit is set: the newest send of the number,
  // its per_hour-th and per_day-th newest (a window is full exactly when that send lies in
  // it, and frees a place when that send leaves it), and the newest send to the recipient.
  // Each is a short backward scan of (sender, sent_at) or (sender, recipient, sent_at).
  static const std::string kState = R"SQL(
    SELECT
      CASE WHEN $3::boolean THEN (
        SELECT (extract(epoch FROM max(sent_at)) * 1000000)::bigint
        FROM recado.sends WHERE sender = $1) END,
      CASE WHEN $4::int > 0 THEN (
        SELECT (extract(epoch FROM sent_at) * 1000000)::bigint
        FROM recado.sends WHERE sender = $1
        ORDER BY sent_at DESC OFFSET $4::int - 1 LIMIT 1) END,
      CASE WHEN $5::int > 0 THEN (
        SELECT (extract(epoch FROM sent_at) * 1000000)::bigint
        FROM recado.sends WHERE sender = $1
        ORDER BY sent_at DESC OFFSET $5::int - 1 LIMIT 1) END,
      CASE WHEN $6::boolean THEN (
        SELECT (extract(epoch FROM max(sent_at)) * 1000000)::bigint
        FROM recado.sends WHERE sender = $1 AND recipient = $2) END
  )SQL";
  const pqxx::row state = exec(tx, "recado_send_state", kState, from, to, limits.min_spacing.count() > 0,
                               limits.per_hour, limits.per_day,
                               limits.per_recipient_spacing.count() > 0)[0];

  SendPermit permit{true, now, {}};
  // A limit refuses while now < its send + its window; a retry passes it from then on.
  auto apply = [&](std::optional<Timestamp> counted_send, Duration window, const char* reason) {
    if (!counted_send) return;
    const Timestamp free_at = *counted_send + window;
    if (now >= free_at) return;
    if (permit.granted || free_at > permit.not_before) {
      permit.granted = false;
      permit.not_before = free_at;
      permit.reason = reason;
    }
  };
  apply(timestamp_of(state[0]), limits.min_spacing, "min_spacing");
  apply(timestamp_of(state[1]), std::chrono::hours{1}, "per_hour");
  apply(timestamp_of(state[2]), std::chrono::hours{24}, "per_day");
  apply(timestamp_of(state[3]), limits.per_recipient_spacing, "per_recipient");

  if (permit.granted) {
    static const std::string kRecord =
        "INSERT INTO recado.sends (sender, recipient, sent_at) "
        "VALUES ($1, $2, 'epoch'::timestamptz + $3 * interval '1 microsecond')";
    exec(tx, "recado_send_record", kRecord, from, to, epoch_micros(now));
  }
  tx.commit();
  return permit;
}

int prune_sends(pqxx::connection& conn, Timestamp older_than, int limit) {
  pqxx::work tx(conn);
  static const std::string kPrune = R"SQL(
    DELETE FROM recado.sends WHERE ctid = ANY(ARRAY(
      SELECT ctid FROM recado.sends
      WHERE sent_at < 'epoch'::timestamptz + $1 * interval '1 microsecond'
      LIMIT $2))
  )SQL";
  const auto deleted = exec(tx, "recado_sends_prune", kPrune, epoch_micros(older_than), limit).affected_rows();
  tx.commit();
  return static_cast<int>(deleted);
}

}  // namespace recado
