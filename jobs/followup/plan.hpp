#pragma once
// Follow-up planning and message templates: which of a tenant's follow-up rules a booking
// calls for and when, and the text of a templated follow-up. Pure functions: no SQL, no wall
// clock (the instant is always the caller's), safe from any thread.
#include <string>
#include <string_view>
#include <vector>

#include "src/clock.hpp"
#include "src/config.hpp"

namespace recado::jobs::followup {

// A booking as planning sees it. `status` is Cal.com's (accepted, pending, cancelled,
// rejected, ...), compared case-insensitively.
struct BookingTimes {
  Timestamp start;
  Timestamp end;
  std::string status;
};

// One follow-up to schedule: the rule's name and when it is due.
struct Planned {
  std::string rule;
  Timestamp due;
  friend bool operator==(const Planned&, const Planned&) = default;
};

// The booking-driven rules (before_start: start - offset; after_end: end + offset) whose due
// time is strictly after `now`, for a booking that is not cancelled or rejected; in the
// rules' order. `quiet` rules are not booking-driven and are never returned.
std::vector<Planned> plan_booking_followups(const BookingTimes& booking,
                                            const std::vector<FollowupRule>& rules,
                                            Timestamp now);

// The languages templates are written for: a tag starting pt or es (any case), else English.
enum class Language { pt, es, en };
Language language_of(std::string_view tag);

struct TemplateValues {
  std::string name;    // the contact's name
  std::string title;   // the booking's title
  std::string tenant;  // the tenant's id (or display name)
  Timestamp start;     // the booking's start
  std::string time_zone = "UTC";  // IANA zone in which {date} {time} {weekday} are shown
  std::string language;           // pt*, es*, anything else is English
};

// Fills {name} {date} {time} {weekday} {title} {tenant}: the date, time and weekday of
// `start` in `time_zone`, for the language (pt: 05/01/2026, 10:00, segunda-feira; es:
// 05/01/2026, 10:00, lunes; en: 2026-01-05, 10:00, Monday). Anything else in braces, an
// unknown placeholder or a lone brace, is copied as is (configuration rejects unknown
// placeholders before a text gets here). An unknown time zone shows the time in UTC.
std::string render_template(std::string_view text, const TemplateValues& values);

}  // namespace recado::jobs::followup
