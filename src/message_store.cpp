#include "src/message_store.hpp"

#include <algorithm>

#include "src/job_sql.hpp"

namespace recado::message_store {

namespace {

using job_sql::exec;

std::optional<Timestamp> opt_time(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return from_epoch_micros(f.as<int64_t>());
}

constexpr const char* kEpochUs = "(extract(epoch FROM {}) * 1000000)::bigint";

std::string epoch_us(const std::string& column) {
  std::string out = kEpochUs;
  out.replace(out.find("{}"), 2, column);
  return out;
}

// The pause that holds tenant $1, if any.
const std::string kPauseOf =
    "(SELECT scope FROM recado.pauses WHERE scope = {} OR scope = '*' ORDER BY scope = '*' DESC LIMIT 1)";

std::string pause_of(const std::string& tenant_expr) {
  std::string out = kPauseOf;
  out.replace(out.find("{}"), 2, tenant_expr);
  return out;
}

// kReplyOrigins as the inside of an SQL list: llm_reply', 'booking', 'cache
std::string reply_origins() {
  std::string out;
  for (const char* o : kReplyOrigins) out += (out.empty() ? "" : "', '") + std::string(o);
  return out;
}

}  // namespace

ReplyState load_reply_state(pqxx::connection& conn, const std::string& tenant,
                            const std::string& conversation, int history_messages,
                            int history_bytes, Timestamp now) {
  pqxx::work tx(conn);
  // New webhook rows of this chat join its history; the gateway's echoes of our own sends
  // meet their message's unique provider id and are dropped.
  static const std::string kCopy = R"SQL(
    WITH last AS (
      SELECT coalesce(max(inbound_id), 0) AS id FROM recado.messages
      WHERE tenant = $1 AND contact = recado.contact_key($2) AND inbound_id IS NOT NULL
    )
    INSERT INTO recado.messages (tenant, contact, conversation, direction, provider, provider_id,
                                 inbound_id, origin, kind, body, status, occurred_at, created_at)
    SELECT i.tenant, recado.contact_key(i.conversation), i.conversation,
           CASE WHEN i.from_me THEN 'out' ELSE 'in' END, i.provider, i.message_id, i.id,
           CASE WHEN i.from_me THEN 'echo' ELSE '' END, coalesce(i.kind, 'text'), coalesce(i.body, ''),
           CASE WHEN i.from_me THEN 'sent' ELSE 'received' END,
           coalesce(i.occurred_at, i.received_at), i.received_at
    FROM recado.inbound i, last
    WHERE i.tenant = $1 AND i.conversation = $2 AND i.type = 'message' AND i.id > last.id
    ORDER BY i.id
    ON CONFLICT (tenant, provider, provider_id) WHERE provider_id IS NOT NULL DO NOTHING
  )SQL";
  exec(tx, "recado_history_copy", kCopy, tenant, conversation);
  exec(tx, "recado_reply_known",
       "INSERT INTO recado.conversations (tenant, contact) VALUES ($1, recado.contact_key($2)) "
       "ON CONFLICT (tenant, contact) DO NOTHING",
       tenant, conversation);
  static const std::string kConversation = R"SQL(
    UPDATE recado.conversations c
    SET name = coalesce((SELECT i.sender_name FROM recado.inbound i
                         WHERE i.tenant = $1 AND i.conversation = $2 AND i.type = 'message'
                           AND NOT i.from_me AND i.sender_name <> ''
                         ORDER BY i.id DESC LIMIT 1), c.name),
        last_inbound_at = (SELECT max(m.occurred_at) FROM recado.messages m
                           WHERE m.tenant = $1 AND m.contact = c.contact AND m.direction = 'in')
    WHERE c.tenant = $1 AND c.contact = recado.contact_key($2)
    RETURNING c.contact, c.name, c.handed_off, c.replied_through, c.fallback_through
  )SQL";
  ReplyState state;
  const auto conv = exec(tx, "recado_reply_conversation", kConversation, tenant, conversation);
  {
    state.contact = conv[0][0].as<std::string>();
    state.name = conv[0][1].as<std::string>();
    state.handed_off = conv[0][2].as<bool>();
    state.replied_through = conv[0][3].as<int64_t>();
    state.fallback_through = conv[0][4].as<int64_t>();
  }
  static const std::string kState = "SELECT " + pause_of("$1") + R"SQL(,
      (SELECT coalesce(max(id), 0) FROM recado.messages
       WHERE tenant = $1 AND contact = $2 AND direction = 'in'))SQL";
  const auto s = exec(tx, "recado_reply_state", kState, tenant, state.contact);
  if (!s[0][0].is_null()) state.paused = s[0][0].as<std::string>();
  state.newest_inbound = s[0][1].as<int64_t>();
  static const std::string kHistory = "SELECT id, direction = 'in', origin, kind, body, " +
                                      epoch_us("occurred_at") + R"SQL(
    FROM recado.messages
    WHERE tenant = $1 AND contact = $2 AND status <> 'discarded'
    ORDER BY id DESC LIMIT $3
  )SQL";
  int64_t bytes = 0;
  for (const auto& row : exec(tx, "recado_reply_history", kHistory, tenant, state.contact, history_messages)) {
    StoredMessage m;
    m.id = row[0].as<int64_t>();
    m.inbound = row[1].as<bool>();
    m.origin = row[2].as<std::string>();
    m.kind = row[3].as<std::string>();
    m.body = row[4].as<std::string>();
    m.at = from_epoch_micros(row[5].as<int64_t>());
    bytes += static_cast<int64_t>(m.body.size());
    if (!state.history.empty() && bytes > history_bytes) break;  // the newest always goes in
    state.history.push_back(std::move(m));
  }
  std::reverse(state.history.begin(), state.history.end());
  static const std::string kBookings = "SELECT uid, title, " + epoch_us("start_at") + ", " +
                                       epoch_us("end_at") + R"SQL(
    FROM recado.bookings
    WHERE tenant = $1 AND contact = $2 AND contact <> '' AND status = 'accepted'
      AND start_at > 'epoch'::timestamptz + $3 * interval '1 microsecond'
    ORDER BY start_at LIMIT 5
  )SQL";
  for (const auto& b : exec(tx, "recado_reply_bookings", kBookings, tenant, state.contact, epoch_micros(now)))
    state.bookings.push_back(UpcomingBooking{b[0].as<std::string>(), b[1].as<std::string>(),
                                             from_epoch_micros(b[2].as<int64_t>()),
                                             from_epoch_micros(b[3].as<int64_t>())});
  static const std::string kLimits = R"SQL(
    WITH recent AS (  -- a contact's newest messages are enough to count a minute's and an hour's
      SELECT direction, origin, created_at FROM recado.messages
      WHERE tenant = $1 AND contact = $2 ORDER BY id DESC LIMIT 500
    )
    SELECT count(*) FILTER (WHERE direction = 'in' AND created_at > now_at - interval '1 minute'),
           count(*) FILTER (WHERE mine AND created_at > now_at - interval '1 hour'),
           )SQL" + epoch_us("min(created_at) FILTER (WHERE mine AND created_at > now_at - interval '1 hour')") + ",\n           " +
                                     epoch_us("max(created_at) FILTER (WHERE mine)") + R"SQL(
    FROM (SELECT *, direction = 'out' AND origin IN (')SQL" + reply_origins() + R"SQL(') AS mine,
                 'epoch'::timestamptz + $3 * interval '1 microsecond' AS now_at FROM recent) r
  )SQL";
  const auto l = exec(tx, "recado_reply_limits", kLimits, tenant, state.contact, epoch_micros(now));
  state.inbound_last_minute = l[0][0].as<int>();
  state.replies_last_hour = l[0][1].as<int>();
  if (!l[0][2].is_null()) state.oldest_reply_in_hour = from_epoch_micros(l[0][2].as<int64_t>());
  if (!l[0][3].is_null()) state.newest_reply = from_epoch_micros(l[0][3].as<int64_t>());
  tx.commit();
  return state;
}

int64_t queue_outbound(pqxx::transaction_base& tx, const Outbound& message) {
  static const std::string kMessage = R"SQL(
    INSERT INTO recado.messages (tenant, contact, conversation, direction, provider, origin, body, status,
                                 occurred_at, created_at)
    SELECT $1, recado.contact_key($2), $2, 'out', $3, $4, $5, 'queued', at, at
    FROM (SELECT coalesce('epoch'::timestamptz + $6 * interval '1 microsecond', now()) AS at) t
    RETURNING id, contact
  )SQL";
  const auto m = exec(tx, "recado_outbound_message", kMessage, message.tenant, message.conversation,
                      message.provider, message.origin, message.body,
                      message.at ? std::optional<int64_t>(epoch_micros(*message.at)) : std::nullopt);
  const int64_t id = m[0][0].as<int64_t>();
  static const std::string kJob = R"SQL(
    WITH job AS (
      INSERT INTO recado.jobs (queue, kind, payload, sequence_key, max_attempts)
      VALUES ($1, $1, jsonb_build_object('tenant', $2::text, 'message_id', $3::bigint),
              'send:' || $2 || ':' || $4, 10)
      RETURNING id
    ), wake AS (
      SELECT pg_notify('recado_jobs', $1)
    )
    UPDATE recado.messages SET job_id = (SELECT id FROM job)
    WHERE id = $3 AND EXISTS (SELECT 1 FROM wake)
  )SQL";
  exec(tx, "recado_outbound_job", kJob, std::string(kSendQueue), message.tenant, id, m[0][1].as<std::string>());
  return id;
}

void mark_replied(pqxx::transaction_base& tx, const std::string& tenant, const std::string& contact,
                  int64_t through) {
  static const std::string kSql =
      "UPDATE recado.conversations SET replied_through = greatest(replied_through, $3), updated_at = now() "
      "WHERE tenant = $1 AND contact = $2";
  exec(tx, "recado_mark_replied", kSql, tenant, contact, through);
}

void mark_fallback(pqxx::transaction_base& tx, const std::string& tenant, const std::string& contact,
                   int64_t through) {
  static const std::string kSql =
      "UPDATE recado.conversations SET fallback_through = greatest(fallback_through, $3), updated_at = now() "
      "WHERE tenant = $1 AND contact = $2";
  exec(tx, "recado_mark_fallback", kSql, tenant, contact, through);
}

SendState load_send(pqxx::connection& conn, int64_t message_id) {
  pqxx::read_transaction tx(conn);
  static const std::string kSql = R"SQL(
    SELECT m.tenant, m.contact, m.conversation, m.provider, m.origin, m.body, m.status,
           coalesce(m.provider_id, ''), m.outcome_unknown, coalesce(c.handed_off, false),
           )SQL" + pause_of("m.tenant") + ", " + epoch_us(R"SQL(greatest(
             (SELECT max(i.occurred_at) FROM recado.messages i
              WHERE i.tenant = m.tenant AND i.contact = m.contact AND i.direction = 'in'),
             (SELECT max(w.received_at) FROM recado.inbound w
              WHERE w.tenant = m.tenant AND w.conversation = m.conversation AND w.type = 'message'
                AND NOT w.from_me)))SQL") + R"SQL(
    FROM recado.messages m
    LEFT JOIN recado.conversations c ON c.tenant = m.tenant AND c.contact = m.contact
    WHERE m.id = $1 AND m.direction = 'out'
  )SQL";
  const auto r = exec(tx, "recado_load_send", kSql, message_id);
  SendState s;
  if (r.empty()) return s;
  const auto& row = r[0];
  s.found = true;
  s.tenant = row[0].as<std::string>();
  s.contact = row[1].as<std::string>();
  s.conversation = row[2].as<std::string>();
  s.provider = row[3].as<std::string>();
  s.origin = row[4].as<std::string>();
  s.body = row[5].as<std::string>();
  s.status = row[6].as<std::string>();
  s.provider_id = row[7].as<std::string>();
  s.outcome_unknown = row[8].as<bool>();
  s.handed_off = row[9].as<bool>();
  if (!row[10].is_null()) s.paused = row[10].as<std::string>();
  s.last_inbound = opt_time(row[11]);
  return s;
}

void mark_outcome_unknown(pqxx::connection& conn, int64_t message_id) {
  pqxx::work tx(conn);
  exec(tx, "recado_send_unknown", "UPDATE recado.messages SET outcome_unknown = true WHERE id = $1", message_id);
  tx.commit();
}

void record_sent(pqxx::transaction_base& tx, int64_t message_id, const std::string& provider_id,
                 Timestamp at) {
  static const std::string kEcho = R"SQL(
    DELETE FROM recado.messages e USING recado.messages m
    WHERE m.id = $1 AND e.tenant = m.tenant AND e.provider = m.provider AND e.provider_id = $2
      AND e.id <> m.id
  )SQL";
  exec(tx, "recado_sent_echo", kEcho, message_id, provider_id);
  static const std::string kSent = R"SQL(
    UPDATE recado.messages
    SET provider_id = nullif($2, ''), sent_at = 'epoch'::timestamptz + $3 * interval '1 microsecond',
        status = CASE WHEN recado.status_rank(status) < 1 THEN 'sent' ELSE status END,
        status_at = now()
    WHERE id = $1
  )SQL";
  exec(tx, "recado_sent", kSent, message_id, provider_id, epoch_micros(at));
  // A status the gateway sent before this record existed (webhooks race the send's answer).
  static const std::string kEarly = R"SQL(
    UPDATE recado.messages m SET status = best.status, status_at = now()
    FROM (
      SELECT recado.delivery_status(i.kind) AS status
      FROM recado.messages x JOIN recado.inbound i
        ON i.tenant = x.tenant AND i.conversation = x.conversation AND i.type = 'status'
       AND i.provider = x.provider AND i.message_id = $2
      WHERE x.id = $1 AND recado.delivery_status(i.kind) IS NOT NULL
      ORDER BY recado.status_rank(recado.delivery_status(i.kind)) DESC LIMIT 1
    ) best
    WHERE m.id = $1 AND recado.status_rank(best.status) > recado.status_rank(m.status)
  )SQL";
  exec(tx, "recado_sent_early_status", kEarly, message_id, provider_id);
}

void record_discarded(pqxx::transaction_base& tx, int64_t message_id, const std::string& reason) {
  exec(tx, "recado_send_discarded",
       "UPDATE recado.messages SET status = 'discarded', error = $2, status_at = now() WHERE id = $1",
       message_id, reason);
}

}  // namespace recado::message_store
