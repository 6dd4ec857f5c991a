#pragma once
// Cron schedules for periodic jobs: a 5-field expression ("*/5 * * * *", "0 9 * * mon-fri")
// read in an IANA time zone, and the next instant it fires. Pure functions over a plain
// struct: no SQL, no wall clock (the instant is always the caller's), safe from any thread.
//
// Syntax, field by field (minute hour day-of-month month day-of-week, separated by blanks):
//   minute 0-59, hour 0-23, day of month 1-31, month 1-12 or jan-dec, day of week 0-7
//   (0 and 7 are Sunday) or sun-sat. Names are case-insensitive.
//   Each field is a comma-separated list of items; an item is `*`, `a`, or `a-b`, optionally
//   followed by `/n` (every n-th value: `*/n` over the whole field, `a-b/n` over the range,
//   `a/n` from a to the field's end). A range may not run backwards, except that a day-of-week
//   range ending in Sunday ends at 7: `fri-sun` is 5-7.
//   Macros: @yearly (@annually) "0 0 1 1 *", @monthly "0 0 1 * *", @weekly "0 0 * * 0",
//   @daily (@midnight) "0 0 * * *", @hourly "0 * * * *".
//
// Days, as Vixie cron and cronie decide them: a day-of-month or day-of-week field written as
// `*` or `*/n` is "unrestricted". When either is unrestricted a day must match both fields;
// when both are restricted, a day matches if EITHER does ("0 0 1,15 * mon" is the 1st, the 15th
// and every Monday; "0 0 */2 * mon" is the Mondays that fall on odd days).
//
// Daylight-saving time. Fields are read on the zone's wall clock. Around a change:
//   - a schedule that fires in every hour of the day (hour field `*`, `*/1` or `0-23`) follows
//     the wall clock as it is: a wall time skipped by a spring-forward gap does not occur, and
//     one repeated by a fall-back fires in both of its occurrences (so "*/5 * * * *" keeps
//     firing every 5 minutes of real time through both changes);
//   - any other schedule (fixed hours, like cronie's fixed-time jobs): a wall time inside a gap
//     fires at the first instant after the gap (several such times fire once, together), and a
//     repeated wall time fires only at its first occurrence ("30 1 * * *" runs once a night).
// Debian's date/tz reads the compiled zoneinfo files, which list each zone's changes up to
// 2037; instants after that keep the offset in force at the last change listed.
#include <bitset>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "src/clock.hpp"

namespace recado {

struct CronSchedule {
  std::bitset<60> minutes;         // bit m: minute m
  std::bitset<24> hours;           // bit h: hour h
  std::bitset<32> days_of_month;   // bits 1-31 (bit 0 unused)
  std::bitset<13> months;          // bits 1-12 (bit 0 unused)
  std::bitset<7> days_of_week;     // bit 0 Sunday ... bit 6 Saturday (7 in the text is bit 0)
  bool day_of_month_star = false;  // the field was written `*` or `*/n`: see "Days" above
  bool day_of_week_star = false;
  std::string time_zone = "UTC";  // an IANA zone name, checked by parse_cron

  friend bool operator==(const CronSchedule&, const CronSchedule&) = default;
};

// Parses a 5-field expression or macro, to be read in `time_zone`. On failure returns a
// sentence saying what is wrong; a field's error starts with the field's name and quotes the
// offending text ("hour: 24 is out of range 0-23"); an unknown zone names the zone.
std::variant<CronSchedule, std::string> parse_cron(std::string_view expression,
                                                   std::string_view time_zone = "UTC");

// The first instant strictly after `after` at which the schedule fires, by its zone's wall
// clock and the daylight-saving rule above; seconds and microseconds are zero (every current
// zone's offset is whole minutes). nullopt when nothing fires in the 9 years after `after`: a
// schedule that can never fire ("0 0 30 2 *"), since the longest gap a satisfiable one can
// have is 8 years (Feb 29 across 2100); also nullopt when `after` is outside the years
// 1900-9000. Skips by month, day and hour: a few hundred steps at most. Throws
// std::runtime_error when time_zone is not in the time zone database (parse_cron checks it).
std::optional<Timestamp> next_fire(const CronSchedule& schedule, Timestamp after);

// The five fields in canonical form, for logs and recadoctl: numbers, not names; `*` for a
// whole field; `*/n`, `a-b/n`, ranges and lists otherwise ("0 9 * * 1-5", "*/5 * * * *").
// The zone is not included (it is schedule.time_zone). For a schedule made by parse_cron,
// parse_cron(to_string(s), s.time_zone) gives s back.
std::string to_string(const CronSchedule& schedule);

}  // namespace recado
