#include "jobs/llm_reply/tools.hpp"

#include <algorithm>
#include <memory>
#include <variant>

#include "jobs/calcom_sync/calcom_sync.hpp"
#include "jobs/followup/plan.hpp"
#include "jobs/kind_support.hpp"
#include "src/log.hpp"
#include "src/time_format.hpp"

namespace recado::jobs::llm_reply {

namespace {

using json = nlohmann::json;
using providers::ToolCall;
using providers::ToolResult;
using ScopePtr = std::shared_ptr<ToolScope>;

constexpr size_t kSlotsListed = 8;
constexpr int kDefaultDays = 7;
constexpr int kMaxDays = 14;
constexpr auto kDay = std::chrono::hours{24};

using followup::Language;

Language language_of(const TenantConfig& t) { return followup::language_of(t.llm.language); }

ToolResult ok(const ToolCall& c, json body) { return {c.id, c.name, body.dump(), false}; }

ToolResult failed(const ToolCall& c, std::string_view code, std::string message, json extra = json::object()) {
  extra["error"] = code;
  extra["message"] = std::move(message);
  return {c.id, c.name, extra.dump(), true};
}

json slot_list(const TenantConfig& t, const std::vector<Timestamp>& slots, size_t at_most) {
  json out = json::array();
  for (size_t i = 0; i < slots.size() && i < at_most; ++i)
    out.push_back({{"start", format_local_minute(slots[i], t.time_zone())}, {"label", slot_label(t, slots[i])}});
  return out;
}

// The local hour of `at` decides its part of the day: morning before 12, afternoon before 18.
bool in_part(const TenantConfig& t, Timestamp at, const std::string& part) {
  if (part.empty()) return true;
  const int hour = std::stoi(format_local_minute(at, t.time_zone()).substr(11, 2));
  if (part == "morning") return hour < 12;
  if (part == "afternoon") return hour >= 12 && hour < 18;
  return hour >= 18;
}

std::optional<std::string> string_arg(const json& args, const char* key) {
  if (!args.is_object()) return std::nullopt;
  auto it = args.find(key);
  if (it == args.end() || !it->is_string() || it->get<std::string>().empty()) return std::nullopt;
  return it->get<std::string>();
}

ProviderCall calcom_call(const ToolScope& s, HttpCall http) {
  ProviderCall call;
  call.api = Api::calcom;
  call.breaker = breaker_name(Api::calcom, s.tenant.id);
  call.http = std::move(http);
  return call;
}

// Why a Cal.com call did not succeed, for the log and for the model.
std::string failure_of(const CallResult& r) {
  if (r.refused_until) return "the calendar's circuit breaker is open";
  if (auto m = providers::calcom_error_message(r.reply.body); !m.empty()) return m;
  return r.verdict.reason;
}

// A 4xx: Cal.com refused this request, and asking again will not change that.
bool refused(const CallResult& r) { return !r.refused_until && r.verdict.type == CallVerdict::Type::permanent; }

using Slots = std::variant<std::vector<Timestamp>, std::string>;  // free starts, or why there are none to give

void fetch_slots(const ScopePtr& s, Timestamp from, Timestamp to, std::function<void(Slots)> then) {
  const CalcomConfig& cal = s->tenant.calcom;
  s->ctx.call(calcom_call(*s, providers::build_slots_call(calcom_endpoint(cal), cal.event_type_ids.front(), from, to,
                                                          s->tenant.time_zone())),
              [s, then = std::move(then)](CallResult r) {
                if (!r.ok()) return then(failure_of(r));
                try {
                  then(providers::parse_slots(r.reply.body));
                } catch (const std::exception& e) {
                  log::warn("Cal.com's slots answer was unreadable", log::job_fields(s->ctx.job(), {{"error", e.what()}}));
                  then(std::string("the calendar's answer was unreadable: ") + e.what());
                }
              });
}

// Where a refused booking or reschedule stands: the time was taken (and here are others), or
// Cal.com refused it for another reason.
void explain_refusal(const ScopePtr& s, const ToolCall& call, Timestamp start, std::string why, ToolDone done) {
  const Timestamp from = std::max(s->ctx.clock().now(), start - kDay);
  fetch_slots(s, from, start + 3 * kDay, [s, call, start, why, done](Slots slots) {
    const auto* free = std::get_if<std::vector<Timestamp>>(&slots);
    if (free && std::find(free->begin(), free->end(), start) == free->end()) {
      std::vector<Timestamp> others = *free;  // the nearest other times first
      std::stable_sort(others.begin(), others.end(), [start](Timestamp a, Timestamp b) {
        return (a > start ? a - start : start - a) < (b > start ? b - start : start - b);
      });
      if (others.size() > 6) others.resize(6);
      std::sort(others.begin(), others.end());
      return done(failed(call, "slot_taken", "that time is no longer free: " + why,
                         {{"slots", slot_list(s->tenant, others, others.size())}}),
                  std::nullopt);
    }
    done(failed(call, "refused", "the calendar refused it: " + why), std::nullopt);
  });
}

// Stores a booking Cal.com confirmed, as its webhook would, then answers.
void store_change(const ScopePtr& s, BookingChange change, ToolResult result, ToolDone done) {
  const Timestamp now = s->ctx.clock().now();
  s->ctx.query(
      [s, change, now](pqxx::connection& c) {
        pqxx::work tx(c);
        if (change.kind == BookingChange::Kind::cancelled) {
          followup_store::set_booking_status(tx, s->tenant.id, change.booking.uid, "cancelled");
          followup_store::cancel(tx, s->tenant.id, "booking:" + change.booking.uid, {}, "cancelled in conversation");
        } else {
          calcom_sync::apply_booking(tx, s->tenant, change.booking, now);
        }
        tx.commit();
      },
      [change, result = std::move(result), done = std::move(done)] { done(result, change); });
}

// The booking a cancel or reschedule is about: the one named, if it is the contact's, or
// the contact's next.
const message_store::UpcomingBooking* booking_named(const ToolScope& s, const json& args) {
  const auto uid = string_arg(args, "booking_uid");
  for (const auto& b : s.bookings)
    if (!uid || b.uid == *uid) return &b;
  return nullptr;
}

std::string no_booking_message(const ToolScope& s, const json& args) {
  if (s.bookings.empty()) return "the contact has no upcoming booking";
  return "booking_uid " + string_arg(args, "booking_uid").value_or("") +
         " is not one of the contact's upcoming bookings";
}

// The start a booking or reschedule asks for, or why it cannot be booked.
std::variant<Timestamp, std::string> wanted_start(const ToolScope& s, const json& args) {
  const auto text = string_arg(args, "start");
  if (!text) return std::string("start is required (YYYY-MM-DDTHH:MM, local time)");
  const auto start = parse_local_minute(*text, s.tenant.time_zone());
  if (!start) return "start '" + *text + "' is not a local time (YYYY-MM-DDTHH:MM)";
  if (*start <= s.ctx.clock().now()) return "start " + *text + " has already passed";
  return *start;
}

// What the contact's upcoming booking says, for a confirmation.
followup_store::BookingRow row_of(const ToolScope& s, const message_store::UpcomingBooking& b, std::string status) {
  followup_store::BookingRow row;
  row.tenant = s.tenant.id;
  row.uid = b.uid;
  row.title = b.title;
  row.start = b.start;
  row.end = b.end;
  row.status = std::move(status);
  return row;
}

followup_store::BookingRow row_from_answer(const ToolScope& s, const std::string& body) {
  providers::Booking b = providers::parse_booking_answer(body);  // throws CalcomBodyError
  if (b.attendee_phone.empty()) b.attendee_phone = s.contact;  // the contact booked it
  return calcom_sync::booking_row(s.tenant.id, b, "conversation");
}

void find_slots(const ScopePtr& s, const ToolCall& call, ToolDone done) {
  const std::string& zone = s->tenant.time_zone();
  const Timestamp now = s->ctx.clock().now();
  const auto date = string_arg(call.arguments, "date");
  const auto part = string_arg(call.arguments, "part_of_day").value_or("");
  if (!part.empty() && part != "morning" && part != "afternoon" && part != "evening")
    return done(failed(call, "invalid_arguments", "part_of_day must be morning, afternoon or evening"), std::nullopt);
  int days = date ? 1 : kDefaultDays;
  if (auto it = call.arguments.find("days"); it != call.arguments.end()) {
    if (!it->is_number_integer() || it->get<int>() < 1 || it->get<int>() > kMaxDays)
      return done(failed(call, "invalid_arguments", "days must be a whole number from 1 to 14"), std::nullopt);
    days = it->get<int>();
  }
  const auto first_day = parse_local_date(date.value_or(format_local_date(now, zone)), zone);
  if (!first_day) return done(failed(call, "invalid_arguments", "date must be YYYY-MM-DD"), std::nullopt);
  // The local midnight `days` days on (noon first, so that a DST change cannot slip a day).
  const Timestamp to = *parse_local_date(format_local_date(*first_day + days * kDay + std::chrono::hours{12}, zone), zone);
  if (to <= now) return done(failed(call, "invalid_arguments", "date " + *date + " has already passed"), std::nullopt);
  fetch_slots(s, std::max(now, *first_day), to, [s, call, part, done](Slots slots) {
    if (auto* why = std::get_if<std::string>(&slots))
      return done(failed(call, "calendar_unavailable", "free times cannot be read now: " + *why), std::nullopt);
    std::vector<Timestamp> matching;
    for (Timestamp t : std::get<std::vector<Timestamp>>(slots))
      if (in_part(s->tenant, t, part)) matching.push_back(t);
    done(ok(call, {{"time_zone", s->tenant.time_zone()}, {"slots", slot_list(s->tenant, matching, kSlotsListed)}}),
         std::nullopt);
  });
}

void book_slot(const ScopePtr& s, const ToolCall& call, ToolDone done) {
  auto wanted = wanted_start(*s, call.arguments);
  if (auto* why = std::get_if<std::string>(&wanted)) return done(failed(call, "invalid_arguments", *why), std::nullopt);
  const Timestamp start = std::get<Timestamp>(wanted);
  // Already the contact's (a reply retried after its booking was stored): confirm it again.
  for (const auto& b : s->bookings) {
    if (b.start != start) continue;
    return done(ok(call, {{"booked", true},
                          {"booking_uid", b.uid},
                          {"start", format_local_minute(b.start, s->tenant.time_zone())},
                          {"label", slot_label(s->tenant, b.start)},
                          {"note", "the contact already had this booking; the system confirms it"}}),
                BookingChange{BookingChange::Kind::booked, row_of(*s, b, "accepted")});
  }
  const CalcomConfig& cal = s->tenant.calcom;
  providers::NewBooking nb;
  nb.event_type_id = cal.event_type_ids.front();
  nb.start = start;
  nb.name = string_arg(call.arguments, "name").value_or(s->name);
  if (nb.name.empty()) nb.name = language_of(s->tenant) == Language::en ? "WhatsApp contact" : "Contato WhatsApp";
  nb.email = s->contact + "@" + cal.attendee_email_domain;
  nb.phone = "+" + s->contact;
  nb.time_zone = s->tenant.time_zone();
  nb.language = s->tenant.llm.language.substr(0, 2);
  s->ctx.call(calcom_call(*s, providers::build_create_booking_call(calcom_endpoint(cal), nb)),
              [s, call, start, done](CallResult r) {
                if (refused(r)) return explain_refusal(s, call, start, failure_of(r), done);
                if (!r.ok())
                  return done(failed(call, "calendar_unavailable", "the booking could not be made now: " + failure_of(r)),
                              std::nullopt);
                BookingChange change{BookingChange::Kind::booked, {}};
                try {
                  change.booking = row_from_answer(*s, r.reply.body);
                } catch (const std::exception& e) {
                  // Booked, most likely; the next sync will store it.
                  log::warn("Cal.com's answer to a booking was unreadable", log::job_fields(s->ctx.job(), {{"error", e.what()}}));
                  return done(failed(call, "calendar_unavailable", "the calendar's answer was unreadable"), std::nullopt);
                }
                const auto& b = change.booking;
                store_change(s, change,
                             ok(call, {{"booked", true},
                                       {"booking_uid", b.uid},
                                       {"start", format_local_minute(b.start, s->tenant.time_zone())},
                                       {"label", slot_label(s->tenant, b.start)},
                                       {"note", "the contact is sent a confirmation by the system"}}),
                             done);
              });
}

void cancel_booking(const ScopePtr& s, const ToolCall& call, ToolDone done) {
  const auto* booking = booking_named(*s, call.arguments);
  if (!booking) return done(failed(call, "no_booking", no_booking_message(*s, call.arguments)), std::nullopt);
  const std::string reason = string_arg(call.arguments, "reason").value_or("cancelled by the contact on WhatsApp");
  const message_store::UpcomingBooking b = *booking;
  s->ctx.call(calcom_call(*s, providers::build_cancel_booking_call(calcom_endpoint(s->tenant.calcom), b.uid, reason)),
              [s, call, b, done](CallResult r) {
                if (!r.ok())
                  return done(failed(call, refused(r) ? "refused" : "calendar_unavailable",
                                     "the booking could not be cancelled: " + failure_of(r)),
                              std::nullopt);
                store_change(s, BookingChange{BookingChange::Kind::cancelled, row_of(*s, b, "cancelled")},
                             ok(call, {{"cancelled", true},
                                       {"booking_uid", b.uid},
                                       {"label", slot_label(s->tenant, b.start)},
                                       {"note", "the contact is sent a confirmation by the system"}}),
                             done);
              });
}

void reschedule_booking(const ScopePtr& s, const ToolCall& call, ToolDone done) {
  const auto* booking = booking_named(*s, call.arguments);
  if (!booking) return done(failed(call, "no_booking", no_booking_message(*s, call.arguments)), std::nullopt);
  auto wanted = wanted_start(*s, call.arguments);
  if (auto* why = std::get_if<std::string>(&wanted)) return done(failed(call, "invalid_arguments", *why), std::nullopt);
  const Timestamp start = std::get<Timestamp>(wanted);
  const std::string old_uid = booking->uid;
  s->ctx.call(calcom_call(*s, providers::build_reschedule_booking_call(calcom_endpoint(s->tenant.calcom), old_uid, start,
                                                                        "rescheduled by the contact on WhatsApp")),
              [s, call, start, old_uid, done](CallResult r) {
                if (refused(r)) return explain_refusal(s, call, start, failure_of(r), done);
                if (!r.ok())
                  return done(failed(call, "calendar_unavailable", "the booking could not be moved now: " + failure_of(r)),
                              std::nullopt);
                BookingChange change{BookingChange::Kind::rescheduled, {}};
                try {
                  change.booking = row_from_answer(*s, r.reply.body);
                } catch (const std::exception& e) {
                  log::warn("Cal.com's answer to a reschedule was unreadable", log::job_fields(s->ctx.job(), {{"error", e.what()}}));
                  return done(failed(call, "calendar_unavailable", "the calendar's answer was unreadable"), std::nullopt);
                }
                if (change.booking.rescheduled_from.empty()) change.booking.rescheduled_from = old_uid;
                const auto& b = change.booking;
                store_change(s, change,
                             ok(call, {{"rescheduled", true},
                                       {"booking_uid", b.uid},
                                       {"start", format_local_minute(b.start, s->tenant.time_zone())},
                                       {"label", slot_label(s->tenant, b.start)},
                                       {"note", "the contact is sent a confirmation by the system"}}),
                             done);
              });
}

json object_schema(json properties, std::vector<std::string> required = {}) {
  json schema = {{"type", "object"}, {"properties", std::move(properties)}};
  if (!required.empty()) schema["required"] = required;
  return schema;
}

}  // namespace

std::vector<providers::ToolSpec> booking_tools(const TenantConfig& tenant) {
  if (!tenant.calcom.enabled() || tenant.calcom.event_type_ids.empty()) return {};
  const json start = {{"type", "string"},
                      {"description", "The appointment's start in the business's local time, YYYY-MM-DDTHH:MM, "
                                      "exactly as find_slots gave it"}};
  const json uid = {{"type", "string"},
                    {"description", "Which of the contact's upcoming bookings (its booking_uid); "
                                    "default: the next one"}};
  return {
      {"find_slots",
       "Look up free appointment times in the business's calendar. Times are the business's local time. "
       "Offer the contact only times this returns.",
       object_schema({{"date", {{"type", "string"}, {"description", "First day to look at, YYYY-MM-DD (default: today)"}}},
                      {"days", {{"type", "integer"}, {"minimum", 1}, {"maximum", kMaxDays},
                                {"description", "How many days from date (default 1 with a date, else 7)"}}},
                      {"part_of_day", {{"type", "string"}, {"enum", {"morning", "afternoon", "evening"}}}}})},
      {"book_slot",
       "Book an appointment for the contact at a free time the contact chose. The system confirms it to the contact.",
       object_schema({{"start", start},
                      {"name", {{"type", "string"}, {"description", "The contact's full name, if they gave it"}}}},
                     {"start"})},
      {"cancel_booking",
       "Cancel one of the contact's own upcoming appointments, when the contact asks for it.",
       object_schema({{"booking_uid", uid}, {"reason", {{"type", "string"}}}})},
      {"reschedule_booking",
       "Move one of the contact's own upcoming appointments to another free time the contact chose.",
       object_schema({{"start", start}, {"booking_uid", uid}}, {"start"})},
  };
}

void run_tool(const std::shared_ptr<ToolScope>& scope, const providers::ToolCall& call, ToolDone done) {
  if (!call.arguments_error.empty() || !call.arguments.is_object())
    return done(failed(call, "invalid_arguments",
                       call.arguments_error.empty() ? "the arguments must be a JSON object" : call.arguments_error),
                std::nullopt);
  if (call.name == "find_slots") return find_slots(scope, call, std::move(done));
  if (call.name == "book_slot") return book_slot(scope, call, std::move(done));
  if (call.name == "cancel_booking") return cancel_booking(scope, call, std::move(done));
  if (call.name == "reschedule_booking") return reschedule_booking(scope, call, std::move(done));
  done(failed(call, "invalid_arguments", "there is no tool named '" + call.name + "'"), std::nullopt);
}

std::string slot_label(const TenantConfig& tenant, Timestamp at) {
  followup::TemplateValues v;
  v.start = at;
  v.time_zone = tenant.time_zone();
  v.language = tenant.llm.language;
  return followup::render_template("{weekday}, {date} {time}", v);
}

std::string confirmation(const TenantConfig& tenant, const BookingChange& change, const std::string& name) {
  static const std::map<std::pair<Language, BookingChange::Kind>, std::string_view> kDefaults = {
      {{Language::pt, BookingChange::Kind::booked}, "Pronto! Sua consulta está marcada para {weekday}, {date} às {time}."},
      {{Language::pt, BookingChange::Kind::cancelled}, "Sua consulta de {weekday}, {date} às {time} foi cancelada."},
      {{Language::pt, BookingChange::Kind::rescheduled}, "Pronto! Sua consulta foi remarcada para {weekday}, {date} às {time}."},
      {{Language::es, BookingChange::Kind::booked}, "¡Listo! Tu cita quedó para el {weekday} {date} a las {time}."},
      {{Language::es, BookingChange::Kind::cancelled}, "Tu cita del {weekday} {date} a las {time} fue cancelada."},
      {{Language::es, BookingChange::Kind::rescheduled}, "¡Listo! Tu cita pasó al {weekday} {date} a las {time}."},
      {{Language::en, BookingChange::Kind::booked}, "All set! Your appointment is booked for {weekday}, {date} at {time}."},
      {{Language::en, BookingChange::Kind::cancelled}, "Your appointment on {weekday}, {date} at {time} is cancelled."},
      {{Language::en, BookingChange::Kind::rescheduled}, "Done! Your appointment is moved to {weekday}, {date} at {time}."},
  };
  const CalcomConfig& cal = tenant.calcom;
  const std::string& configured = change.kind == BookingChange::Kind::booked      ? cal.booked_text
                                  : change.kind == BookingChange::Kind::cancelled ? cal.cancelled_text
                                                                                  : cal.rescheduled_text;
  followup::TemplateValues v;
  v.name = name;
  v.title = change.booking.title;
  v.tenant = tenant.id;
  v.start = change.booking.start;
  v.time_zone = tenant.time_zone();
  v.language = tenant.llm.language;
  return followup::render_template(
      configured.empty() ? kDefaults.at({language_of(tenant), change.kind}) : std::string_view(configured), v);
}

}  // namespace recado::jobs::llm_reply
