#pragma once
// The simulated Cal.com API v2: bookings the simulator holds (list, create, cancel,
// reschedule) and the free slots around them. The calendar is deterministic: every weekday
// (Monday to Friday), 09:00 to 17:00 UTC, one 30-minute slot every 30 minutes (09:00 ...
// 16:30 UTC), minus the starts of accepted bookings: a slot disappears when booked and comes
// back when its booking is cancelled or rescheduled away.
//
// Booking a start that an accepted booking holds answers what Cal.com answers: 400
// {"status":"error","error":{"code":"BadRequestException","message":"User either already has
// booking at this time or is not available"}} (kSlotTakenMessage). Rescheduling
// (POST /v2/bookings/{uid}/reschedule) makes a new booking (new uid, "rescheduledFromUid")
// and cancels the old one ("rescheduled":true, "rescheduledToUid").
//
// GET /v2/slots reads start and end in UTC (as Cal.com does; a date alone is that day's
// 00:00 UTC for start, the end of that day for end) and answers in `timeZone` when given:
// each start in RFC 3339 with that zone's offset ("2026-11-27T06:00:00.000-03:00") under
// the date it has in that zone; without timeZone, in UTC ("2026-11-27T09:00:00.000Z").
// Not thread-safe: the simulator keeps one, on its loop thread.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/clock.hpp"
#include "src/http_request_parser.hpp"
#include "src/http_server.hpp"
#include "src/sim_providers.hpp"

namespace recado {

struct SimBooking {
  int64_t id = 0;
  std::string uid;
  std::string title;
  std::string status = "accepted";  // accepted | cancelled
  Timestamp start;
  Timestamp end;
  int64_t event_type_id = 0;
  std::string attendee_name;
  std::string attendee_email;
  std::string attendee_time_zone;
  std::string attendee_phone;
  std::string cancellation_reason;
  Timestamp created_at;
  bool rescheduled = false;          // cancelled by a reschedule
  std::string rescheduled_from_uid;  // this booking replaces that one
  std::string rescheduled_to_uid;    // this (cancelled) booking was moved to that one
  std::string rescheduling_reason;
};

// Cal.com's message when the start is no longer free.
inline constexpr std::string_view kSlotTakenMessage =
    "User either already has booking at this time or is not available";

class CalcomSim {
 public:
  // GET /v2/bookings[?status=upcoming,past,cancelled&afterStart=&beforeEnd=&attendeeEmail=
  //                  &eventTypeId=&take=&skip=]
  HttpResponse list_bookings(const HttpRequest& request, const SimContext& ctx) const;
  // POST /v2/bookings {"start","eventTypeId","attendee":{"name","email","timeZone","phoneNumber"?},
  //                    "lengthInMinutes"?}: 201, or 400 when the start is not a free slot.
  HttpResponse create_booking(const HttpRequest& request, const SimContext& ctx);
  // POST /v2/bookings/{uid}/cancel {"cancellationReason"?}
  HttpResponse cancel_booking(const HttpRequest& request, std::string_view uid,
                              const SimContext& ctx);
  // POST /v2/bookings/{uid}/reschedule {"start", "reschedulingReason"?, "rescheduledBy"?}:
  // 201 with the new booking (same attendee, event type and length); 404 for an unknown uid;
  // 400 when the booking is cancelled (naming the booking it was rescheduled to, if any) or
  // the start is not a free slot (the booking's own start counts as free).
  HttpResponse reschedule_booking(const HttpRequest& request, std::string_view uid,
                                  const SimContext& ctx);
  // GET /v2/slots?eventTypeId=&start=&end=[&timeZone=] (start/end: dates or RFC 3339 times;
  // a date-only end includes that day). At most 62 days. An unknown timeZone is a 400.
  HttpResponse slots(const HttpRequest& request) const;

  const std::vector<SimBooking>& bookings() const { return bookings_; }
  void clear() { bookings_.clear(); }

  // Whether `start` begins a slot of the calendar (ignoring bookings).
  static bool on_calendar(Timestamp start);

 private:
  // Whether an accepted booking other than `except_uid` starts at `start`.
  bool taken(Timestamp start, std::string_view except_uid = {}) const;
  // The checks a new start must pass (the past, the calendar, free): the refusal, if any.
  std::optional<HttpResponse> refuse_start(Timestamp start, const SimContext& ctx,
                                           std::string_view except_uid = {}) const;

  std::vector<SimBooking> bookings_;
  int64_t next_id_ = 1001;
};

}  // namespace recado
