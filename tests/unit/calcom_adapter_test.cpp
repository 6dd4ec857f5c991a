// The Cal.com adapter (jobs/providers/calcom): the exact API v2 requests (URL, query, headers,
// per shared/protocols.md), the reading of bookings pages, webhook bodies and slots as Cal.com
// sends them, the errors on bodies that are not that; and, against the provider simulator, that
// the built calls are accepted and the answers and webhooks it makes read back.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "jobs/providers/calcom.hpp"
#include "src/sim_thread.hpp"
#include "src/sim_webhooks.hpp"
#include "src/time_format.hpp"
#include "src/webhook_decode.hpp"
#include "tests/support/http_client.hpp"

namespace recado::jobs::providers {
namespace {

using json = nlohmann::json;
using Headers = std::map<std::string, std::string>;
using namespace std::chrono_literals;

Timestamp at(const char* rfc3339) {
  auto t = parse_rfc3339(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return t.value_or(Timestamp{});
}

Headers headers_of(const HttpCall& call) {
  Headers out;
  for (const auto& [name, value] : call.headers) {
    EXPECT_EQ(out.count(name), 0u) << "header sent twice: " << name;
    out[name] = value;
  }
  return out;
}

CalcomEndpoint endpoint(std::string base = "https://api.cal.com") {
  CalcomEndpoint e;
  e.base_url = std::move(base);
  e.api_key = "cal_live_0123456789abcdef";
  return e;
}

// The error a parser throws on `body`, or "" when it throws none.
template <typename Parse>
std::string error_of(Parse parse) {
  try {
    parse();
  } catch (const CalcomBodyError& e) {
    return e.what();
  }
  return "";
}

// --- Bodies as Cal.com sends them (values made up) -----------------------------------------

// GET /v2/bookings, cal-api-version 2024-08-13: a booking with its phone on the attendee, and
// a pending rescheduled one whose phone is only in the booking form.
constexpr const char* kApiPage = R"({
  "status": "success",
  "data": [
    {
      "id": 321, "uid": "wR4sKq8fPzN2mYtVbXc7Lh",
      "title": "Consulta entre Dra. Helena Costa e Ana Souza", "description": "",
      "hosts": [{"id": 12, "name": "Dra. Helena Costa", "email": "helena@clinica.example",
                 "username": "helena", "timeZone": "America/Sao_Paulo"}],
      "status": "accepted",
      "start": "2026-01-05T13:00:00.000Z", "end": "2026-01-05T13:30:00.000Z", "duration": 30,
      "eventTypeId": 55, "eventType": {"id": 55, "slug": "consulta"},
      "meetingUrl": "https://app.cal.com/video/wR4sKq8fPzN2mYtVbXc7Lh",
      "location": "https://app.cal.com/video/wR4sKq8fPzN2mYtVbXc7Lh",
      "absentHost": false, "createdAt": "2025-12-20T18:02:11.000Z",
      "updatedAt": "2025-12-20T18:02:11.000Z", "metadata": {}, "rating": null,
      "icsUid": "wR4sKq8fPzN2mYtVbXc7Lh@Cal.com",
      "attendees": [{"name": "Ana Souza", "email": "ana.souza@example.com",
                     "timeZone": "America/Sao_Paulo", "phoneNumber": "+5511987654321",
                     "language": "pt", "absent": false}],
      "guests": [],
      "bookingFieldsResponses": {"name": "Ana Souza", "email": "ana.souza@example.com",
                                 "notes": "Primeira consulta"}
    },
    {
      "id": 322, "uid": "Zp9qLm2xVb7nRt4kWc8hYd", "title": "Retorno de Bruno Lima",
      "description": "", "hosts": [], "status": "pending",
      "start": "2026-01-06T17:30:00.000-03:00", "end": "2026-01-06T18:15:00.000-03:00",
      "duration": 45, "eventType": {"id": 56, "slug": "retorno"},
      "location": "integrations:daily", "absentHost": false,
      "rescheduledFromUid": "Old7uidOfBrunosFirstSlot",
      "attendees": [{"name": "Bruno Lima", "email": "bruno@example.com",
                     "timeZone": "America/Fortaleza", "language": "pt", "absent": false}],
      "guests": ["irmao@example.com"],
      "bookingFieldsResponses": {"name": "Bruno Lima", "email": "bruno@example.com",
                                 "attendeePhoneNumber": "+55 85 99123-4567",
                                 "guests": ["irmao@example.com"]}
    }
  ],
  "pagination": {"totalItems": 3, "remainingItems": 1, "returnedItems": 2, "itemsPerPage": 2,
                 "currentPage": 1, "totalPages": 2, "hasNextPage": true,
                 "hasPreviousPage": false}
})";

// BOOKING_CREATED as Cal.com posts it: the booking in `payload`, form answers labelled.
constexpr const char* kCreatedWebhook = R"({
  "triggerEvent": "BOOKING_CREATED", "createdAt": "2025-12-20T18:02:11.512Z",
  "payload": {
    "type": "consulta", "title": "Consulta entre Dra. Helena Costa e Ana Souza",
    "description": "", "additionalNotes": "Primeira consulta", "customInputs": {},
    "startTime": "2026-01-05T13:00:00Z", "endTime": "2026-01-05T13:30:00Z",
    "organizer": {"id": 12, "name": "Dra. Helena Costa", "email": "helena@clinica.example",
                  "username": "helena", "timeZone": "America/Sao_Paulo",
                  "language": {"locale": "pt"}, "timeFormat": "HH:mm", "utcOffset": -180},
    "responses": {
      "name": {"label": "your_name", "value": "Ana Souza"},
      "email": {"label": "email_address", "value": "ana.souza@example.com"},
      "attendeePhoneNumber": {"label": "phone_number", "value": "+55 11 90000-0000"},
      "location": {"label": "location",
                   "value": {"optionValue": "", "value": "integrations:daily"}},
      "notes": {"label": "additional_notes", "value": "Primeira consulta"}
    },
    "userFieldsResponses": {},
    "attendees": [{"email": "ana.souza@example.com", "name": "Ana Souza", "firstName": "",
                   "lastName": "", "timeZone": "America/Sao_Paulo",
                   "phoneNumber": "+5511987654321", "language": {"locale": "pt"},
                   "utcOffset": -180}],
    "location": "integrations:daily", "destinationCalendar": null, "hideCalendarNotes": false,
    "requiresConfirmation": null, "eventTypeId": 55, "seatsShowAttendees": true,
    "seatsPerTimeSlot": null, "schedulingType": null,
    "iCalUID": "wR4sKq8fPzN2mYtVbXc7Lh@Cal.com", "iCalSequence": 0,
    "uid": "wR4sKq8fPzN2mYtVbXc7Lh",
    "videoCallData": {"type": "daily_video", "id": "x1", "password": "",
                      "url": "https://app.cal.com/video/wR4sKq8fPzN2mYtVbXc7Lh"},
    "appsStatus": [], "eventTitle": "Consulta", "eventDescription": "", "price": 0,
    "currency": "brl", "length": 30, "bookingId": 321,
    "metadata": {"videoCallUrl": "https://app.cal.com/video/wR4sKq8fPzN2mYtVbXc7Lh"},
    "status": "ACCEPTED"
  }
})";

// BOOKING_RESCHEDULED: a new uid; rescheduleUid names the booking it replaces.
constexpr const char* kRescheduledWebhook = R"({
  "triggerEvent": "BOOKING_RESCHEDULED", "createdAt": "2025-12-22T10:15:00.000Z",
  "payload": {
    "type": "consulta", "title": "Consulta entre Dra. Helena Costa e Ana Souza",
    "startTime": "2026-01-07T14:00:00Z", "endTime": "2026-01-07T14:30:00Z",
    "organizer": {"id": 12, "name": "Dra. Helena Costa", "email": "helena@clinica.example",
                  "timeZone": "America/Sao_Paulo"},
    "responses": {"name": {"label": "your_name", "value": "Ana Souza"},
                  "email": {"label": "email_address", "value": "ana.souza@example.com"},
                  "rescheduleReason": {"label": "reason_for_reschedule", "value": "viagem"}},
    "attendees": [{"email": "ana.souza@example.com", "name": "Ana Souza",
                   "timeZone": "America/Sao_Paulo", "language": {"locale": "pt"}}],
    "location": "integrations:daily", "eventTypeId": 55,
    "uid": "Nw8vTq3sLk5pXz1mRb6cJe", "bookingId": 340,
    "rescheduleId": 321, "rescheduleUid": "wR4sKq8fPzN2mYtVbXc7Lh",
    "rescheduleStartTime": "2026-01-05T13:00:00Z", "rescheduleEndTime": "2026-01-05T13:30:00Z",
    "rescheduledBy": "ana.souza@example.com", "metadata": {}, "status": "ACCEPTED"
  }
})";

// BOOKING_CANCELLED.
constexpr const char* kCancelledWebhook = R"({
  "triggerEvent": "BOOKING_CANCELLED", "createdAt": "2025-12-23T09:00:00.000Z",
  "payload": {
    "type": "consulta", "title": "Consulta entre Dra. Helena Costa e Ana Souza",
    "startTime": "2026-01-07T14:00:00Z", "endTime": "2026-01-07T14:30:00Z",
    "organizer": {"id": 12, "name": "Dra. Helena Costa", "email": "helena@clinica.example",
                  "timeZone": "America/Sao_Paulo"},
    "responses": {"name": {"label": "your_name", "value": "Ana Souza"},
                  "email": {"label": "email_address", "value": "ana.souza@example.com"}},
    "attendees": [{"email": "ana.souza@example.com", "name": "Ana Souza",
                   "timeZone": "America/Sao_Paulo", "phoneNumber": null}],
    "location": "integrations:daily", "eventTypeId": 55, "uid": "Nw8vTq3sLk5pXz1mRb6cJe",
    "bookingId": 340, "cancellationReason": "Imprevisto",
    "cancelledBy": "ana.souza@example.com", "metadata": {}, "status": "CANCELLED"
  }
})";

// MEETING_ENDED: the stored booking itself, flat, no `payload`; answers unlabelled.
constexpr const char* kMeetingEndedWebhook = R"({
  "triggerEvent": "MEETING_ENDED",
  "id": 321, "uid": "wR4sKq8fPzN2mYtVbXc7Lh", "userId": 12, "eventTypeId": 55,
  "title": "Consulta entre Dra. Helena Costa e Ana Souza", "description": "",
  "customInputs": {},
  "responses": {"name": "Ana Souza", "email": "ana.souza@example.com",
                "attendeePhoneNumber": "+5511987654321",
                "location": {"value": "integrations:daily", "optionValue": ""}},
  "startTime": "2026-01-05T13:00:00.000Z", "endTime": "2026-01-05T13:30:00.000Z",
  "attendees": [{"id": 7, "email": "ana.souza@example.com", "name": "Ana Souza",
                 "timeZone": "America/Sao_Paulo", "locale": "pt", "bookingId": 321,
                 "noShow": false}],
  "location": "integrations:daily", "createdAt": "2025-12-20T18:02:11.000Z",
  "updatedAt": "2025-12-20T18:02:11.000Z", "status": "ACCEPTED", "paid": false,
  "cancellationReason": null, "rejectionReason": null, "rescheduled": null,
  "fromReschedule": null, "recurringEventId": null, "smsReminderNumber": null,
  "scheduledJobs": [], "metadata": {}, "isRecorded": false,
  "iCalUID": "wR4sKq8fPzN2mYtVbXc7Lh@Cal.com", "iCalSequence": 0
})";

// GET /v2/slots, cal-api-version 2024-09-04, timeZone America/Sao_Paulo.
constexpr const char* kSlots = R"({
  "status": "success",
  "data": {
    "2026-01-06": [{"start": "2026-01-06T09:00:00.000-03:00"}],
    "2026-01-05": [{"start": "2026-01-05T09:00:00.000-03:00"},
                   {"start": "2026-01-05T09:30:00.000-03:00"},
                   {"start": "2026-01-05T14:00:00.000-03:00",
                    "end": "2026-01-05T14:30:00.000-03:00"}]
  }
})";

// A webhook body: BOOKING_CREATED with `payload` replaced by kCreatedWebhook's payload as
// changed by `edit`.
template <typename Edit>
std::string created_with(Edit edit) {
  json doc = json::parse(kCreatedWebhook);
  edit(doc["payload"]);
  return doc.dump();
}

// --- Building calls ------------------------------------------------------------------------

TEST(CalcomAdapter, BookingsPageCallShape) {
  const HttpCall call = build_bookings_page_call(endpoint(), at("2026-01-01T03:00:00Z"), 100, 200);
  EXPECT_EQ(call.method, "GET");
  EXPECT_EQ(call.url,
            "https://api.cal.com/v2/bookings?status=upcoming"
            "&afterStart=2026-01-01T03%3A00%3A00.000Z&take=100&skip=200");
  EXPECT_EQ(call.body, "");
  EXPECT_EQ(headers_of(call), (Headers{{"authorization", "Bearer cal_live_0123456789abcdef"},
                                       {"cal-api-version", "2024-08-13"}}));
}

TEST(CalcomAdapter, BookingsPageCallFiltersByEventTypes) {
  const Timestamp after = at("2026-01-01T00:00:00.250Z");
  const std::string one = build_bookings_page_call(endpoint(), after, 50, 0, {55}).url;
  EXPECT_EQ(one,
            "https://api.cal.com/v2/bookings?status=upcoming"
            "&afterStart=2026-01-01T00%3A00%3A00.250Z&take=50&skip=0&eventTypeId=55");
  const std::string several = build_bookings_page_call(endpoint(), after, 50, 0, {55, 56}).url;
  EXPECT_TRUE(several.ends_with("&take=50&skip=0&eventTypeIds=55%2C56")) << several;
  EXPECT_EQ(several.find("eventTypeId="), std::string::npos) << several;
}

TEST(CalcomAdapter, BaseUrlsWithSlashesOrAVersion) {
  const Timestamp t = at("2026-01-01T00:00:00Z");
  for (const char* base : {"https://api.cal.com/", "https://api.cal.com//",
                           "https://api.cal.com/v2", "https://api.cal.com/v2/"}) {
    EXPECT_TRUE(build_bookings_page_call(endpoint(base), t, 1, 0)
                    .url.starts_with("https://api.cal.com/v2/bookings?"))
        << base;
    EXPECT_TRUE(build_slots_call(endpoint(base), 7, t, t + 24h, "")
                    .url.starts_with("https://api.cal.com/v2/slots?"))
        << base;
  }
  // Self-hosted under a path prefix.
  EXPECT_TRUE(build_bookings_page_call(endpoint("https://cal.clinica.example/api/"), t, 1, 0)
                  .url.starts_with("https://cal.clinica.example/api/v2/bookings?"));
}

TEST(CalcomAdapter, SlotsCallShape) {
  CalcomEndpoint e = endpoint();
  const HttpCall call = build_slots_call(e, 55, at("2026-01-05T03:00:00Z"),
                                         at("2026-01-10T03:00:00Z"), "America/Sao_Paulo");
  EXPECT_EQ(call.method, "GET");
  EXPECT_EQ(call.url,
            "https://api.cal.com/v2/slots?eventTypeId=55&start=2026-01-05T03%3A00%3A00.000Z"
            "&end=2026-01-10T03%3A00%3A00.000Z&timeZone=America%2FSao_Paulo");
  EXPECT_EQ(call.body, "");
  EXPECT_EQ(headers_of(call), (Headers{{"authorization", "Bearer cal_live_0123456789abcdef"},
                                       {"cal-api-version", "2024-09-04"}}));
  // No zone: no timeZone parameter (Cal.com answers in UTC); another version when configured.
  e.slots_version = "2099-01-01";
  const HttpCall utc =
      build_slots_call(e, 55, at("2026-01-05T00:00:00Z"), at("2026-01-05T00:00:00Z"), "");
  EXPECT_EQ(utc.url.find("timeZone"), std::string::npos) << utc.url;
  EXPECT_EQ(headers_of(utc)["cal-api-version"], "2099-01-01");
}

TEST(CalcomAdapter, BuildRefusesWhatCannotBeAsked) {
  const Timestamp t = at("2026-01-05T00:00:00Z");
  EXPECT_THROW(build_bookings_page_call(endpoint(), t, 0, 0), std::invalid_argument);
  EXPECT_THROW(build_bookings_page_call(endpoint(), t, kCalcomMaxTake + 1, 0),
               std::invalid_argument);
  EXPECT_NO_THROW(build_bookings_page_call(endpoint(), t, kCalcomMaxTake, 0));
  EXPECT_THROW(build_bookings_page_call(endpoint(), t, 10, -1), std::invalid_argument);
  EXPECT_THROW(build_bookings_page_call(endpoint(), t, 10, 0, {55, 0}), std::invalid_argument);
  CalcomEndpoint no_key = endpoint();
  no_key.api_key.clear();
  EXPECT_THROW(build_bookings_page_call(no_key, t, 10, 0), std::invalid_argument);
  EXPECT_THROW(build_slots_call(no_key, 55, t, t + 1h, ""), std::invalid_argument);
  EXPECT_THROW(build_bookings_page_call(endpoint("/"), t, 10, 0), std::invalid_argument);
  CalcomEndpoint no_version = endpoint();
  no_version.bookings_version.clear();
  EXPECT_THROW(build_bookings_page_call(no_version, t, 10, 0), std::invalid_argument);
  EXPECT_NO_THROW(build_slots_call(no_version, 55, t, t + 1h, ""));
  EXPECT_THROW(build_slots_call(endpoint(), 0, t, t + 1h, ""), std::invalid_argument);
  EXPECT_THROW(build_slots_call(endpoint(), 55, t, t - 1s, ""), std::invalid_argument);
  try {
    build_bookings_page_call(endpoint(), t, 300, 0);
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "build_bookings_page_call: take must be 1 to 250, not 300");
  }
}

// --- Reading bookings pages ----------------------------------------------------------------

TEST(CalcomAdapter, ReadsAnApiBookingsPage) {
  const BookingsPage page = parse_bookings_page(kApiPage, 2);
  EXPECT_TRUE(page.more);
  ASSERT_EQ(page.bookings.size(), 2u);

  const Booking& ana = page.bookings[0];
  EXPECT_EQ(ana.uid, "wR4sKq8fPzN2mYtVbXc7Lh");
  EXPECT_EQ(ana.id, 321);
  EXPECT_EQ(ana.title, "Consulta entre Dra. Helena Costa e Ana Souza");
  EXPECT_EQ(ana.status, "accepted");
  EXPECT_EQ(ana.start, at("2026-01-05T13:00:00Z"));
  EXPECT_EQ(ana.end, ana.start + 30min);
  EXPECT_EQ(ana.attendee_name, "Ana Souza");
  EXPECT_EQ(ana.attendee_email, "ana.souza@example.com");
  EXPECT_EQ(ana.attendee_phone, "5511987654321");
  EXPECT_EQ(ana.attendee_time_zone, "America/Sao_Paulo");
  EXPECT_EQ(ana.event_type_id, 55);
  EXPECT_EQ(ana.rescheduled_from, "");

  const Booking& bruno = page.bookings[1];
  EXPECT_EQ(bruno.uid, "Zp9qLm2xVb7nRt4kWc8hYd");
  EXPECT_EQ(bruno.id, 322);
  EXPECT_EQ(bruno.status, "pending");
  EXPECT_EQ(bruno.start, at("2026-01-06T20:30:00Z"));  // -03:00 read as an instant
  EXPECT_EQ(bruno.end, bruno.start + 45min);
  EXPECT_EQ(bruno.attendee_time_zone, "America/Fortaleza");
  EXPECT_EQ(bruno.attendee_phone, "5585991234567");  // from bookingFieldsResponses
  EXPECT_EQ(bruno.event_type_id, 56);                // from eventType.id
  EXPECT_EQ(bruno.rescheduled_from, "Old7uidOfBrunosFirstSlot");
}

TEST(CalcomAdapter, ReadsTheOlderFromRescheduleField) {
  json doc = json::parse(kApiPage);
  doc["data"][1].erase("rescheduledFromUid");
  doc["data"][1]["fromReschedule"] = "Old7uidOfBrunosFirstSlot";
  EXPECT_EQ(parse_bookings_page(doc.dump(), 2).bookings[1].rescheduled_from,
            "Old7uidOfBrunosFirstSlot");
}

TEST(CalcomAdapter, PaginationSaysWhetherMoreFollows) {
  json doc = json::parse(kApiPage);
  // hasNextPage decides, whatever the page size.
  doc["pagination"]["hasNextPage"] = false;
  EXPECT_FALSE(parse_bookings_page(doc.dump(), 2).more);
  doc["pagination"]["hasNextPage"] = true;
  EXPECT_TRUE(parse_bookings_page(doc.dump(), 100).more);
  // Without it, remainingItems, then currentPage / totalPages.
  doc["pagination"].erase("hasNextPage");
  EXPECT_TRUE(parse_bookings_page(doc.dump(), 100).more);
  doc["pagination"]["remainingItems"] = 0;
  EXPECT_FALSE(parse_bookings_page(doc.dump(), 2).more);
  doc["pagination"].erase("remainingItems");
  EXPECT_TRUE(parse_bookings_page(doc.dump(), 2).more);  // page 1 of 2
  doc["pagination"]["currentPage"] = 2;
  EXPECT_FALSE(parse_bookings_page(doc.dump(), 2).more);
  // Without pagination, a full page means there may be more.
  doc.erase("pagination");
  EXPECT_TRUE(parse_bookings_page(doc.dump(), 2).more);
  EXPECT_FALSE(parse_bookings_page(doc.dump(), 3).more);
  // An empty page ends it.
  const BookingsPage empty = parse_bookings_page(
      R"({"status":"success","data":[],"pagination":{"totalItems":0,"remainingItems":0,)"
      R"("returnedItems":0,"itemsPerPage":100,"currentPage":1,"totalPages":0,)"
      R"("hasNextPage":false,"hasPreviousPage":false}})",
      100);
  EXPECT_TRUE(empty.bookings.empty());
  EXPECT_FALSE(empty.more);
  EXPECT_THROW(parse_bookings_page(kApiPage, 0), std::invalid_argument);
}

TEST(CalcomAdapter, BookingsPageErrorsNameWhatIsWrong) {
  auto page_error = [](const std::string& body) {
    return error_of([&] { parse_bookings_page(body, 10); });
  };
  EXPECT_EQ(page_error(R"({"status":"error","error":{"code":"UnauthorizedException",)"
                       R"("message":"Invalid API Key"}})"),
            "Cal.com bookings page: Cal.com answered with an error UnauthorizedException: "
            "Invalid API Key");
  EXPECT_EQ(page_error("<html><body>502 Bad Gateway</body></html>"),
            "Cal.com bookings page: the body is not valid JSON: "
            "<html><body>502 Bad Gateway</body></html>");
  EXPECT_EQ(page_error(""), "Cal.com bookings page: the body is empty");
  EXPECT_EQ(page_error("[]"), "Cal.com bookings page: the body must be an object, not array");
  EXPECT_EQ(page_error(R"({"status":"success"})"), "Cal.com bookings page: data is missing");
  EXPECT_EQ(page_error(R"({"status":"success","data":{"bookings":[]}})"),
            "Cal.com bookings page: data must be an array of bookings (cal-api-version "
            "2024-08-13), not object");
  EXPECT_EQ(page_error(R"({"status":"pending","data":[]})"),
            "Cal.com bookings page: status is \"pending\", not \"success\"");

  auto with = [](auto edit) {
    json doc = json::parse(kApiPage);
    edit(doc["data"][1]);
    return doc.dump();
  };
  EXPECT_EQ(page_error(with([](json& b) { b.erase("uid"); })),
            "Cal.com bookings page: data[1].uid is missing");
  EXPECT_EQ(page_error(with([](json& b) { b["uid"] = ""; })),
            "Cal.com bookings page: data[1].uid is empty");
  EXPECT_EQ(page_error(with([](json& b) { b["uid"] = 5; })),
            "Cal.com bookings page: data[1].uid must be a string, not number");
  EXPECT_EQ(page_error(with([](json& b) { b["start"] = "amanhã às 14h"; })),
            "Cal.com bookings page: data[1].start must be an RFC 3339 time, not \"amanhã às 14h\"");
  EXPECT_EQ(page_error(with([](json& b) { b.erase("end"); })),
            "Cal.com bookings page: data[1].end is missing");
  EXPECT_EQ(page_error(with([](json& b) { b["end"] = "2026-01-06T17:00:00.000-03:00"; })),
            "Cal.com bookings page: data[1].end is before the start");
  EXPECT_EQ(page_error(with([](json& b) { b["id"] = "322"; })),
            "Cal.com bookings page: data[1].id must be a whole number, not string");
  EXPECT_EQ(page_error(with([](json& b) { b["eventType"]["id"] = 5.5; })),
            "Cal.com bookings page: data[1].eventType.id must be a whole number, not a 5.5");
  EXPECT_EQ(page_error(with([](json& b) { b["attendees"] = "Bruno"; })),
            "Cal.com bookings page: data[1].attendees must be an array, not string");
  EXPECT_EQ(page_error(with([](json& b) { b["attendees"][0]["name"] = false; })),
            "Cal.com bookings page: data[1].attendees[0].name must be a string, not boolean");
  EXPECT_EQ(page_error(with([](json& b) { b["status"] = nullptr; })),
            "Cal.com bookings page: data[1].status is missing");
  EXPECT_THROW(parse_bookings_page(with([](json& b) { b = 7; }), 10), CalcomBodyError);
}

TEST(CalcomAdapter, ErrorsNeverQuoteMoreThanTwoHundredCharacters) {
  const std::string page = "<html>" + std::string(5000, 'x') + "</html>";
  const std::string error = error_of([&] { parse_bookings_page(page, 10); });
  EXPECT_LT(error.size(), 300u) << error;
  EXPECT_TRUE(error.ends_with("…")) << error;
}

// --- Reading webhooks ------------------------------------------------------------------------

TEST(CalcomAdapter, ReadsABookingCreatedWebhook) {
  const Booking b = parse_booking_webhook(kCreatedWebhook);
  EXPECT_EQ(b.uid, "wR4sKq8fPzN2mYtVbXc7Lh");
  EXPECT_EQ(b.id, 321);
  EXPECT_EQ(b.title, "Consulta entre Dra. Helena Costa e Ana Souza");
  EXPECT_EQ(b.status, "accepted");
  EXPECT_EQ(b.start, at("2026-01-05T13:00:00Z"));
  EXPECT_EQ(b.end, at("2026-01-05T13:30:00Z"));
  EXPECT_EQ(b.attendee_name, "Ana Souza");
  EXPECT_EQ(b.attendee_email, "ana.souza@example.com");
  // attendees[0].phoneNumber comes before the form's answer (+55 11 90000-0000).
  EXPECT_EQ(b.attendee_phone, "5511987654321");
  EXPECT_EQ(b.attendee_time_zone, "America/Sao_Paulo");
  EXPECT_EQ(b.event_type_id, 55);
  EXPECT_EQ(b.rescheduled_from, "");
}

TEST(CalcomAdapter, ReadsABookingRescheduledWebhook) {
  const Booking b = parse_booking_webhook(kRescheduledWebhook);
  EXPECT_EQ(b.uid, "Nw8vTq3sLk5pXz1mRb6cJe");
  EXPECT_EQ(b.id, 340);
  EXPECT_EQ(b.rescheduled_from, "wR4sKq8fPzN2mYtVbXc7Lh");
  EXPECT_EQ(b.status, "accepted");
  EXPECT_EQ(b.start, at("2026-01-07T14:00:00Z"));  // the new time, not rescheduleStartTime
  EXPECT_EQ(b.end, at("2026-01-07T14:30:00Z"));
  EXPECT_EQ(b.attendee_phone, "");  // none anywhere
}

TEST(CalcomAdapter, ReadsABookingCancelledWebhook) {
  const Booking b = parse_booking_webhook(kCancelledWebhook);
  EXPECT_EQ(b.uid, "Nw8vTq3sLk5pXz1mRb6cJe");
  EXPECT_EQ(b.id, 340);
  EXPECT_EQ(b.status, "cancelled");
  EXPECT_EQ(b.start, at("2026-01-07T14:00:00Z"));
  EXPECT_EQ(b.attendee_name, "Ana Souza");
  EXPECT_EQ(b.attendee_phone, "");  // phoneNumber: null
}

TEST(CalcomAdapter, TheTriggerDecidesCancelledAndRejected) {
  json doc = json::parse(kCancelledWebhook);
  doc["payload"]["status"] = "ACCEPTED";
  EXPECT_EQ(parse_booking_webhook(doc.dump()).status, "cancelled");
  doc["payload"].erase("status");
  EXPECT_EQ(parse_booking_webhook(doc.dump()).status, "cancelled");
  doc["triggerEvent"] = "BOOKING_REJECTED";
  doc["payload"]["status"] = "PENDING";
  EXPECT_EQ(parse_booking_webhook(doc.dump()).status, "rejected");
  // Other triggers take the body's word, in lower case; without one, what the trigger implies.
  doc["triggerEvent"] = "BOOKING_REQUESTED";
  EXPECT_EQ(parse_booking_webhook(doc.dump()).status, "pending");
  doc["payload"].erase("status");
  EXPECT_EQ(parse_booking_webhook(doc.dump()).status, "pending");
  doc["triggerEvent"] = "BOOKING_CREATED";
  EXPECT_EQ(parse_booking_webhook(doc.dump()).status, "accepted");
  doc["triggerEvent"] = "BOOKING_PAID";
  EXPECT_EQ(parse_booking_webhook(doc.dump()).status, "");
  doc["payload"]["status"] = "AWAITING_HOST";
  EXPECT_EQ(parse_booking_webhook(doc.dump()).status, "awaiting_host");
}

TEST(CalcomAdapter, ReadsAFlatMeetingEndedWebhook) {
  const Booking b = parse_booking_webhook(kMeetingEndedWebhook);
  EXPECT_EQ(b.uid, "wR4sKq8fPzN2mYtVbXc7Lh");
  EXPECT_EQ(b.id, 321);  // "id" in a flat body
  EXPECT_EQ(b.status, "accepted");
  EXPECT_EQ(b.start, at("2026-01-05T13:00:00Z"));
  EXPECT_EQ(b.end, at("2026-01-05T13:30:00Z"));
  EXPECT_EQ(b.attendee_name, "Ana Souza");
  EXPECT_EQ(b.attendee_phone, "5511987654321");  // unlabelled responses.attendeePhoneNumber
  EXPECT_EQ(b.event_type_id, 55);
  EXPECT_EQ(b.rescheduled_from, "");  // fromReschedule: null

  json started = json::parse(kMeetingEndedWebhook);
  started["triggerEvent"] = "MEETING_STARTED";
  EXPECT_EQ(parse_booking_webhook(started.dump()).uid, "wR4sKq8fPzN2mYtVbXc7Lh");
}

TEST(CalcomAdapter, FindsTheBookersPhoneWhereverTheFormPutIt) {
  auto phone = [](auto edit) {
    return parse_booking_webhook(created_with([&](json& p) {
             p["attendees"][0].erase("phoneNumber");
             p["responses"].erase("attendeePhoneNumber");
             edit(p);
           }))
        .attendee_phone;
  };
  EXPECT_EQ(phone([](json&) {}), "");
  EXPECT_EQ(phone([](json& p) { p["attendees"][0]["phoneNumber"] = "+55 (21) 3456-7890"; }),
            "552134567890");
  // responses.attendeePhoneNumber: labelled {value}, or a plain string.
  EXPECT_EQ(phone([](json& p) {
              p["responses"]["attendeePhoneNumber"] = {{"label", "phone_number"},
                                                       {"value", "+5511912345678"}};
            }),
            "5511912345678");
  EXPECT_EQ(phone([](json& p) { p["responses"]["attendeePhoneNumber"] = "5511912345678"; }),
            "5511912345678");
  // A phone booking-form question called "phone", and the SMS reminder number.
  EXPECT_EQ(phone([](json& p) {
              p["responses"]["phone"] = {{"label", "Telefone"}, {"value", "+55 31 99876-5432"}};
            }),
            "5531998765432");
  EXPECT_EQ(phone([](json& p) { p["responses"]["smsReminderNumber"] = "+5531998765432"; }),
            "5531998765432");
  // The booker asked to be called: the location answer holds their number.
  EXPECT_EQ(phone([](json& p) {
              p["responses"]["location"] = {
                  {"label", "location"},
                  {"value", {{"value", "phone"}, {"optionValue", "+5511955554444"}}}};
              p["location"] = "+5511955554444";
            }),
            "5511955554444");
  EXPECT_EQ(phone([](json& p) {
              p["responses"].erase("location");
              p["location"] = "+55 11 95555-4444";
            }),
            "5511955554444");
  // The organiser's phone as the location is not the booker's.
  EXPECT_EQ(phone([](json& p) {
              p["responses"]["location"] = {
                  {"label", "location"}, {"value", {{"value", "userPhone"}, {"optionValue", ""}}}};
              p["location"] = "+5511933332222";
            }),
            "");
  // Locations that are not a phone number, and numbers that are not one phone number.
  EXPECT_EQ(phone([](json& p) { p["location"] = "Rua Augusta, 1500 - São Paulo"; }), "");
  EXPECT_EQ(phone([](json& p) { p["location"] = "https://meet.google.com/abc-defg-hij"; }), "");
  EXPECT_EQ(phone([](json& p) { p["attendees"][0]["phoneNumber"] = "1234"; }), "");
  EXPECT_EQ(phone([](json& p) { p["attendees"][0]["phoneNumber"] = "+55119876543210000"; }), "");
  // An unusable first source falls through to the next.
  EXPECT_EQ(phone([](json& p) {
              p["attendees"][0]["phoneNumber"] = "ligar depois";
              p["responses"]["attendeePhoneNumber"] = {{"value", "+5511912345678"}};
            }),
            "5511912345678");
}

TEST(CalcomAdapter, TheFormAnswersStandInForAMissingAttendee) {
  const Booking b =
      parse_booking_webhook(created_with([](json& p) { p["attendees"] = json::array(); }));
  EXPECT_EQ(b.attendee_name, "Ana Souza");
  EXPECT_EQ(b.attendee_email, "ana.souza@example.com");
  EXPECT_EQ(b.attendee_phone, "5511900000000");
  EXPECT_EQ(b.attendee_time_zone, "");
}

TEST(CalcomAdapter, WebhookErrorsNameWhatIsWrong) {
  auto webhook_error = [](const std::string& body) {
    return error_of([&] { parse_booking_webhook(body); });
  };
  EXPECT_EQ(webhook_error(R"({"triggerEvent":"BOOKING_CREATED","payload":{"uid":"x",)"),
            "Cal.com webhook: the body is not valid JSON");  // never quotes someone's booking
  EXPECT_EQ(webhook_error(R"({"createdAt":"2025-12-20T18:02:11Z","payload":{}})"),
            "Cal.com webhook: triggerEvent is missing");
  EXPECT_EQ(webhook_error(R"({"triggerEvent":"PING","payload":{}})"),
            "Cal.com webhook: triggerEvent is \"PING\", which is not about a booking");
  EXPECT_EQ(webhook_error(R"({"triggerEvent":"BOOKING_CREATED","createdAt":"x"})"),
            "Cal.com webhook: payload is missing");
  EXPECT_EQ(webhook_error(R"({"triggerEvent":"BOOKING_CREATED","payload":"x"})"),
            "Cal.com webhook: payload must be an object, not string");
  EXPECT_EQ(webhook_error(created_with([](json& p) { p.erase("uid"); })),
            "Cal.com webhook: payload.uid is missing");
  EXPECT_EQ(webhook_error(created_with([](json& p) { p.erase("startTime"); })),
            "Cal.com webhook: payload.startTime is missing");
  EXPECT_EQ(webhook_error(created_with([](json& p) { p["endTime"] = "2026-01-05 13:30"; })),
            "Cal.com webhook: payload.endTime must be an RFC 3339 time, not \"2026-01-05 13:30\"");
  EXPECT_EQ(webhook_error(created_with([](json& p) { p["bookingId"] = "321"; })),
            "Cal.com webhook: payload.bookingId must be a whole number, not string");
  EXPECT_EQ(webhook_error(created_with([](json& p) { p["eventTypeId"] = -1.5; })),
            "Cal.com webhook: payload.eventTypeId must be a whole number, not a -1.5");
  EXPECT_EQ(webhook_error(created_with([](json& p) { p["responses"] = json::array(); })),
            "Cal.com webhook: payload.responses must be an object, not array");
  EXPECT_EQ(webhook_error(created_with([](json& p) { p["attendees"][0] = "Ana"; })),
            "Cal.com webhook: payload.attendees[0] must be an object, not string");
  // BOOKING_NO_SHOW_UPDATED names its booking but carries no times.
  EXPECT_EQ(
      webhook_error(R"({"triggerEvent":"BOOKING_NO_SHOW_UPDATED","createdAt":)"
                    R"("2026-01-05T14:00:00Z","payload":{"message":"x","bookingUid":"u1",)"
                    R"("bookingId":9,"attendees":[{"email":"a@example.com","noShow":true}]}})"),
      "Cal.com webhook: payload.startTime is missing");
  // A flat body is read as the booking itself.
  EXPECT_EQ(webhook_error(R"({"triggerEvent":"MEETING_ENDED","id":1,"startTime":"x"})"),
            "Cal.com webhook: uid is missing");
}

// --- Reading slots -----------------------------------------------------------------------------

TEST(CalcomAdapter, ReadsSlotsInOrder) {
  const std::vector<Timestamp> slots = parse_slots(kSlots);
  EXPECT_EQ(slots,
            (std::vector<Timestamp>{at("2026-01-05T12:00:00Z"), at("2026-01-05T12:30:00Z"),
                                    at("2026-01-05T17:00:00Z"), at("2026-01-06T12:00:00Z")}));
  EXPECT_TRUE(parse_slots(R"({"status":"success","data":{}})").empty());
}

TEST(CalcomAdapter, SlotsErrorsNameWhatIsWrong) {
  auto slots_error = [](const std::string& body) { return error_of([&] { parse_slots(body); }); };
  EXPECT_EQ(slots_error(R"({"status":"error","error":{"code":"BadRequestException",)"
                        R"("message":"eventTypeId is required"}})"),
            "Cal.com slots answer: Cal.com answered with an error BadRequestException: "
            "eventTypeId is required");
  EXPECT_EQ(slots_error(R"({"status":"success","data":[]})"),
            "Cal.com slots answer: data must be an object of dates (cal-api-version 2024-09-04), "
            "not array");
  EXPECT_EQ(slots_error(R"({"status":"success","data":{"2026-01-05":{"start":"x"}}})"),
            "Cal.com slots answer: data[\"2026-01-05\"] must be an array of slots, not object");
  EXPECT_EQ(slots_error(
                R"({"status":"success","data":{"2026-01-05":[{"time":"2026-01-05T09:00:00Z"}]}})"),
            "Cal.com slots answer: data[\"2026-01-05\"][0].start is missing");
  EXPECT_EQ(slots_error(R"({"status":"success","data":{"2026-01-05":[{"start":"09:00"}]}})"),
            "Cal.com slots answer: data[\"2026-01-05\"][0].start must be an RFC 3339 time, not "
            "\"09:00\"");
}

// --- The simulator's webhooks ----------------------------------------------------------------

TEST(CalcomAdapter, ReadsTheSimulatorsWebhooksAsTheIngressDoes) {
  const Timestamp now = at("2026-01-01T12:00:00Z");
  struct Case {
    const char* event;
    const char* status;
  };
  for (const Case c : {Case{"BOOKING_CREATED", "accepted"}, Case{"BOOKING_RESCHEDULED", "accepted"},
                       Case{"BOOKING_CANCELLED", "cancelled"}, Case{"MEETING_ENDED", "accepted"}}) {
    SCOPED_TRACE(c.event);
    CalcomWebhookSpec spec;
    spec.event = c.event;
    spec.uid = "simUid42";
    spec.booking_id = 4242;
    spec.start = at("2026-01-05T13:00:00Z");
    spec.name = "Ana Souza";
    spec.email = "ana@example.com";
    spec.phone = "5511987654321";
    if (spec.event == "BOOKING_RESCHEDULED") spec.reschedule_uid = "simUidOld";
    if (spec.event == "BOOKING_CANCELLED") spec.cancellation_reason = "imprevisto";
    const std::string body = build_calcom_webhook(spec, {}, now).body;

    const Booking b = parse_booking_webhook(body);
    EXPECT_EQ(b.uid, "simUid42");
    EXPECT_EQ(b.id, 4242);
    EXPECT_EQ(b.status, c.status);
    EXPECT_EQ(b.start, spec.start);
    EXPECT_EQ(b.end, spec.start + 30min);
    EXPECT_EQ(b.title, "Consulta");
    EXPECT_EQ(b.attendee_name, "Ana Souza");
    EXPECT_EQ(b.attendee_email, "ana@example.com");
    EXPECT_EQ(b.attendee_phone, "5511987654321");
    EXPECT_EQ(b.attendee_time_zone, "America/Sao_Paulo");
    EXPECT_EQ(b.rescheduled_from, spec.reschedule_uid);

    // The ingress accepts the same body and names the same booking.
    auto decoded = decode_webhook(Provider::calcom, body);
    ASSERT_TRUE(std::holds_alternative<DecodedWebhook>(decoded));
    ASSERT_EQ(std::get<DecodedWebhook>(decoded).events.size(), 1u);
    EXPECT_EQ(std::get<DecodedWebhook>(decoded).events[0].message_id, b.uid);
  }
  // The phone from the form when the attendee has none.
  CalcomWebhookSpec spec;
  spec.uid = "simUid43";
  spec.start = at("2026-01-05T13:00:00Z");
  spec.phone = "5521999998888";
  json doc = json::parse(build_calcom_webhook(spec, {}, now).body);
  doc["payload"]["attendees"][0].erase("phoneNumber");
  EXPECT_EQ(parse_booking_webhook(doc.dump()).attendee_phone, "5521999998888");
}

// --- Against the provider simulator ------------------------------------------------------------

class CalcomAdapterSim : public ::testing::Test {
 protected:
  void SetUp() override {
    SimulatorOptions options;
    options.clock = &clock_;
    sim_ = std::make_unique<SimulatorThread>(options);
  }

  test::HttpResult send(const HttpCall& call) {
    Headers headers;
    for (const auto& [name, value] : call.headers) headers[name] = value;
    return client_.request(call.method, call.url, call.body, headers);
  }

  // Books `start` for `name` through the simulator's POST /v2/bookings; returns the uid.
  std::string book(const std::string& start, const std::string& name, int64_t event_type = 55,
                   const std::string& phone = "") {
    json attendee = {
        {"name", name}, {"email", name + "@example.com"}, {"timeZone", "America/Sao_Paulo"}};
    if (!phone.empty()) attendee["phoneNumber"] = phone;
    const json body = {{"start", start}, {"eventTypeId", event_type}, {"attendee", attendee}};
    const test::HttpResult r =
        client_.post(sim_->url("/v2/bookings"), body.dump(),
                     {{"authorization", "Bearer cal_live_x"}, {"cal-api-version", "2024-08-13"}});
    EXPECT_EQ(r.status, 201) << r.error << r.body;
    return r.status == 201 ? json::parse(r.body)["data"]["uid"].get<std::string>() : "";
  }

  FakeClock clock_{at("2026-01-01T12:00:00Z")};  // a Thursday
  std::unique_ptr<SimulatorThread> sim_;
  test::HttpClient client_;
};

TEST_F(CalcomAdapterSim, PagesThroughUpcomingBookings) {
  const std::string ana = book("2026-01-05T13:00:00Z", "ana", 55, "+5511987654321");
  const std::string bruno = book("2026-01-05T09:00:00Z", "bruno", 56);
  const std::string carla = book("2026-01-06T16:30:00Z", "carla", 55);
  const std::string dora = book("2026-01-07T10:00:00Z", "dora", 55);

  std::vector<Booking> all;
  const Timestamp after = clock_.now();
  for (int skip = 0, pages = 0;; skip += 3) {
    ASSERT_LT(++pages, 5) << "the pages never end";
    const test::HttpResult r =
        send(build_bookings_page_call(endpoint(sim_->url("/")), after, 3, skip));
    ASSERT_EQ(r.status, 200) << r.error << r.body;
    const BookingsPage page = parse_bookings_page(r.body, 3);
    all.insert(all.end(), page.bookings.begin(), page.bookings.end());
    if (!page.more) break;
  }
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].uid, bruno);  // by start
  EXPECT_EQ(all[1].uid, ana);
  EXPECT_EQ(all[2].uid, carla);
  EXPECT_EQ(all[3].uid, dora);
  EXPECT_EQ(all[1].status, "accepted");
  EXPECT_EQ(all[1].start, at("2026-01-05T13:00:00Z"));
  EXPECT_EQ(all[1].end, at("2026-01-05T13:30:00Z"));
  EXPECT_EQ(all[1].attendee_name, "ana");
  EXPECT_EQ(all[1].attendee_email, "ana@example.com");
  EXPECT_EQ(all[1].attendee_phone, "5511987654321");
  EXPECT_EQ(all[1].attendee_time_zone, "America/Sao_Paulo");
  EXPECT_EQ(all[1].event_type_id, 55);
  EXPECT_TRUE(all[1].id.has_value());
  EXPECT_EQ(all[0].event_type_id, 56);
  EXPECT_EQ(all[0].attendee_phone, "");

  // afterStart and one event type narrow it; a cancelled booking is no longer upcoming.
  const test::HttpResult cancel =
      client_.post(sim_->url("/v2/bookings/" + carla + "/cancel"), "{}",
                   {{"authorization", "Bearer cal_live_x"}, {"cal-api-version", "2024-08-13"}});
  ASSERT_EQ(cancel.status, 200) << cancel.body;
  const test::HttpResult narrowed = send(
      build_bookings_page_call(endpoint(sim_->url()), at("2026-01-05T10:00:00Z"), 10, 0, {55}));
  ASSERT_EQ(narrowed.status, 200) << narrowed.body;
  const BookingsPage page = parse_bookings_page(narrowed.body, 10);
  EXPECT_FALSE(page.more);
  ASSERT_EQ(page.bookings.size(), 2u);
  EXPECT_EQ(page.bookings[0].uid, ana);
  EXPECT_EQ(page.bookings[1].uid, dora);
}

TEST_F(CalcomAdapterSim, SlotsLeaveOutBookedStarts) {
  book("2026-01-05T13:00:00Z", "ana");
  const test::HttpResult r =
      send(build_slots_call(endpoint(sim_->url()), 55, at("2026-01-05T12:00:00Z"),
                            at("2026-01-06T10:00:00Z"), "America/Sao_Paulo"));
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  const std::vector<Timestamp> slots = parse_slots(r.body);
  // Monday 12:00 to 16:30 every 30 minutes but 13:00 (9 slots), Tuesday 09:00 and 09:30.
  ASSERT_EQ(slots.size(), 11u);
  EXPECT_EQ(slots.front(), at("2026-01-05T12:00:00Z"));
  EXPECT_EQ(slots[1], at("2026-01-05T12:30:00Z"));
  EXPECT_EQ(slots[2], at("2026-01-05T13:30:00Z"));
  EXPECT_EQ(slots[8], at("2026-01-05T16:30:00Z"));
  EXPECT_EQ(slots[9], at("2026-01-06T09:00:00Z"));
  EXPECT_EQ(slots.back(), at("2026-01-06T09:30:00Z"));
}

TEST_F(CalcomAdapterSim, ErrorAnswersAreReadAsErrors) {
  HttpCall call = build_bookings_page_call(endpoint(sim_->url()), clock_.now(), 10, 0);
  std::erase_if(call.headers, [](const auto& h) { return h.first == "authorization"; });
  const test::HttpResult r = send(call);
  ASSERT_EQ(r.status, 401) << r.body;
  const std::string error = error_of([&] { parse_bookings_page(r.body, 10); });
  EXPECT_TRUE(
      error.starts_with("Cal.com bookings page: Cal.com answered with an error "
                        "UNAUTHORIZED: "))
      << error;
}

// --- Writing bookings: create, cancel, reschedule ---------------------------------------------

NewBooking ana_booking() {
  NewBooking b;
  b.event_type_id = 55;
  b.start = at("2026-01-05T13:00:00Z");
  b.name = "Ana Souza";
  b.email = "ana.souza@example.com";
  b.phone = "5511987654321";  // as recado keeps it: digits, country code first
  b.time_zone = "America/Sao_Paulo";
  b.language = "pt";
  return b;
}

const Headers kWriteHeaders = {{"authorization", "Bearer cal_live_0123456789abcdef"},
                               {"cal-api-version", "2024-08-13"},
                               {"content-type", "application/json"}};

TEST(CalcomAdapter, CreateBookingCallShape) {
  const HttpCall call = build_create_booking_call(endpoint(), ana_booking());
  EXPECT_EQ(call.method, "POST");
  EXPECT_EQ(call.url, "https://api.cal.com/v2/bookings");
  EXPECT_EQ(headers_of(call), kWriteHeaders);
  EXPECT_EQ(json::parse(call.body), json::parse(R"({
    "start": "2026-01-05T13:00:00.000Z", "eventTypeId": 55,
    "attendee": {"name": "Ana Souza", "email": "ana.souza@example.com",
                 "timeZone": "America/Sao_Paulo", "phoneNumber": "+5511987654321",
                 "language": "pt"}})"))
      << call.body;
}

TEST(CalcomAdapter, CreateBookingLeavesOutWhatIsNotKnown) {
  NewBooking b = ana_booking();
  b.phone.clear();
  b.language.clear();
  b.start = at("2026-01-05T10:00:00.5-03:00");
  CalcomEndpoint e = endpoint("https://cal.clinica.example/api/v2/");
  e.bookings_version = "2026-02-25";
  const HttpCall call = build_create_booking_call(e, b);
  EXPECT_EQ(call.url, "https://cal.clinica.example/api/v2/bookings");
  EXPECT_EQ(headers_of(call)["cal-api-version"], "2026-02-25");
  EXPECT_EQ(json::parse(call.body), json::parse(R"({
    "start": "2026-01-05T13:00:00.500Z", "eventTypeId": 55,
    "attendee": {"name": "Ana Souza", "email": "ana.souza@example.com",
                 "timeZone": "America/Sao_Paulo"}})"));
  // A phone written for people is sent as E.164.
  b.phone = "+55 (11) 98765-4321";
  EXPECT_EQ(json::parse(build_create_booking_call(e, b).body)["attendee"]["phoneNumber"],
            "+5511987654321");
}

TEST(CalcomAdapter, CreateBookingRefusesWhatCannotBeBooked) {
  auto refused = [](auto edit, CalcomEndpoint e = endpoint()) {
    NewBooking b = ana_booking();
    edit(b);
    try {
      build_create_booking_call(e, b);
    } catch (const std::invalid_argument& error) {
      return std::string(error.what());
    }
    return std::string();
  };
  EXPECT_EQ(refused([](NewBooking& b) { b.event_type_id = 0; }),
            "build_create_booking_call: event type id 0 is not positive");
  EXPECT_EQ(refused([](NewBooking& b) { b.name = " "; }),
            "build_create_booking_call: no attendee name");
  EXPECT_EQ(refused([](NewBooking& b) { b.email.clear(); }),
            "build_create_booking_call: no attendee email");
  EXPECT_EQ(refused([](NewBooking& b) { b.time_zone.clear(); }),
            "build_create_booking_call: no attendee time zone");
  EXPECT_EQ(refused([](NewBooking& b) { b.phone = "ligar à tarde"; }),
            "build_create_booking_call: \"ligar à tarde\" is not one phone number");
  EXPECT_EQ(refused([](NewBooking& b) { b.phone = "1234"; }),
            "build_create_booking_call: \"1234\" is not one phone number");
  CalcomEndpoint no_key = endpoint();
  no_key.api_key.clear();
  EXPECT_EQ(refused([](NewBooking&) {}, no_key), "build_create_booking_call: no Cal.com API key");
  CalcomEndpoint no_version = endpoint();
  no_version.bookings_version.clear();
  EXPECT_EQ(refused([](NewBooking&) {}, no_version),
            "build_create_booking_call: no cal-api-version");
  EXPECT_EQ(refused([](NewBooking&) {}, endpoint("")),
            "build_create_booking_call: no Cal.com base URL");
  EXPECT_EQ(refused([](NewBooking&) {}), "");
}

TEST(CalcomAdapter, CancelBookingCallShape) {
  const HttpCall call = build_cancel_booking_call(
      endpoint("https://api.cal.com/v2"), "wR4sKq8fPzN2mYtVbXc7Lh", "Paciente pediu pelo WhatsApp");
  EXPECT_EQ(call.method, "POST");
  EXPECT_EQ(call.url, "https://api.cal.com/v2/bookings/wR4sKq8fPzN2mYtVbXc7Lh/cancel");
  EXPECT_EQ(headers_of(call), kWriteHeaders);
  EXPECT_EQ(call.body, R"({"cancellationReason":"Paciente pediu pelo WhatsApp"})");
  // No reason: an empty object. A uid is one path segment, whatever it holds.
  const HttpCall bare = build_cancel_booking_call(endpoint(), "a b/../c?d", "");
  EXPECT_EQ(bare.url, "https://api.cal.com/v2/bookings/a%20b%2F..%2Fc%3Fd/cancel");
  EXPECT_EQ(bare.body, "{}");
  EXPECT_THROW(build_cancel_booking_call(endpoint(), "", "x"), std::invalid_argument);
  CalcomEndpoint no_key = endpoint();
  no_key.api_key.clear();
  EXPECT_THROW(build_cancel_booking_call(no_key, "uid", ""), std::invalid_argument);
}

TEST(CalcomAdapter, RescheduleBookingCallShape) {
  const HttpCall call = build_reschedule_booking_call(endpoint(), "wR4sKq8fPzN2mYtVbXc7Lh",
                                                      at("2026-01-07T11:00:00-03:00"), "viagem");
  EXPECT_EQ(call.method, "POST");
  EXPECT_EQ(call.url, "https://api.cal.com/v2/bookings/wR4sKq8fPzN2mYtVbXc7Lh/reschedule");
  EXPECT_EQ(headers_of(call), kWriteHeaders);
  EXPECT_EQ(json::parse(call.body),
            json::parse(R"({"start":"2026-01-07T14:00:00.000Z","reschedulingReason":"viagem"})"));
  EXPECT_EQ(build_reschedule_booking_call(endpoint(), "u1", at("2026-01-07T14:00:00Z"), "").body,
            R"({"start":"2026-01-07T14:00:00.000Z"})");
  EXPECT_EQ(build_reschedule_booking_call(endpoint(), "u/1", at("2026-01-07T14:00:00Z"), "").url,
            "https://api.cal.com/v2/bookings/u%2F1/reschedule");
  EXPECT_THROW(build_reschedule_booking_call(endpoint(), "", at("2026-01-07T14:00:00Z"), ""),
               std::invalid_argument);
}

// POST /v2/bookings/{uid}/reschedule, cal-api-version 2024-08-13: the new booking, its phone
// only in the form answers.
constexpr const char* kRescheduleAnswer = R"({
  "status": "success",
  "data": {
    "id": 340, "uid": "Nw8vTq3sLk5pXz1mRb6cJe",
    "title": "Consulta entre Dra. Helena Costa e Ana Souza", "description": "",
    "hosts": [{"id": 12, "name": "Dra. Helena Costa", "email": "helena@clinica.example",
               "username": "helena", "timeZone": "America/Sao_Paulo"}],
    "status": "accepted", "reschedulingReason": "viagem",
    "rescheduledFromUid": "wR4sKq8fPzN2mYtVbXc7Lh",
    "start": "2026-01-07T11:00:00.000-03:00", "end": "2026-01-07T11:30:00.000-03:00",
    "duration": 30, "eventTypeId": 55, "eventType": {"id": 55, "slug": "consulta"},
    "location": "integrations:daily", "absentHost": false,
    "createdAt": "2025-12-22T10:15:00.000Z", "updatedAt": "2025-12-22T10:15:00.000Z",
    "metadata": {},
    "attendees": [{"name": "Ana Souza", "email": "ana.souza@example.com",
                   "timeZone": "America/Sao_Paulo", "language": "pt", "absent": false}],
    "guests": [],
    "bookingFieldsResponses": {"name": "Ana Souza", "email": "ana.souza@example.com",
                               "attendeePhoneNumber": "+55 11 98765-4321"}
  }
})";

TEST(CalcomAdapter, ReadsABookingAnswer) {
  const Booking b = parse_booking_answer(kRescheduleAnswer);
  EXPECT_EQ(b.uid, "Nw8vTq3sLk5pXz1mRb6cJe");
  EXPECT_EQ(b.id, 340);
  EXPECT_EQ(b.status, "accepted");
  EXPECT_EQ(b.start, at("2026-01-07T14:00:00Z"));
  EXPECT_EQ(b.end, b.start + 30min);
  EXPECT_EQ(b.title, "Consulta entre Dra. Helena Costa e Ana Souza");
  EXPECT_EQ(b.attendee_name, "Ana Souza");
  EXPECT_EQ(b.attendee_email, "ana.souza@example.com");
  EXPECT_EQ(b.attendee_time_zone, "America/Sao_Paulo");
  EXPECT_EQ(b.attendee_phone, "5511987654321");  // from bookingFieldsResponses
  EXPECT_EQ(b.event_type_id, 55);
  EXPECT_EQ(b.rescheduled_from, "wR4sKq8fPzN2mYtVbXc7Lh");

  // A booking read from a page and from an answer are the same booking.
  json page = json::parse(kApiPage);
  const Booking from_page = parse_bookings_page(page.dump(), 2).bookings[0];
  const Booking from_answer =
      parse_booking_answer(json({{"status", "success"}, {"data", page["data"][0]}}).dump());
  EXPECT_EQ(from_answer.uid, from_page.uid);
  EXPECT_EQ(from_answer.attendee_phone, "5511987654321");  // attendees[0].phoneNumber
  EXPECT_EQ(from_answer.start, from_page.start);
  EXPECT_EQ(from_answer.event_type_id, from_page.event_type_id);
}

TEST(CalcomAdapter, ARecurringBookingAnswerIsItsFirstOccurrence) {
  json doc = json::parse(kRescheduleAnswer);
  json second = doc["data"];
  second["uid"] = "second";
  second["start"] = "2026-01-14T14:00:00.000Z";
  second["end"] = "2026-01-14T14:30:00.000Z";
  doc["data"] = json::array({doc["data"], second});
  const Booking b = parse_booking_answer(doc.dump());
  EXPECT_EQ(b.uid, "Nw8vTq3sLk5pXz1mRb6cJe");
  EXPECT_EQ(b.start, at("2026-01-07T14:00:00Z"));
}

TEST(CalcomAdapter, BookingAnswerErrorsNameWhatIsWrong) {
  auto answer_error = [](const std::string& body) {
    return error_of([&] { parse_booking_answer(body); });
  };
  EXPECT_EQ(
      answer_error(
          R"({"status":"error","timestamp":"2026-01-01T00:00:00.000Z",)"
          R"("path":"/v2/bookings","error":{"code":"BadRequestException",)"
          R"("message":"User either already has booking at this time or is not available"}})"),
      "Cal.com booking answer: Cal.com answered with an error BadRequestException: User "
      "either already has booking at this time or is not available");
  EXPECT_EQ(
      answer_error("<html>504 Gateway Time-out</html>"),
      "Cal.com booking answer: the body is not valid JSON: <html>504 Gateway Time-out</html>");
  EXPECT_EQ(answer_error(R"({"status":"success"})"), "Cal.com booking answer: data is missing");
  EXPECT_EQ(answer_error(R"({"status":"success","data":"ok"})"),
            "Cal.com booking answer: data must be a booking, not string");
  EXPECT_EQ(answer_error(R"({"status":"success","data":[]})"),
            "Cal.com booking answer: data is an empty array");
  auto with = [](auto edit) {
    json doc = json::parse(kRescheduleAnswer);
    edit(doc["data"]);
    return doc.dump();
  };
  EXPECT_EQ(answer_error(with([](json& b) { b.erase("start"); })),
            "Cal.com booking answer: data.start is missing");
  EXPECT_EQ(answer_error(with([](json& b) { b["uid"] = 7; })),
            "Cal.com booking answer: data.uid must be a string, not number");
  EXPECT_EQ(answer_error(with([](json& b) { b = json::array({json::object()}); })),
            "Cal.com booking answer: data[0].uid is missing");
}

TEST(CalcomAdapter, ErrorMessagesFromErrorBodies) {
  EXPECT_EQ(calcom_error_message(R"({"status":"error","error":{"code":"BadRequestException",)"
                                 R"("message":"Attempting to book a meeting in the past."}})"),
            "Attempting to book a meeting in the past.");
  EXPECT_EQ(calcom_error_message(R"({"message":"Booking not found"})"), "Booking not found");
  // NestJS: "error" only names the status; the message may be a list.
  EXPECT_EQ(calcom_error_message(R"({"message":["start must be a valid ISO 8601 date string",)"
                                 R"("attendee.timeZone should not be empty"],)"
                                 R"("error":"Bad Request","statusCode":400})"),
            "start must be a valid ISO 8601 date string; attendee.timeZone should not be empty");
  EXPECT_EQ(calcom_error_message(R"({"error":"Unauthorized"})"), "Unauthorized");
  EXPECT_EQ(calcom_error_message(R"({"status":"error","error":{"code":"X"}})"), "");
  EXPECT_EQ(calcom_error_message("<html>502 Bad Gateway</html>"), "");
  EXPECT_EQ(calcom_error_message(""), "");
  EXPECT_EQ(calcom_error_message("[1]"), "");
  const std::string long_message = R"({"message":")" + std::string(500, 'x') + R"("})";
  EXPECT_EQ(calcom_error_message(long_message), std::string(200, 'x') + "…");
}

TEST(CalcomAdapter, SlotsInTheAskedZoneAreReadAsInstants) {
  // Cal.com answers in the timeZone asked for, the date being the zone's.
  const std::vector<Timestamp> slots = parse_slots(R"({"status":"success","data":{
      "2026-11-27":[{"start":"2026-11-27T06:00:00.000-03:00"},
                    {"start":"2026-11-27T23:30:00.000-03:00"}],
      "2026-11-28":[{"start":"2026-11-28T05:30:00+05:30"},{"start":"2026-11-28T02:30:00.000Z"}]}})");
  EXPECT_EQ(slots, (std::vector<Timestamp>{at("2026-11-27T09:00:00Z"), at("2026-11-28T00:00:00Z"),
                                           at("2026-11-28T02:30:00Z")}));
}

TEST_F(CalcomAdapterSim, BooksReschedulesAndCancelsThroughTheBuiltCalls) {
  const CalcomEndpoint e = endpoint(sim_->url("/"));
  NewBooking nb = ana_booking();  // Monday 13:00 UTC, a free slot
  const test::HttpResult created = send(build_create_booking_call(e, nb));
  ASSERT_EQ(created.status, 201) << created.error << created.body;
  const Booking booked = parse_booking_answer(created.body);
  EXPECT_FALSE(booked.uid.empty());
  EXPECT_EQ(booked.status, "accepted");
  EXPECT_EQ(booked.start, nb.start);
  EXPECT_EQ(booked.attendee_name, "Ana Souza");
  EXPECT_EQ(booked.attendee_phone, "5511987654321");
  EXPECT_EQ(booked.event_type_id, 55);

  // The same slot again: refused, and the message read from the error body.
  nb.email = "bruno@example.com";
  const test::HttpResult taken = send(build_create_booking_call(e, nb));
  ASSERT_EQ(taken.status, 400) << taken.body;
  EXPECT_FALSE(calcom_error_message(taken.body).empty()) << taken.body;
  EXPECT_THROW(parse_booking_answer(taken.body), CalcomBodyError);

  const test::HttpResult moved =
      send(build_reschedule_booking_call(e, booked.uid, at("2026-01-06T14:00:00Z"), "viagem"));
  ASSERT_GE(moved.status, 200) << moved.error << moved.body;
  ASSERT_LT(moved.status, 300) << moved.body;
  const Booking rescheduled = parse_booking_answer(moved.body);
  EXPECT_NE(rescheduled.uid, booked.uid);
  EXPECT_EQ(rescheduled.rescheduled_from, booked.uid);
  EXPECT_EQ(rescheduled.start, at("2026-01-06T14:00:00Z"));

  const test::HttpResult cancelled =
      send(build_cancel_booking_call(e, rescheduled.uid, "Imprevisto"));
  ASSERT_EQ(cancelled.status, 200) << cancelled.error << cancelled.body;
  const Booking gone = parse_booking_answer(cancelled.body);
  EXPECT_EQ(gone.uid, rescheduled.uid);
  EXPECT_EQ(gone.status, "cancelled");

  const test::HttpResult unknown = send(build_cancel_booking_call(e, "no-such-uid", ""));
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_NE(calcom_error_message(unknown.body).find("no-such-uid"), std::string::npos)
      << unknown.body;
}

}  // namespace
}  // namespace recado::jobs::providers
