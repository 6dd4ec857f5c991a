#pragma once
// The Cal.com adapter: the API v2 requests recado makes and the reading of their answers and
// of Cal.com's webhook bodies (shared/protocols.md, "Cal.com" and "Cal.com API v2"):
//   GET {base}/v2/bookings?status=upcoming&afterStart=&take=&skip=   cal-api-version 2024-08-13
//   GET {base}/v2/slots?eventTypeId=&start=&end=&timeZone=            cal-api-version 2024-09-04
// both with Authorization: Bearer <api key>. Query values are percent-encoded.
// Pure functions: no sockets, no clock, no state; safe from any thread. What an error status
// means (retry, permanent, breaker) is src/call_verdict's business: the parsers read a 2xx
// body, or a webhook body the ingress already authenticated and stored.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "src/clock.hpp"
#include "src/http_client.hpp"

namespace recado::jobs::providers {

struct CalcomEndpoint {
  // Scheme, host and optional path prefix, with or without a trailing slash (https://api.cal.com,
  // or a self-hosted https://cal.example.com/api). A base already ending in "/v2" is taken as is.
  std::string base_url;
  std::string api_key;                          // sent as Authorization: Bearer
  std::string bookings_version = "2024-08-13";  // cal-api-version for /v2/bookings
  std::string slots_version = "2024-09-04";     // cal-api-version for /v2/slots
};

// A body that is not what Cal.com sends: not JSON, an error object in a 2xx answer, a required
// field missing or of the wrong type. what() names the field by its path in the body
// ("data[2].start", "payload.uid") and quotes at most 200 characters of what was there; it
// never quotes a whole booking (names, emails and phone numbers stay out of logs).
struct CalcomBodyError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One booking, the same whether read from the API or from a webhook.
struct Booking {
  std::string uid;            // never empty
  std::optional<int64_t> id;  // Cal.com's numeric id (API "id", webhook "bookingId")
  std::string title;
  // Lower case, as the API says it: accepted, pending, cancelled, rejected. Webhooks say
  // ACCEPTED / CANCELLED / AWAITING_HOST...; there BOOKING_CANCELLED means cancelled and
  // BOOKING_REJECTED rejected whatever the body says; a body without a status is accepted
  // for BOOKING_CREATED / BOOKING_RESCHEDULED, pending for BOOKING_REQUESTED, else "".
  std::string status;
  Timestamp start;
  Timestamp end;
  // The booker: attendees[0] (falling back to the name and email booking-form answers).
  std::string attendee_name;
  std::string attendee_email;
  std::string attendee_phone;  // digits only (country code first when given), "" if unknown
  std::string attendee_time_zone;
  std::optional<int64_t> event_type_id;
  // The uid of the booking this one replaced (webhook rescheduleUid; API rescheduledFromUid
  // or fromReschedule), "" if none.
  std::string rescheduled_from;
};

// The API's page size limit.
inline constexpr int kCalcomMaxTake = 250;

// GET {base}/v2/bookings?status=upcoming&afterStart=<RFC 3339 UTC>&take=<n>&skip=<n>, with
// eventTypeId=<id> for one event type or eventTypeIds=<a>,<b> for several. Throws
// std::invalid_argument (a caller's or configuration bug) when the base URL, API key or
// version is empty, take is not 1 to kCalcomMaxTake, skip is negative or an id is not positive.
HttpCall build_bookings_page_call(const CalcomEndpoint& endpoint, Timestamp after_start, int take,
                                  int skip, const std::vector<int64_t>& event_type_ids = {});

struct BookingsPage {
  std::vector<Booking> bookings;  // in the order Cal.com gave them
  bool more = false;              // another page follows (ask again with skip += take)
};

// Reads a 2xx answer to build_bookings_page_call: {"status":"success","data":[...],
// "pagination":{...}}. `more` comes from pagination.hasNextPage, else remainingItems, else
// currentPage < totalPages; without pagination a page of `take` bookings means more.
// Throws CalcomBodyError on a body that is not that; std::invalid_argument when take < 1.
BookingsPage parse_bookings_page(std::string_view body, int take);

// Reads a Cal.com webhook body exactly as received: the `payload`-wrapped BOOKING_* events
// and the flat MEETING_* bodies (the booking itself beside triggerEvent). The phone is the
// first phone number among attendees[0].phoneNumber, responses.attendeePhoneNumber,
// responses.phone, responses.smsReminderNumber (each a string or {"value": string}),
// responses.location when the booker
// gave their number as the location ({"value":"phone","optionValue":...}), and the booking's
// location when it is a phone number and not the organiser's ("userPhone"). Throws
// CalcomBodyError when the body is not JSON, has no triggerEvent, is about no booking
// (PING, FORM_SUBMITTED, ...) or lacks the uid, startTime or endTime of one (as
// BOOKING_NO_SHOW_UPDATED does: it carries only the uid and attendees' no-show flags).
Booking parse_booking_webhook(std::string_view body);

// GET {base}/v2/slots?eventTypeId=&start=&end=&timeZone= (start and end as RFC 3339 UTC; no
// timeZone when `time_zone` is empty, and Cal.com then answers in UTC). Throws
// std::invalid_argument when the base URL, key or version is empty, the event type id is not
// positive, or end is before start.
HttpCall build_slots_call(const CalcomEndpoint& endpoint, int64_t event_type_id, Timestamp start,
                          Timestamp end, std::string_view time_zone);

// A booking the secretary makes for a contact (POST /v2/bookings, cal-api-version
// bookings_version): {"start": RFC 3339 UTC, "eventTypeId", "attendee": {"name", "email",
// "timeZone", "phoneNumber" (E.164, "+" and digits), "language"}}; "language" and
// "phoneNumber" are left out when empty. `phone` may be written any way one phone number is
// ("5511987654321", "+55 (11) 98765-4321"), country code first; it is sent as "+<digits>".
// The three write calls below send content-type application/json, Authorization: Bearer and
// cal-api-version = bookings_version; a uid goes into the path percent-encoded.
struct NewBooking {
  int64_t event_type_id = 0;
  Timestamp start;
  std::string name, email, phone, time_zone, language;
};
// Throws std::invalid_argument when the base URL, key or version is empty, the event type id
// is not positive, name, email or time zone is empty (or only whitespace), or a phone is given
// that is not one phone number (8 to 15 digits).
HttpCall build_create_booking_call(const CalcomEndpoint& endpoint, const NewBooking& booking);
// POST /v2/bookings/{uid}/cancel {"cancellationReason"} (the reason left out when empty: {}).
// This and the reschedule call throw std::invalid_argument when the base URL, key or version
// or the uid is empty.
HttpCall build_cancel_booking_call(const CalcomEndpoint& endpoint, std::string_view uid,
                                   std::string_view reason);
// POST /v2/bookings/{uid}/reschedule {"start", "reschedulingReason"} (the reason left out
// when empty); Cal.com answers with the new booking (a new uid, rescheduledFromUid = uid).
HttpCall build_reschedule_booking_call(const CalcomEndpoint& endpoint, std::string_view uid,
                                       Timestamp start, std::string_view reason);

// Reads a 2xx answer to the three calls above: {"status":"success","data":{booking}} (data
// may be an array, for a recurring booking: the first), each booking read as
// parse_bookings_page reads one. Throws CalcomBodyError otherwise, with fields named by
// their path ("data.start", "data[0].uid").
Booking parse_booking_answer(std::string_view body);

// The message of a Cal.com error body ({"status":"error","error":{"code","message"}}, or a
// plain {"message"}, which NestJS may send as a list of messages: joined with "; "; or
// {"error":"..."}), at most 200 characters; "" when the body says none or is not JSON.
std::string calcom_error_message(std::string_view body);

// Reads a 2xx answer to build_slots_call, {"status":"success","data":{"2026-01-05":
// [{"start":"..."}, ...], ...}} (each slot may also have an "end", with format=range): the
// start instants of the free slots, earliest first, each once. Throws CalcomBodyError on a
// body that is not that.
std::vector<Timestamp> parse_slots(std::string_view body);

}  // namespace recado::jobs::providers
