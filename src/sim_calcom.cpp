#include "src/sim_calcom.hpp"

#include <date/tz.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "src/time_format.hpp"

namespace recado {

using json = nlohmann::json;
namespace chr = std::chrono;

namespace {

constexpr int kSlotMinutes = 30;
constexpr int kFirstSlotMinute = 9 * 60;  // 09:00 UTC
constexpr int kSlotsPerDay = 16;          // ... 16:30
constexpr int kMaxSlotDays = 62;

// "2026-01-05" at 00:00 UTC.
std::optional<Timestamp> parse_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  int y = 0;
  unsigned m = 0, d = 0;
  if (std::from_chars(s.data(), s.data() + 4, y).ec != std::errc{} ||
      std::from_chars(s.data() + 5, s.data() + 7, m).ec != std::errc{} ||
      std::from_chars(s.data() + 8, s.data() + 10, d).ec != std::errc{})
    return std::nullopt;
  const chr::year_month_day ymd{chr::year{y}, chr::month{m}, chr::day{d}};
  if (!ymd.ok()) return std::nullopt;
  return chr::time_point_cast<Duration>(chr::sys_days{ymd});
}

chr::sys_days day_of(Timestamp t) {
  return chr::floor<chr::days>(t);
}

// YYYY-MM-DD of a calendar day.
std::string date_text(chr::sys_days day) { return format_local_date(Timestamp{day}, "UTC"); }

bool weekday(chr::sys_days day) {
  const unsigned wd = chr::weekday{day}.c_encoding();  // 0 Sunday
  return wd >= 1 && wd <= 5;
}

std::string string_field(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

std::optional<int64_t> whole(std::string_view s) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return n;
}

json booking_json(const SimBooking& b) {
  json attendee = {{"name", b.attendee_name},
                   {"email", b.attendee_email},
                   {"timeZone", b.attendee_time_zone},
                   {"language", "pt"},
                   {"absent", false}};
  if (!b.attendee_phone.empty()) attendee["phoneNumber"] = b.attendee_phone;
  json j = {{"id", b.id},
            {"uid", b.uid},
            {"title", b.title},
            {"description", ""},
            {"hosts", json::array({{{"id", 1},
                                    {"name", "Recado Sim"},
                                    {"email", "agenda@sim.recado.local"},
                                    {"username", "recado-sim"},
                                    {"timeZone", "America/Sao_Paulo"}}})},
            {"status", b.status},
            {"start", format_rfc3339(b.start)},
            {"end", format_rfc3339(b.end)},
            {"duration", chr::duration_cast<chr::minutes>(b.end - b.start).count()},
            {"eventTypeId", b.event_type_id},
            {"eventType", {{"id", b.event_type_id}, {"slug", "consulta"}}},
            {"attendees", json::array({attendee})},
            {"guests", json::array()},
            {"location", "integrations:daily"},
            {"meetingUrl", "https://sim.recado.local/video/" + b.uid},
            {"absentHost", false},
            {"createdAt", format_rfc3339(b.created_at)},
            {"metadata", json::object()}};
  if (b.status == "cancelled") j["cancellationReason"] = b.cancellation_reason;
  if (b.rescheduled) j["rescheduled"] = true;
  if (!b.rescheduled_to_uid.empty()) j["rescheduledToUid"] = b.rescheduled_to_uid;
  if (!b.rescheduled_from_uid.empty()) {
    j["rescheduledFromUid"] = b.rescheduled_from_uid;
    j["reschedulingReason"] = b.rescheduling_reason;
  }
  return j;
}

HttpResponse success(int status, json data) {
  return HttpResponse::json(status, sim_dump({{"status", "success"}, {"data", std::move(data)}}));
}

HttpResponse bad_request(std::string_view message) {
  return calcom_error(400, "BAD_REQUEST", message);
}

HttpResponse not_found(std::string_view uid) {
  return calcom_error(404, "NOT_FOUND", "Booking with uid=" + std::string(uid) + " was not found");
}

// "2026-11-27T06:00:00.000-03:00": `t` as the wall clock of `zone` reads it, with its offset.
struct ZonedStart {
  std::string date;  // "2026-11-27", in the zone
  std::string text;
};

ZonedStart in_zone(Timestamp t, const date::time_zone* zone) {
  const auto seconds = chr::floor<chr::seconds>(t);
  const date::sys_info info = zone->get_info(date::sys_seconds{seconds.time_since_epoch()});
  const auto local = t + info.offset;
  const chr::sys_days day = chr::floor<chr::days>(local);
  const chr::year_month_day ymd{day};
  const auto into_day = local - Timestamp{day};
  const auto h = chr::duration_cast<chr::hours>(into_day);
  const auto m = chr::duration_cast<chr::minutes>(into_day - h);
  const auto sec = chr::duration_cast<chr::seconds>(into_day - h - m);
  const auto ms = chr::duration_cast<chr::milliseconds>(into_day - h - m - sec);
  const int64_t offset_minutes = chr::duration_cast<chr::minutes>(info.offset).count();
  const int64_t abs_offset = offset_minutes < 0 ? -offset_minutes : offset_minutes;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03d%c%02d:%02d",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(h.count()),
                static_cast<int>(m.count()), static_cast<int>(sec.count()),
                static_cast<int>(ms.count()), offset_minutes < 0 ? '-' : '+',
                static_cast<int>(abs_offset / 60), static_cast<int>(abs_offset % 60));
  return {date_text(day), buf};
}

}  // namespace

bool CalcomSim::on_calendar(Timestamp start) {
  const chr::sys_days day = day_of(start);
  if (!weekday(day)) return false;
  const Duration into_day = start - Timestamp{day};
  if (into_day % chr::minutes{kSlotMinutes} != Duration{0}) return false;
  const auto minute = chr::duration_cast<chr::minutes>(into_day).count();
  return minute >= kFirstSlotMinute && minute < kFirstSlotMinute + kSlotsPerDay * kSlotMinutes;
}

bool CalcomSim::taken(Timestamp start, std::string_view except_uid) const {
  return std::any_of(bookings_.begin(), bookings_.end(), [&](const SimBooking& b) {
    return b.status == "accepted" && b.start == start && b.uid != except_uid;
  });
}

std::optional<HttpResponse> CalcomSim::refuse_start(Timestamp start, const SimContext& ctx,
                                                    std::string_view except_uid) const {
  if (start < ctx.now) return bad_request("Attempting to book a meeting in the past.");
  if (!on_calendar(start))
    return bad_request("no_available_users_found_error: " + format_rfc3339(start) +
                       " is not a slot (weekdays, 09:00 to 16:30 UTC, every 30 minutes)");
  if (taken(start, except_uid)) return calcom_error(400, "BadRequestException", kSlotTakenMessage);
  return std::nullopt;
}

HttpResponse CalcomSim::list_bookings(const HttpRequest& r, const SimContext& ctx) const {
  std::vector<std::string> statuses;
  if (auto s = sim_query_param(r.query, "status")) {
    std::string_view rest = *s;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      std::string one(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      if (one != "upcoming" && one != "recurring" && one != "past" && one != "cancelled" &&
          one != "unconfirmed")
        return bad_request(
            "status must be a comma-separated list of upcoming, recurring, past, cancelled, "
            "unconfirmed");
      statuses.push_back(std::move(one));
    }
  }
  auto time_param = [&](const char* name,
                        std::optional<Timestamp>& out) -> std::optional<HttpResponse> {
    if (auto v = sim_query_param(r.query, name)) {
      out = parse_rfc3339(*v);
      if (!out) out = parse_date(*v);
      if (!out) return bad_request(std::string(name) + " must be an ISO 8601 date or time");
    }
    return std::nullopt;
  };
  std::optional<Timestamp> after_start, before_end;
  if (auto bad = time_param("afterStart", after_start)) return *bad;
  if (auto bad = time_param("beforeEnd", before_end)) return *bad;
  int64_t take = 100, skip = 0;
  if (auto v = sim_query_param(r.query, "take")) {
    auto n = whole(*v);
    if (!n || *n < 1 || *n > 250) return bad_request("take must be a whole number from 1 to 250");
    take = *n;
  }
  if (auto v = sim_query_param(r.query, "skip")) {
    auto n = whole(*v);
    if (!n || *n < 0) return bad_request("skip must be a whole number, 0 or more");
    skip = *n;
  }
  std::optional<int64_t> event_type;
  if (auto v = sim_query_param(r.query, "eventTypeId")) {
    event_type = whole(*v);
    if (!event_type) return bad_request("eventTypeId must be a whole number");
  }
  const std::string email = sim_query_param(r.query, "attendeeEmail").value_or("");

  std::vector<const SimBooking*> matching;
  for (const SimBooking& b : bookings_) {
    if (!statuses.empty()) {
      const bool cancelled = b.status == "cancelled";
      const bool ok = std::any_of(statuses.begin(), statuses.end(), [&](const std::string& s) {
        if (s == "cancelled") return cancelled;
        if (s == "upcoming") return !cancelled && b.end >= ctx.now;
        if (s == "past") return !cancelled && b.end < ctx.now;
        return false;  // recurring, unconfirmed: the simulator makes neither
      });
      if (!ok) continue;
    }
    if (after_start && b.start < *after_start) continue;
    if (before_end && b.end > *before_end) continue;
    if (event_type && b.event_type_id != *event_type) continue;
    if (!email.empty() && b.attendee_email != email) continue;
    matching.push_back(&b);
  }
  std::stable_sort(matching.begin(), matching.end(),
                   [](const SimBooking* a, const SimBooking* b) { return a->start < b->start; });
  json data = json::array();
  const int64_t total = static_cast<int64_t>(matching.size());
  for (int64_t i = skip; i < total && i < skip + take; ++i)
    data.push_back(booking_json(*matching[i]));
  const int64_t returned = static_cast<int64_t>(data.size());
  const int64_t pages = (total + take - 1) / take;
  const int64_t page = skip / take + 1;
  json pagination = {{"totalItems", total},
                     {"remainingItems", std::max<int64_t>(0, total - skip - returned)},
                     {"returnedItems", returned},
                     {"itemsPerPage", take},
                     {"currentPage", page},
                     {"totalPages", pages},
                     {"hasNextPage", skip + returned < total},
                     {"hasPreviousPage", skip > 0}};
  return HttpResponse::json(
      200,
      sim_dump({{"status", "success"}, {"data", std::move(data)}, {"pagination", pagination}}));
}

HttpResponse CalcomSim::create_booking(const HttpRequest& r, const SimContext& ctx) {
  auto parsed = parse_sim_body(r.body);
  if (auto* reason = std::get_if<std::string>(&parsed)) return bad_request(*reason);
  const json& doc = std::get<json>(parsed);
  const auto start = parse_rfc3339(string_field(doc, "start"));
  if (!start)
    return bad_request("start is required (an ISO 8601 time in UTC, e.g. 2026-01-05T13:00:00Z)");
  auto type = doc.find("eventTypeId");
  if (type == doc.end() || !type->is_number_integer() || type->get<int64_t>() < 1)
    return bad_request("eventTypeId is required (a whole number)");
  auto attendee = doc.find("attendee");
  if (attendee == doc.end() || !attendee->is_object())
    return bad_request("attendee is required (an object)");
  SimBooking b;
  b.attendee_name = string_field(*attendee, "name");
  b.attendee_email = string_field(*attendee, "email");
  b.attendee_time_zone = string_field(*attendee, "timeZone");
  b.attendee_phone = string_field(*attendee, "phoneNumber");
  if (b.attendee_name.empty()) return bad_request("attendee.name is required (a string)");
  if (b.attendee_email.find('@') == std::string::npos)
    return bad_request("attendee.email is required (an email address)");
  if (b.attendee_time_zone.empty())
    return bad_request("attendee.timeZone is required (e.g. America/Sao_Paulo)");
  int64_t minutes = kSlotMinutes;
  if (auto len = doc.find("lengthInMinutes"); len != doc.end()) {
    if (!len->is_number_integer() || len->get<int64_t>() < 5 || len->get<int64_t>() > 480)
      return bad_request("lengthInMinutes must be a whole number from 5 to 480");
    minutes = len->get<int64_t>();
  }
  if (auto refused = refuse_start(*start, ctx)) return *refused;
  b.id = next_id_++;
  b.uid = sim_message_id("sim", SimContext{static_cast<uint64_t>(b.id), ctx.nonce, ctx.now});
  b.title = "Consulta entre Recado Sim e " + b.attendee_name;
  b.start = *start;
  b.end = *start + chr::minutes{minutes};
  b.event_type_id = type->get<int64_t>();
  b.created_at = ctx.now;
  bookings_.push_back(b);
  return success(201, booking_json(b));
}

HttpResponse CalcomSim::cancel_booking(const HttpRequest& r, std::string_view uid,
                                       const SimContext&) {
  const auto it = std::find_if(bookings_.begin(), bookings_.end(),
                               [&](const SimBooking& b) { return b.uid == uid; });
  if (it == bookings_.end()) return not_found(uid);
  if (it->status == "cancelled") return bad_request("This booking has already been cancelled.");
  std::string reason;
  if (!r.body.empty()) {
    auto parsed = parse_sim_body(r.body);
    if (auto* problem = std::get_if<std::string>(&parsed)) return bad_request(*problem);
    const json& doc = std::get<json>(parsed);
    if (doc.contains("cancellationReason") && !doc["cancellationReason"].is_string())
      return bad_request("cancellationReason must be a string");
    reason = string_field(doc, "cancellationReason");
  }
  it->status = "cancelled";
  it->cancellation_reason = reason;
  return success(200, booking_json(*it));
}

HttpResponse CalcomSim::reschedule_booking(const HttpRequest& r, std::string_view uid,
                                           const SimContext& ctx) {
  const auto it = std::find_if(bookings_.begin(), bookings_.end(),
                               [&](const SimBooking& b) { return b.uid == uid; });
  if (it == bookings_.end()) return not_found(uid);
  auto parsed = parse_sim_body(r.body);
  if (auto* reason = std::get_if<std::string>(&parsed)) return bad_request(*reason);
  const json& doc = std::get<json>(parsed);
  const auto start = parse_rfc3339(string_field(doc, "start"));
  if (!start)
    return bad_request("start is required (an ISO 8601 time in UTC, e.g. 2026-01-05T13:00:00Z)");
  for (const char* key : {"reschedulingReason", "rescheduledBy"})
    if (doc.contains(key) && !doc[key].is_string())
      return bad_request(std::string(key) + " must be a string");
  if (it->status == "cancelled") {
    std::string message =
        "Can't reschedule booking with uid=" + std::string(uid) + " because it has been cancelled";
    if (!it->rescheduled_to_uid.empty())
      message += " and rescheduled to the booking with uid=" + it->rescheduled_to_uid +
                 ". Reschedule that booking instead";
    return bad_request(message + ".");
  }
  if (auto refused = refuse_start(*start, ctx, uid)) return *refused;
  SimBooking moved = *it;
  moved.id = next_id_++;
  moved.uid =
      sim_message_id("sim", SimContext{static_cast<uint64_t>(moved.id), ctx.nonce, ctx.now});
  moved.end = *start + (it->end - it->start);
  moved.start = *start;
  moved.created_at = ctx.now;
  moved.rescheduled_from_uid = it->uid;
  moved.rescheduling_reason = string_field(doc, "reschedulingReason");
  it->status = "cancelled";
  it->rescheduled = true;
  it->rescheduled_to_uid = moved.uid;
  it->cancellation_reason = moved.rescheduling_reason;
  bookings_.push_back(moved);  // `it` is not used after this
  return success(201, booking_json(moved));
}

HttpResponse CalcomSim::slots(const HttpRequest& r) const {
  const auto type = sim_query_param(r.query, "eventTypeId");
  if (!type || !whole(*type) || *whole(*type) < 1)
    return bad_request("eventTypeId is required (a whole number)");
  auto bound = [&](const char* name, const char* old_name,
                   bool is_end) -> std::optional<Timestamp> {
    auto v = sim_query_param(r.query, name);
    if (!v) v = sim_query_param(r.query, old_name);
    if (!v) return std::nullopt;
    if (auto t = parse_rfc3339(*v)) return t;
    if (auto d = parse_date(*v))
      return is_end ? *d + chr::days{1} : *d;  // a date-only end includes its day
    return std::nullopt;
  };
  const auto start = bound("start", "startTime", false);
  const auto end = bound("end", "endTime", true);
  if (!start)
    return bad_request("start is required (a date such as 2026-01-05, or an ISO 8601 time)");
  if (!end) return bad_request("end is required (a date such as 2026-01-09, or an ISO 8601 time)");
  if (*end < *start) return bad_request("end must not be before start");
  if (*end - *start > chr::days{kMaxSlotDays})
    return bad_request("the range may span at most 62 days");
  const date::time_zone* zone = nullptr;
  if (auto name = sim_query_param(r.query, "timeZone"); name && !name->empty()) {
    try {
      zone = date::locate_zone(*name);
    } catch (const std::runtime_error&) {
      return bad_request("timeZone must be an IANA time zone such as America/Sao_Paulo, not '" +
                         *name + "'");
    }
  }
  json data = json::object();
  for (chr::sys_days day = day_of(*start); Timestamp{day} < *end; day += chr::days{1}) {
    if (!weekday(day)) continue;
    for (int i = 0; i < kSlotsPerDay; ++i) {
      const Timestamp t = Timestamp{day} + chr::minutes{kFirstSlotMinute + i * kSlotMinutes};
      if (t < *start || t >= *end || taken(t)) continue;
      // Starts come in time order, so each date's list does too.
      if (zone) {
        ZonedStart zoned = in_zone(t, zone);
        data[zoned.date].push_back({{"start", std::move(zoned.text)}});
      } else {
        data[date_text(day)].push_back({{"start", format_rfc3339(t)}});
      }
    }
  }
  return success(200, std::move(data));
}

}  // namespace recado
