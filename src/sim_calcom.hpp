#pragma once
// The simulated Cal.com API v2: bookings the simulator holds (list, create, cancel) and
// the free slots around them. The calendar is deterministic: every weekday (Monday to
// Friday), 09:00 to 17:00 UTC, one 30-minute slot every 30 minutes (09:00 ... 16:30), minus
// the starts of accepted bookings. Slots are always given in UTC (timeZone is accepted and
// not applied). Not thread-safe: the simulator keeps one, on its loop thread.
#include <cstdint>
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
};

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
  // GET /v2/slots?eventTypeId=&start=&end=[&timeZone=] (start/end: dates or RFC 3339 times;
  // a date-only end includes that day). At most 62 days.
  HttpResponse slots(const HttpRequest& request) const;

  const std::vector<SimBooking>& bookings() const { return bookings_; }
  void clear() { bookings_.clear(); }

  // Whether `start` begins a slot of the calendar (ignoring bookings).
  static bool on_calendar(Timestamp start);

 private:
  bool taken(Timestamp start) const;

  std::vector<SimBooking> bookings_;
  int64_t next_id_ = 1001;
};

}  // namespace recado
