#pragma once
// A tenant's business hours: when follow-ups and other outbound messages may go out, in the
// tenant's own time zone. Pure functions over a plain struct: no SQL, no wall clock (the
// instant is always the caller's), safe to call from any thread.
//
// Hours are written in local (wall-clock) time and read with the IANA time zone database
// (Howard Hinnant's date/tz, on the system's /usr/share/zoneinfo). Daylight-saving changes:
//   - an opening that falls in a skipped hour (spring forward) opens at the first instant
//     after the gap, if the interval is still open then; an interval lying wholly inside
//     the gap does not occur that day;
//   - a repeated hour (fall back) is open in both of its occurrences; next_opening() gives
//     the first.
// Debian's date/tz reads the compiled zoneinfo files, which list each zone's changes up to
// 2037; instants after that keep the offset in force at the last change listed.
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/clock.hpp"

namespace recado {

// [open, close) in minutes after local midnight: 0 <= open < close <= 1440 (24:00, the
// next midnight). "22:00-24:00" is open until the day ends.
struct OpenInterval {
  int open = 0;
  int close = 0;
  friend bool operator==(const OpenInterval&, const OpenInterval&) = default;
};

struct BusinessHours {
  std::string time_zone = "UTC";  // an IANA zone name: America/Sao_Paulo, Europe/Lisbon
  // Per weekday, Monday first (days[0] Monday ... days[6] Sunday): sorted, non-overlapping
  // intervals; an empty day is closed all day.
  std::array<std::vector<OpenInterval>, 7> days;
  bool always_open = true;  // no business hours configured: `days` and `time_zone` are unused

  bool never_opens() const;  // not always open, and no interval on any day
};

// The weekday keys of the configuration, Monday first, as `days` is indexed.
inline constexpr std::array<std::string_view, 7> kWeekdayKeys = {"mon", "tue", "wed", "thu",
                                                                 "fri", "sat", "sun"};

// Whether `t` falls in an open interval of its local weekday. Throws std::runtime_error when
// time_zone is not in the time zone database (configuration checks it first).
bool is_open(const BusinessHours& hours, Timestamp t);

// `t` itself when open; otherwise the first instant after `t` at which the business opens.
// nullopt only when it never opens. Throws like is_open().
std::optional<Timestamp> next_opening(const BusinessHours& hours, Timestamp t);

// --- reading and writing the configuration's spelling --------------------------------------

// Parses one day's text: "08:00-12:00, 13:00-18:00", "closed", or "" (closed). Times are
// HH:MM (24:00 only as a close). Intervals may come in any order; they are returned sorted.
// On a malformed range, close <= open, or overlapping intervals, returns nullopt and sets
// `error` to a sentence saying what is wrong.
std::optional<std::vector<OpenInterval>> parse_day_hours(std::string_view text, std::string& error);

// The inverse: "08:00-12:00, 13:00-18:00", or "closed" for an empty day.
std::string format_day_hours(const std::vector<OpenInterval>& intervals);

// Whether `name` is a zone of the time zone database.
bool is_known_time_zone(const std::string& name);

}  // namespace recado
