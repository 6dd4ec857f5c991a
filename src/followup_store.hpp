#pragma once
// Bookings as recado mirrors them from Cal.com, and the follow-ups planned for bookings and
// contacts (recado.bookings, recado.followups, migration 6). A follow-up is one row per
// tenant, subject (booking:UID or contact:CONTACT) and rule, whatever happens: planning it
// again moves it, never doubles it, and one already sent stays sent. Each planned row owns one
// scheduled `followup` job. Blocking SQL in the caller's transaction; database threads only.
#include <pqxx/pqxx>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "src/clock.hpp"

namespace recado::followup_store {

struct BookingRow {
  std::string tenant, uid;
  std::optional<int64_t> calcom_id;
  std::string status;  // lower case: accepted, pending, cancelled, rejected, rescheduled
  Timestamp start, end;
  std::string title, attendee_name, attendee_email, attendee_phone, attendee_time_zone;
  std::optional<int64_t> event_type_id;
  std::string rescheduled_from;
  std::string source;  // webhook, sync
};

// Stores the booking as Cal.com last described it and returns its status now. Cancelled,
// rejected and rescheduled are final (Cal.com makes a new booking for a new time), so a late
// or replayed older event does not bring a booking back.
std::string upsert_booking(pqxx::transaction_base& tx, const BookingRow& booking);
std::optional<BookingRow> load_booking(pqxx::transaction_base& tx, const std::string& tenant,
                                       const std::string& uid);
// Sets a booking's status (a reschedule's old booking, one a sync no longer finds).
void set_booking_status(pqxx::transaction_base& tx, const std::string& tenant, const std::string& uid,
                        const std::string& status);
// The tenant's accepted bookings starting in [from, to) that are not in `seen`.
std::vector<std::string> accepted_bookings_missing(pqxx::transaction_base& tx, const std::string& tenant,
                                                   Timestamp from, Timestamp to,
                                                   const std::vector<std::string>& seen);

// The queue and kind of follow-up jobs.
inline constexpr const char* kQueue = "followup";

// Plans the follow-up (tenant, subject, rule) at `due`, or moves it there, with its job
// (payload `payload_json`). One already sent is left alone unless `again` (a quiet-contact
// nudge, planned anew after every reply). Returns the job's id, or 0 when left alone.
int64_t plan(pqxx::transaction_base& tx, const std::string& tenant, const std::string& subject,
             const std::string& rule, Timestamp due, const std::string& payload_json, bool again);

// Cancels the planned follow-ups of `subject` whose rule is not in `keep`, with their jobs.
// Returns how many.
int cancel(pqxx::transaction_base& tx, const std::string& tenant, const std::string& subject,
           const std::vector<std::string>& keep, const std::string& reason);

struct FollowupRow {
  std::string state;  // planned, sent, skipped, cancelled
  Timestamp due;
  int64_t job_id = 0;
};
std::optional<FollowupRow> load(pqxx::transaction_base& tx, const std::string& tenant,
                                const std::string& subject, const std::string& rule);
// Ends a planned follow-up: sent, or skipped (with why).
void finish(pqxx::transaction_base& tx, const std::string& tenant, const std::string& subject,
            const std::string& rule, const std::string& state, const std::string& reason);

// What a follow-up job needs when it fires.
struct FireState {
  std::optional<FollowupRow> followup;
  std::optional<BookingRow> booking;   // subject booking:UID
  std::string contact, conversation;   // where the message goes ("" when unknown)
  std::string name;                    // the contact's
  bool handed_off = false;
  std::optional<std::string> paused;   // the pause that holds the tenant
  bool last_is_ours = false;           // the conversation's newest message is outbound
  std::optional<Timestamp> last_at;    // and when it was written
};
FireState load_fire_state(pqxx::connection& conn, const std::string& tenant, const std::string& subject,
                          const std::string& rule);

}  // namespace recado::followup_store
