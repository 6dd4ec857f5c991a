#include "jobs/providers/calcom.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <nlohmann/json.hpp>

#include "jobs/providers/wire.hpp"
#include "src/json_limits.hpp"
#include "src/time_format.hpp"

namespace recado::jobs::providers {

using json = nlohmann::json;
using wire::without_trailing_slashes;

namespace {

constexpr std::size_t kMinPhoneDigits = 8;   // the shortest national numbers with a country code
constexpr std::size_t kMaxPhoneDigits = 15;  // E.164

constexpr std::string_view kPageSource = "Cal.com bookings page";
constexpr std::string_view kWebhookSource = "Cal.com webhook";
constexpr std::string_view kSlotsSource = "Cal.com slots answer";
constexpr std::string_view kBookingSource = "Cal.com booking answer";

// --- Building calls ----------------------------------------------------------------------

// A query value: everything but RFC 3986 unreserved characters percent-encoded.
std::string query_value(std::string_view s) {
  return wire::path_segment(s);
}

std::string api_root(std::string_view base_url) {
  const std::string_view base = without_trailing_slashes(base_url);
  return base.ends_with("/v2") ? std::string(base) : std::string(base) + "/v2";
}

// A call to {root}{path} with the credential and version headers, after checking the endpoint.
HttpCall api_call(const CalcomEndpoint& e, std::string_view method, std::string_view version,
                  std::string_view who, std::string url_tail) {
  const std::string prefix = std::string(who) + ": ";
  if (without_trailing_slashes(e.base_url).empty())
    throw std::invalid_argument(prefix + "no Cal.com base URL");
  if (e.api_key.empty()) throw std::invalid_argument(prefix + "no Cal.com API key");
  if (version.empty()) throw std::invalid_argument(prefix + "no cal-api-version");
  HttpCall call;
  call.method = std::string(method);
  call.url = api_root(e.base_url) + url_tail;
  call.headers.emplace_back("authorization", "Bearer " + e.api_key);
  call.headers.emplace_back("cal-api-version", std::string(version));
  return call;
}

HttpCall get_call(const CalcomEndpoint& e, std::string_view version, std::string_view who,
                  std::string_view path, const std::string& query) {
  return api_call(e, "GET", version, who, std::string(path) + "?" + query);
}

// POST {root}{path} with a JSON body, in the bookings API version.
HttpCall post_call(const CalcomEndpoint& e, std::string_view who, const std::string& path,
                   const json& body) {
  HttpCall call = api_call(e, "POST", e.bookings_version, who, path);
  call.headers.emplace_back("content-type", "application/json");
  call.body = wire::dump(body);
  return call;
}

// /bookings/{uid}/{action}, the uid one percent-encoded path segment.
std::string booking_action_path(std::string_view who, std::string_view uid,
                                std::string_view action) {
  if (uid.empty()) throw std::invalid_argument(std::string(who) + ": no booking uid");
  return "/bookings/" + wire::path_segment(uid) + "/" + std::string(action);
}

// --- Reading bodies ----------------------------------------------------------------------

[[noreturn]] void fail(std::string_view source, std::string_view what) {
  throw CalcomBodyError(std::string(source) + ": " + std::string(what));
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// One JSON object of a body, at `path` ("" for the root, "data[2]", "payload"): its fields,
// with errors that name them. Absent and null fields are the same thing.
class Fields {
 public:
  Fields(const json& obj, std::string path, std::string_view source)
      : obj_(obj), path_(std::move(path)), source_(source) {
    if (!obj_.is_object())
      fail(source_, (path_.empty() ? std::string("the body") : path_) + " must be an object, not " +
                        obj_.type_name());
  }

  const json* find(std::string_view key) const {
    auto it = obj_.find(key);
    return it == obj_.end() || it->is_null() ? nullptr : &*it;
  }
  std::string path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  std::string_view source() const { return source_; }
  [[noreturn]] void bad(std::string_view key, std::string_view problem) const {
    fail(source_, path(key) + " " + std::string(problem));
  }

  // A string field; "" when absent.
  std::string text(std::string_view key) const {
    const json* v = find(key);
    if (!v) return {};
    if (!v->is_string()) bad(key, std::string("must be a string, not ") + v->type_name());
    return v->get<std::string>();
  }
  std::string required_text(std::string_view key) const {
    std::string s = text(key);
    if (s.empty()) bad(key, find(key) ? "is empty" : "is missing");
    return s;
  }
  std::optional<int64_t> whole(std::string_view key) const {
    const json* v = find(key);
    if (!v) return std::nullopt;
    if (v->is_number_integer() && !v->is_number_unsigned()) return v->get<int64_t>();
    if (v->is_number_unsigned() &&
        v->get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return static_cast<int64_t>(v->get<uint64_t>());
    bad(key, std::string("must be a whole number, not ") +
                 (v->is_number() ? "a " + v->dump() : std::string(v->type_name())));
  }
  std::optional<bool> flag(std::string_view key) const {
    const json* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) bad(key, std::string("must be true or false, not ") + v->type_name());
    return v->get<bool>();
  }
  Timestamp time(std::string_view key) const {
    const std::string s = required_text(key);
    auto t = parse_rfc3339(s);
    if (!t) bad(key, "must be an RFC 3339 time, not \"" + wire::quoted(s) + "\"");
    return *t;
  }
  std::optional<Fields> object(std::string_view key) const {
    const json* v = find(key);
    if (!v) return std::nullopt;
    return Fields(*v, path(key), source_);
  }
  // The array at `key`; empty when absent.
  const json& array(std::string_view key) const {
    static const json kEmpty = json::array();
    const json* v = find(key);
    if (!v) return kEmpty;
    if (!v->is_array()) bad(key, std::string("must be an array, not ") + v->type_name());
    return *v;
  }

 private:
  const json& obj_;
  std::string path_;
  std::string_view source_;
};

// The field `key` of `obj` when `obj` is an object and the field is there and not null.
const json* member(const json* obj, std::string_view key) {
  if (!obj || !obj->is_object()) return nullptr;
  auto it = obj->find(key);
  return it == obj->end() || it->is_null() ? nullptr : &*it;
}

// The JSON document of `body`; `quote_body`: whether an error may quote it (API answers,
// which are often a proxy's HTML page; never webhooks, which are someone's booking).
json parse_document(std::string_view body, std::string_view source, bool quote_body) {
  if (wire::blank(body)) fail(source, "the body is empty");
  if (json_depth(body) > kMaxJsonDepth)
    fail(source, "the body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  json doc = json::parse(body.begin(), body.end(), nullptr, false);
  if (doc.is_discarded())
    fail(source, quote_body ? "the body is not valid JSON: " + wire::quoted(body)
                            : std::string("the body is not valid JSON"));
  return doc;
}

// The API's envelope: {"status":"success","data":...}, or its error
// {"status":"error","error":{"code","message"}}. Returns the data.
const json& api_data(const Fields& root) {
  const std::string status = root.text("status");
  if (const json* error = root.find("error"); error || status == "error") {
    std::string what = "Cal.com answered with an error";
    if (error && error->is_object()) {
      if (const json* code = member(error, "code");
          code && (code->is_string() || code->is_number()))
        what += " " + wire::quoted(code->is_string() ? code->get<std::string>() : code->dump());
      if (const json* message = member(error, "message"); message && message->is_string())
        what += ": " + wire::quoted(message->get<std::string>());
    } else if (error && error->is_string()) {
      what += ": " + wire::quoted(error->get<std::string>());
    }
    fail(root.source(), what);
  }
  if (!status.empty() && status != "success")
    root.bad("status", "is \"" + wire::quoted(status) + "\", not \"success\"");
  const json* data = root.find("data");
  if (!data) root.bad("data", "is missing");
  return *data;
}

// The digits of `text` when it is one phone number ("+55 (11) 98765-4321", "5511987654321"),
// else "".
std::string phone_digits(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  std::string digits;
  for (char c : text) {
    if (std::isdigit(static_cast<unsigned char>(c)))
      digits += c;
    else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')')
      return {};
  }
  if (digits.size() < kMinPhoneDigits || digits.size() > kMaxPhoneDigits) return {};
  return digits;
}

// A booking-form answer: a string, or {"value": string} (webhooks label their answers).
std::string answer_text(const json* answer) {
  if (!answer) return {};
  if (answer->is_string()) return answer->get<std::string>();
  if (answer->is_object())
    if (auto v = answer->find("value"); v != answer->end() && v->is_string())
      return v->get<std::string>();
  return {};
}

// The booker's phone number: see parse_booking_webhook in the header. `attendee` is
// attendees[0] (or null), `responses` the booking-form answers (or null), `location` the
// booking's location (or null).
std::string booker_phone(const json* attendee, const json* responses, const json* location) {
  if (const json* p = member(attendee, "phoneNumber"); p && p->is_string())
    if (std::string d = phone_digits(p->get<std::string>()); !d.empty()) return d;
  for (const char* key : {"attendeePhoneNumber", "phone", "smsReminderNumber"})
    if (std::string d = phone_digits(answer_text(member(responses, key))); !d.empty()) return d;
  // The location answer: {"value":"phone","optionValue":"+55..."} when the booker is to be
  // called on their number; {"value":"userPhone",...} when the organiser's number is the place.
  // Webhooks label it: {"label":"location","value":{"value":"phone","optionValue":...}}.
  const json* where = member(responses, "location");
  if (const json* inner = member(where, "value"); inner && inner->is_object()) where = inner;
  const std::string where_type = answer_text(where);
  if (where_type == "phone") {
    if (const json* number = member(where, "optionValue"); number && number->is_string())
      if (std::string d = phone_digits(number->get<std::string>()); !d.empty()) return d;
  }
  if (where_type != "userPhone" && location && location->is_string())
    return phone_digits(location->get<std::string>());
  return {};
}

// The booker's name, email, time zone and phone, from attendees[0] and the form answers.
void read_booker(const Fields& booking, const char* responses_key, Booking& out) {
  const json& attendees = booking.array("attendees");
  std::optional<Fields> attendee;
  if (!attendees.empty())
    attendee.emplace(attendees[0], booking.path("attendees") + "[0]", booking.source());
  if (attendee) {
    out.attendee_name = attendee->text("name");
    out.attendee_email = attendee->text("email");
    out.attendee_time_zone = attendee->text("timeZone");
  }
  const json* responses = booking.find(responses_key);
  if (responses && !responses->is_object())
    booking.bad(responses_key, std::string("must be an object, not ") + responses->type_name());
  if (out.attendee_name.empty()) out.attendee_name = answer_text(member(responses, "name"));
  if (out.attendee_email.empty()) out.attendee_email = answer_text(member(responses, "email"));
  out.attendee_phone =
      booker_phone(attendee ? &attendees[0] : nullptr, responses, booking.find("location"));
}

std::string rescheduled_from(const Fields& booking) {
  for (const char* key : {"rescheduleUid", "rescheduledFromUid", "fromReschedule"})
    if (std::string uid = booking.text(key); !uid.empty()) return uid;
  return {};
}

void check_times(const Fields& booking, const Booking& b, const char* end_key) {
  if (b.end < b.start) booking.bad(end_key, "is before the start");
}

// One element of the API's data: BookingOutput_2024_08_13.
Booking read_api_booking(const Fields& b) {
  Booking out;
  out.uid = b.required_text("uid");
  out.id = b.whole("id");
  out.title = b.text("title");
  out.status = lower(b.required_text("status"));
  out.start = b.time("start");
  out.end = b.time("end");
  check_times(b, out, "end");
  read_booker(b, "bookingFieldsResponses", out);
  out.event_type_id = b.whole("eventTypeId");  // deprecated in favour of eventType.id
  if (!out.event_type_id)
    if (auto type = b.object("eventType")) out.event_type_id = type->whole("id");
  out.rescheduled_from = rescheduled_from(b);
  return out;
}

bool page_follows(const Fields& root, std::size_t returned, int take) {
  if (auto pagination = root.object("pagination")) {
    if (auto next = pagination->flag("hasNextPage")) return *next;
    if (auto remaining = pagination->whole("remainingItems")) return *remaining > 0;
    auto page = pagination->whole("currentPage");
    auto pages = pagination->whole("totalPages");
    if (page && pages) return *page < *pages;
  }
  return returned >= static_cast<std::size_t>(take);
}

}  // namespace

HttpCall build_bookings_page_call(const CalcomEndpoint& endpoint, Timestamp after_start, int take,
                                  int skip, const std::vector<int64_t>& event_type_ids) {
  constexpr std::string_view who = "build_bookings_page_call";
  if (take < 1 || take > kCalcomMaxTake)
    throw std::invalid_argument(std::string(who) + ": take must be 1 to " +
                                std::to_string(kCalcomMaxTake) + ", not " + std::to_string(take));
  if (skip < 0)
    throw std::invalid_argument(std::string(who) + ": skip must not be negative, not " +
                                std::to_string(skip));
  std::string query = "status=upcoming&afterStart=" + query_value(format_rfc3339(after_start)) +
                      "&take=" + std::to_string(take) + "&skip=" + std::to_string(skip);
  std::string ids;
  for (int64_t id : event_type_ids) {
    if (id < 1)
      throw std::invalid_argument(std::string(who) + ": event type id " + std::to_string(id) +
                                  " is not positive");
    if (!ids.empty()) ids += ',';
    ids += std::to_string(id);
  }
  // One id as eventTypeId, which every Cal.com v2 (and the simulator) knows; several as
  // eventTypeIds.
  if (event_type_ids.size() == 1) query += "&eventTypeId=" + ids;
  if (event_type_ids.size() > 1) query += "&eventTypeIds=" + query_value(ids);
  return get_call(endpoint, endpoint.bookings_version, who, "/bookings", query);
}

BookingsPage parse_bookings_page(std::string_view body, int take) {
  if (take < 1)
    throw std::invalid_argument("parse_bookings_page: take must be at least 1, not " +
                                std::to_string(take));
  const json doc = parse_document(body, kPageSource, true);
  const Fields root(doc, "", kPageSource);
  const json& data = api_data(root);
  if (!data.is_array())
    root.bad("data",
             std::string("must be an array of bookings (cal-api-version 2024-08-13), not ") +
                 data.type_name());
  BookingsPage page;
  page.bookings.reserve(data.size());
  for (std::size_t i = 0; i < data.size(); ++i)
    page.bookings.push_back(
        read_api_booking(Fields(data[i], "data[" + std::to_string(i) + "]", kPageSource)));
  page.more = page_follows(root, data.size(), take);
  return page;
}

Booking parse_booking_webhook(std::string_view body) {
  const json doc = parse_document(body, kWebhookSource, false);
  const Fields root(doc, "", kWebhookSource);
  const std::string trigger = root.required_text("triggerEvent");
  const bool meeting = trigger.starts_with("MEETING_");
  if (!meeting && !trigger.starts_with("BOOKING_"))
    root.bad("triggerEvent", "is \"" + wire::quoted(trigger) + "\", which is not about a booking");
  // MEETING_* bodies are the booking itself; the BOOKING_* events wrap it in `payload`.
  std::optional<Fields> wrapped = root.object("payload");
  if (!wrapped && !meeting) root.bad("payload", "is missing");
  const Fields& b = wrapped ? *wrapped : root;

  Booking out;
  out.uid = b.text("uid");
  if (out.uid.empty()) out.uid = b.text("bookingUid");
  if (out.uid.empty()) b.bad("uid", "is missing");
  out.id = wrapped ? b.whole("bookingId") : b.whole("id");
  if (!out.id) out.id = wrapped ? b.whole("id") : b.whole("bookingId");
  out.title = b.text("title");
  out.start = b.time("startTime");
  out.end = b.time("endTime");
  check_times(b, out, "endTime");
  if (trigger == "BOOKING_CANCELLED") {
    out.status = "cancelled";
  } else if (trigger == "BOOKING_REJECTED") {
    out.status = "rejected";
  } else {
    out.status = lower(b.text("status"));
    if (out.status.empty() && (trigger == "BOOKING_CREATED" || trigger == "BOOKING_RESCHEDULED"))
      out.status = "accepted";
    if (out.status.empty() && trigger == "BOOKING_REQUESTED") out.status = "pending";
  }
  read_booker(b, "responses", out);
  out.event_type_id = b.whole("eventTypeId");
  out.rescheduled_from = rescheduled_from(b);
  return out;
}

HttpCall build_slots_call(const CalcomEndpoint& endpoint, int64_t event_type_id, Timestamp start,
                          Timestamp end, std::string_view time_zone) {
  constexpr std::string_view who = "build_slots_call";
  if (event_type_id < 1)
    throw std::invalid_argument(std::string(who) + ": event type id " +
                                std::to_string(event_type_id) + " is not positive");
  if (end < start) throw std::invalid_argument(std::string(who) + ": end is before start");
  std::string query = "eventTypeId=" + std::to_string(event_type_id) +
                      "&start=" + query_value(format_rfc3339(start)) +
                      "&end=" + query_value(format_rfc3339(end));
  if (!time_zone.empty()) query += "&timeZone=" + query_value(time_zone);
  return get_call(endpoint, endpoint.slots_version, who, "/slots", query);
}

HttpCall build_create_booking_call(const CalcomEndpoint& endpoint, const NewBooking& booking) {
  constexpr std::string_view who = "build_create_booking_call";
  const std::string prefix = std::string(who) + ": ";
  if (booking.event_type_id < 1)
    throw std::invalid_argument(prefix + "event type id " + std::to_string(booking.event_type_id) +
                                " is not positive");
  if (wire::blank(booking.name)) throw std::invalid_argument(prefix + "no attendee name");
  if (wire::blank(booking.email)) throw std::invalid_argument(prefix + "no attendee email");
  if (wire::blank(booking.time_zone)) throw std::invalid_argument(prefix + "no attendee time zone");
  json attendee = {
      {"name", booking.name}, {"email", booking.email}, {"timeZone", booking.time_zone}};
  if (!booking.phone.empty()) {
    const std::string digits = phone_digits(booking.phone);
    if (digits.empty())
      throw std::invalid_argument(prefix + "\"" + wire::quoted(booking.phone) +
                                  "\" is not one phone number");
    attendee["phoneNumber"] = "+" + digits;
  }
  if (!booking.language.empty()) attendee["language"] = booking.language;
  const json body = {{"start", format_rfc3339(booking.start)},
                     {"eventTypeId", booking.event_type_id},
                     {"attendee", std::move(attendee)}};
  return post_call(endpoint, who, "/bookings", body);
}

HttpCall build_cancel_booking_call(const CalcomEndpoint& endpoint, std::string_view uid,
                                   std::string_view reason) {
  constexpr std::string_view who = "build_cancel_booking_call";
  json body = json::object();
  if (!reason.empty()) body["cancellationReason"] = std::string(reason);
  return post_call(endpoint, who, booking_action_path(who, uid, "cancel"), body);
}

HttpCall build_reschedule_booking_call(const CalcomEndpoint& endpoint, std::string_view uid,
                                       Timestamp start, std::string_view reason) {
  constexpr std::string_view who = "build_reschedule_booking_call";
  json body = {{"start", format_rfc3339(start)}};
  if (!reason.empty()) body["reschedulingReason"] = std::string(reason);
  return post_call(endpoint, who, booking_action_path(who, uid, "reschedule"), body);
}

Booking parse_booking_answer(std::string_view body) {
  const json doc = parse_document(body, kBookingSource, true);
  const Fields root(doc, "", kBookingSource);
  const json& data = api_data(root);
  if (data.is_array()) {  // a recurring booking: its occurrences, the first first
    if (data.empty()) root.bad("data", "is an empty array");
    return read_api_booking(Fields(data[0], "data[0]", kBookingSource));
  }
  if (!data.is_object())
    root.bad("data", std::string("must be a booking, not ") + data.type_name());
  return read_api_booking(Fields(data, "data", kBookingSource));
}

std::string calcom_error_message(std::string_view body) {
  if (wire::blank(body) || json_depth(body) > kMaxJsonDepth) return {};
  const json doc = json::parse(body.begin(), body.end(), nullptr, false);
  if (!doc.is_object()) return {};  // also when not JSON
  // A message that is a list (NestJS validation errors) is joined with "; ".
  auto text_of = [](const json* v) -> std::string {
    if (!v) return {};
    if (v->is_string()) return v->get<std::string>();
    std::string joined;
    if (v->is_array())
      for (const json& item : *v)
        if (item.is_string()) joined += (joined.empty() ? "" : "; ") + item.get<std::string>();
    return joined;
  };
  const json* error = member(&doc, "error");
  // {"status":"error","error":{"code","message"}}, then NestJS's {"message","error":"Bad
  // Request","statusCode"} (its "error" only names the status), then {"error":"..."}.
  std::string message = text_of(member(error, "message"));
  if (message.empty()) message = text_of(member(&doc, "message"));
  if (message.empty() && error && error->is_string()) message = error->get<std::string>();
  return wire::quoted(message);
}

std::vector<Timestamp> parse_slots(std::string_view body) {
  const json doc = parse_document(body, kSlotsSource, true);
  const Fields root(doc, "", kSlotsSource);
  const json& data = api_data(root);
  if (!data.is_object())
    root.bad("data", std::string("must be an object of dates (cal-api-version 2024-09-04), not ") +
                         data.type_name());
  std::vector<Timestamp> starts;
  for (const auto& [day, slots] : data.items()) {
    const std::string path = "data[\"" + wire::quoted(day) + "\"]";
    if (!slots.is_array())
      fail(kSlotsSource, path + " must be an array of slots, not " + slots.type_name());
    for (std::size_t i = 0; i < slots.size(); ++i)
      starts.push_back(
          Fields(slots[i], path + "[" + std::to_string(i) + "]", kSlotsSource).time("start"));
  }
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  return starts;
}

}  // namespace recado::jobs::providers
