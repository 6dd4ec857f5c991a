#include "src/followup_store.hpp"

#include <nlohmann/json.hpp>

#include "src/job_sql.hpp"

namespace recado::followup_store {

namespace {

using job_sql::exec;

const std::string kBookingColumns =
    "tenant, uid, calcom_id, status, (extract(epoch FROM start_at) * 1000000)::bigint, "
    "(extract(epoch FROM end_at) * 1000000)::bigint, title, attendee_name, attendee_email, "
    "attendee_phone, attendee_time_zone, event_type_id, coalesce(rescheduled_from, ''), source";

std::string text_array(const std::vector<std::string>& items) {
  job_sql::ArrayLiteral array;
  for (const std::string& item : items) array.text(item);
  return array.done();
}

}  // namespace

std::string upsert_booking(pqxx::transaction_base& tx, const BookingRow& b) {
  static const std::string kSql = R"SQL(
    INSERT INTO recado.bookings AS b (tenant, uid, calcom_id, status, start_at, end_at, title,
        attendee_name, attendee_email, attendee_phone, attendee_time_zone, contact, event_type_id,
        rescheduled_from, source)
    VALUES ($1, $2, $3, $4, 'epoch'::timestamptz + $5 * interval '1 microsecond',
            'epoch'::timestamptz + $6 * interval '1 microsecond', $7, $8, $9, $10, $11,
            recado.contact_key($10), $12, nullif($13, ''), $14)
    ON CONFLICT (tenant, uid) DO UPDATE SET
      calcom_id = coalesce(EXCLUDED.calcom_id, b.calcom_id),
      status = CASE WHEN b.status IN ('cancelled', 'rejected', 'rescheduled') THEN b.status
                    ELSE EXCLUDED.status END,
      start_at = EXCLUDED.start_at, end_at = EXCLUDED.end_at,
      title = coalesce(nullif(EXCLUDED.title, ''), b.title),
      attendee_name = coalesce(nullif(EXCLUDED.attendee_name, ''), b.attendee_name),
      attendee_email = coalesce(nullif(EXCLUDED.attendee_email, ''), b.attendee_email),
      attendee_phone = coalesce(nullif(EXCLUDED.attendee_phone, ''), b.attendee_phone),
      attendee_time_zone = coalesce(nullif(EXCLUDED.attendee_time_zone, ''), b.attendee_time_zone),
      contact = coalesce(nullif(EXCLUDED.contact, ''), b.contact),
      event_type_id = coalesce(EXCLUDED.event_type_id, b.event_type_id),
      rescheduled_from = coalesce(EXCLUDED.rescheduled_from, b.rescheduled_from),
      source = EXCLUDED.source, updated_at = now()
    RETURNING status
  )SQL";
  return exec(tx, "recado_booking_upsert", kSql, b.tenant, b.uid, b.calcom_id, b.status, epoch_micros(b.start),
       epoch_micros(b.end), b.title, b.attendee_name, b.attendee_email, b.attendee_phone,
       b.attendee_time_zone, b.event_type_id, b.rescheduled_from, b.source)[0][0].as<std::string>();
}

std::optional<BookingRow> load_booking(pqxx::transaction_base& tx, const std::string& tenant,
                                       const std::string& uid) {
  static const std::string kSql =
      "SELECT " + kBookingColumns + " FROM recado.bookings WHERE tenant = $1 AND uid = $2";
  const auto r = exec(tx, "recado_booking_load", kSql, tenant, uid);
  if (r.empty()) return std::nullopt;
  const auto& row = r[0];
  BookingRow b;
  b.tenant = row[0].as<std::string>();
  b.uid = row[1].as<std::string>();
  if (!row[2].is_null()) b.calcom_id = row[2].as<int64_t>();
  b.status = row[3].as<std::string>();
  b.start = from_epoch_micros(row[4].as<int64_t>());
  b.end = from_epoch_micros(row[5].as<int64_t>());
  b.title = row[6].as<std::string>();
  b.attendee_name = row[7].as<std::string>();
  b.attendee_email = row[8].as<std::string>();
  b.attendee_phone = row[9].as<std::string>();
  b.attendee_time_zone = row[10].as<std::string>();
  if (!row[11].is_null()) b.event_type_id = row[11].as<int64_t>();
  b.rescheduled_from = row[12].as<std::string>();
  b.source = row[13].as<std::string>();
  return b;
}

void set_booking_status(pqxx::transaction_base& tx, const std::string& tenant, const std::string& uid,
                        const std::string& status) {
  exec(tx, "recado_booking_status",
       "UPDATE recado.bookings SET status = $3, updated_at = now() WHERE tenant = $1 AND uid = $2",
       tenant, uid, status);
}

std::vector<std::string> accepted_bookings_missing(pqxx::transaction_base& tx, const std::string& tenant,
                                                   Timestamp from, Timestamp to,
                                                   const std::vector<std::string>& seen) {
  static const std::string kSql = R"SQL(
    SELECT uid FROM recado.bookings
    WHERE tenant = $1 AND status = 'accepted'
      AND start_at >= 'epoch'::timestamptz + $2 * interval '1 microsecond'
      AND start_at < 'epoch'::timestamptz + $3 * interval '1 microsecond'
      AND uid <> ALL ($4::text[])
    ORDER BY start_at
  )SQL";
  std::vector<std::string> out;
  for (const auto& row : exec(tx, "recado_bookings_missing", kSql, tenant, epoch_micros(from), epoch_micros(to), text_array(seen)))
    out.push_back(row[0].as<std::string>());
  return out;
}

int64_t plan(pqxx::transaction_base& tx, const std::string& tenant, const std::string& subject,
             const std::string& rule, Timestamp due, const std::string& payload_json, bool again) {
  static const std::string kRow = R"SQL(
    INSERT INTO recado.followups AS f (tenant, subject, rule, due_at, state)
    VALUES ($1, $2, $3, 'epoch'::timestamptz + $4 * interval '1 microsecond', 'planned')
    ON CONFLICT (tenant, subject, rule) DO UPDATE
      SET due_at = EXCLUDED.due_at, state = 'planned', reason = '', updated_at = now()
      WHERE f.state <> 'sent' OR $5
    RETURNING coalesce(f.job_id, 0)
  )SQL";
  const auto row = exec(tx, "recado_followup_plan", kRow, tenant, subject, rule, epoch_micros(due), again);
  if (row.empty()) return 0;  // sent already
  const int64_t job = row[0][0].as<int64_t>();
  // Move the waiting job; a job that is gone (it ran) or running gets a successor.
  static const std::string kMove = R"SQL(
    UPDATE recado.jobs SET run_at = 'epoch'::timestamptz + $2 * interval '1 microsecond', payload = $3::jsonb
    WHERE id = $1 AND state IN ('available', 'retryable')
    RETURNING id
  )SQL";
  if (job != 0 && !exec(tx, "recado_followup_move", kMove, job, epoch_micros(due), payload_json).empty()) return job;
  static const std::string kJob = R"SQL(
    WITH job AS (
      INSERT INTO recado.jobs (queue, kind, payload, run_at, dedup_key)
      VALUES ($1, $1, $5::jsonb, 'epoch'::timestamptz + $6 * interval '1 microsecond',
              'followup:' || $2 || ':' || $3 || ':' || $4)
      ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL
        DO UPDATE SET run_at = EXCLUDED.run_at, payload = EXCLUDED.payload
      RETURNING id
    )
    UPDATE recado.followups SET job_id = (SELECT id FROM job)
    WHERE tenant = $2 AND subject = $3 AND rule = $4
    RETURNING job_id
  )SQL";
  return exec(tx, "recado_followup_job", kJob, std::string(kQueue), tenant, subject, rule, payload_json,
              epoch_micros(due))[0][0].as<int64_t>();
}

int cancel(pqxx::transaction_base& tx, const std::string& tenant, const std::string& subject,
           const std::vector<std::string>& keep, const std::string& reason) {
  static const std::string kSql = R"SQL(
    WITH dropped AS (
      UPDATE recado.followups SET state = 'cancelled', reason = $4, updated_at = now()
      WHERE tenant = $1 AND subject = $2 AND state = 'planned'
        AND rule <> ALL ($3::text[])
      RETURNING job_id
    ), gone AS (
      DELETE FROM recado.jobs j USING dropped
      WHERE j.id = dropped.job_id AND j.state IN ('available', 'retryable')
      RETURNING j.*
    ), archived AS (
  )SQL" + job_sql::archive("gone", "cancelled") + R"SQL(
      RETURNING 1
    )
    SELECT count(*) FROM dropped
  )SQL";
  return exec(tx, "recado_followup_cancel", kSql, tenant, subject, text_array(keep), reason)[0][0].as<int>();
}

std::optional<FollowupRow> load(pqxx::transaction_base& tx, const std::string& tenant,
                                const std::string& subject, const std::string& rule) {
  static const std::string kSql = R"SQL(
    SELECT state, (extract(epoch FROM due_at) * 1000000)::bigint, coalesce(job_id, 0)
    FROM recado.followups WHERE tenant = $1 AND subject = $2 AND rule = $3
  )SQL";
  const auto r = exec(tx, "recado_followup_load", kSql, tenant, subject, rule);
  if (r.empty()) return std::nullopt;
  return FollowupRow{r[0][0].as<std::string>(), from_epoch_micros(r[0][1].as<int64_t>()), r[0][2].as<int64_t>()};
}

void finish(pqxx::transaction_base& tx, const std::string& tenant, const std::string& subject,
            const std::string& rule, const std::string& state, const std::string& reason) {
  exec(tx, "recado_followup_finish",
       "UPDATE recado.followups SET state = $4, reason = $5, updated_at = now() "
       "WHERE tenant = $1 AND subject = $2 AND rule = $3",
       tenant, subject, rule, state, reason);
}

FireState load_fire_state(pqxx::connection& conn, const std::string& tenant, const std::string& subject,
                          const std::string& rule) {
  pqxx::read_transaction tx(conn);
  FireState s;
  s.followup = load(tx, tenant, subject, rule);
  if (subject.starts_with("booking:")) {
    s.booking = load_booking(tx, tenant, subject.substr(8));
    if (s.booking) {
      s.name = s.booking->attendee_name;
      s.conversation = s.booking->attendee_phone;
    }
    s.contact = exec(tx, "recado_contact_key", "SELECT recado.contact_key($1)", s.conversation)[0][0].as<std::string>();
  } else if (subject.starts_with("contact:")) {
    s.contact = subject.substr(8);
  }
  static const std::string kSql = R"SQL(
    SELECT (SELECT conversation FROM recado.messages
            WHERE tenant = $1 AND contact = $2 ORDER BY id DESC LIMIT 1),
           (SELECT direction = 'out' FROM recado.messages
            WHERE tenant = $1 AND contact = $2 AND status <> 'discarded' ORDER BY id DESC LIMIT 1),
           (SELECT (extract(epoch FROM created_at) * 1000000)::bigint FROM recado.messages
            WHERE tenant = $1 AND contact = $2 AND status <> 'discarded' ORDER BY id DESC LIMIT 1),
           c.name, coalesce(c.handed_off, false),
           (SELECT scope FROM recado.pauses WHERE scope = $1 OR scope = '*' ORDER BY scope = '*' DESC LIMIT 1)
    FROM (SELECT 1) one
    LEFT JOIN recado.conversations c ON c.tenant = $1 AND c.contact = $2
  )SQL";
  const auto r = exec(tx, "recado_followup_fire_state", kSql, tenant, s.contact);
  const auto& row = r[0];
  if (!row[0].is_null()) s.conversation = row[0].as<std::string>();  // as the gateway knows the chat
  s.last_is_ours = !row[1].is_null() && row[1].as<bool>();
  if (!row[2].is_null()) s.last_at = from_epoch_micros(row[2].as<int64_t>());
  if (!row[3].is_null() && s.name.empty()) s.name = row[3].as<std::string>();
  s.handed_off = row[4].as<bool>();
  if (!row[5].is_null()) s.paused = row[5].as<std::string>();
  return s;
}

}  // namespace recado::followup_store
