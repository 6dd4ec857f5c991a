// Business hours: open and closed instants and the next opening, in time zones with and
// without daylight-saving time. Expected instants are written in UTC, worked out by hand
// from each zone's offsets, so the test does not take the library's word for them.
#include "src/business_hours.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace recado {
namespace {

using namespace std::chrono_literals;

// An instant given in UTC.
Timestamp utc(int y, unsigned m, unsigned d, int hour, int minute, int second = 0) {
  const std::chrono::sys_days day{std::chrono::year{y} / std::chrono::month{m} / std::chrono::day{d}};
  return Timestamp{day.time_since_epoch()} + std::chrono::hours{hour} + std::chrono::minutes{minute} +
         std::chrono::seconds{second};
}

// Business hours in `zone`, each listed day with its text as the configuration spells it.
BusinessHours hours(const std::string& zone, std::initializer_list<std::pair<const char*, const char*>> days) {
  BusinessHours h;
  h.always_open = false;
  h.time_zone = zone;
  for (const auto& [key, text] : days) {
    std::size_t i = 0;
    while (kWeekdayKeys[i] != key) ++i;
    std::string error;
    auto parsed = parse_day_hours(text, error);
    EXPECT_TRUE(parsed) << text << ": " << error;
    if (parsed) h.days[i] = *parsed;
  }
  return h;
}

// A clinic in São Paulo (UTC-3 all year since 2019): weekdays with a lunch break,
// Saturday mornings, closed on Sunday.
BusinessHours sao_paulo_clinic() {
  return hours("America/Sao_Paulo", {{"mon", "08:00-12:00, 13:00-18:00"},
                                     {"tue", "08:00-12:00, 13:00-18:00"},
                                     {"wed", "08:00-12:00, 13:00-18:00"},
                                     {"thu", "08:00-12:00, 13:00-18:00"},
                                     {"fri", "08:00-12:00, 13:00-18:00"},
                                     {"sat", "09:00-12:00"},
                                     {"sun", "closed"}});
}

// --- always open, never open --------------------------------------------------------------

TEST(BusinessHours, AbsentMeansAlwaysOpen) {
  const BusinessHours h;
  EXPECT_TRUE(h.always_open);
  EXPECT_FALSE(h.never_opens());
  for (Timestamp t : {utc(2026, 1, 4, 3, 0), utc(2026, 1, 5, 12, 30), utc(1999, 12, 31, 23, 59)}) {
    EXPECT_TRUE(is_open(h, t));
    EXPECT_EQ(next_opening(h, t), t);
  }
}

TEST(BusinessHours, NoOpenDayNeverOpens) {
  const BusinessHours h = hours("Europe/Lisbon", {{"mon", "closed"}, {"tue", ""}});
  EXPECT_TRUE(h.never_opens());
  EXPECT_FALSE(is_open(h, utc(2026, 1, 5, 10, 0)));
  EXPECT_EQ(next_opening(h, utc(2026, 1, 5, 10, 0)), std::nullopt);
}

TEST(BusinessHours, UnknownZoneThrows) {
  BusinessHours h = hours("Mars/Olympus_Mons", {{"mon", "08:00-18:00"}});
  EXPECT_THROW(is_open(h, utc(2026, 1, 5, 12, 0)), std::runtime_error);
  EXPECT_THROW(next_opening(h, utc(2026, 1, 5, 12, 0)), std::runtime_error);
}

// --- open and closed instants -------------------------------------------------------------

TEST(BusinessHours, OpenExactlyWithinEachIntervalInLocalTime) {
  const BusinessHours h = sao_paulo_clinic();
  // Monday 5 January 2026; local = UTC - 3h.
  EXPECT_FALSE(is_open(h, utc(2026, 1, 5, 11, 0) - 1us));  // 07:59:59.999999
  EXPECT_TRUE(is_open(h, utc(2026, 1, 5, 11, 0)));         // 08:00 opens
  EXPECT_TRUE(is_open(h, utc(2026, 1, 5, 15, 0) - 1us));   // 11:59:59.999999
  EXPECT_FALSE(is_open(h, utc(2026, 1, 5, 15, 0)));        // 12:00 lunch
  EXPECT_FALSE(is_open(h, utc(2026, 1, 5, 15, 59)));
  EXPECT_TRUE(is_open(h, utc(2026, 1, 5, 16, 0)));         // 13:00
  EXPECT_TRUE(is_open(h, utc(2026, 1, 5, 20, 59, 59)));    // 17:59:59
  EXPECT_FALSE(is_open(h, utc(2026, 1, 5, 21, 0)));        // 18:00 closes
  // Late Monday evening local is already Tuesday in UTC: the local weekday counts.
  EXPECT_FALSE(is_open(h, utc(2026, 1, 6, 2, 0)));         // Monday 23:00
  // Saturday morning open, Saturday afternoon and Sunday closed.
  EXPECT_TRUE(is_open(h, utc(2026, 1, 10, 12, 0)));        // Saturday 09:00
  EXPECT_FALSE(is_open(h, utc(2026, 1, 10, 15, 0)));       // Saturday 12:00
  EXPECT_FALSE(is_open(h, utc(2026, 1, 11, 14, 0)));       // Sunday 11:00
}

TEST(BusinessHours, OpenWhenTheClockReachesTheOpeningExactly) {
  const BusinessHours h = sao_paulo_clinic();
  const Timestamp opening = utc(2026, 1, 5, 11, 0);
  EXPECT_EQ(next_opening(h, opening), opening);
  EXPECT_EQ(next_opening(h, opening + 2h), opening + 2h);
  EXPECT_EQ(next_opening(h, opening - 1us), opening);
}

// --- the next opening ---------------------------------------------------------------------

TEST(BusinessHours, NextOpeningAfterLunchTheSameDay) {
  EXPECT_EQ(next_opening(sao_paulo_clinic(), utc(2026, 1, 5, 15, 30)), utc(2026, 1, 5, 16, 0));
}

TEST(BusinessHours, NextOpeningTheNextMorning) {
  const BusinessHours h = sao_paulo_clinic();
  // Monday 18:00 and Monday 23:30 (Tuesday in UTC) both wait for Tuesday 08:00.
  EXPECT_EQ(next_opening(h, utc(2026, 1, 5, 21, 0)), utc(2026, 1, 6, 11, 0));
  EXPECT_EQ(next_opening(h, utc(2026, 1, 6, 2, 30)), utc(2026, 1, 6, 11, 0));
  // Before dawn on Tuesday.
  EXPECT_EQ(next_opening(h, utc(2026, 1, 6, 8, 0)), utc(2026, 1, 6, 11, 0));
}

TEST(BusinessHours, NextOpeningOverTheWeekend) {
  const BusinessHours h = sao_paulo_clinic();
  // Friday evening: Saturday 09:00.
  EXPECT_EQ(next_opening(h, utc(2026, 1, 9, 22, 0)), utc(2026, 1, 10, 12, 0));
  // Saturday noon: Sunday is closed, so Monday 08:00.
  EXPECT_EQ(next_opening(h, utc(2026, 1, 10, 15, 0)), utc(2026, 1, 12, 11, 0));
  EXPECT_EQ(next_opening(h, utc(2026, 1, 11, 20, 0)), utc(2026, 1, 12, 11, 0));
}

TEST(BusinessHours, NextOpeningWrapsRoundTheWeek) {
  // Open only on Monday mornings, in UTC.
  const BusinessHours h = hours("UTC", {{"mon", "09:00-10:00"}});
  // From Monday 10:00 the next opening is a week later.
  EXPECT_EQ(next_opening(h, utc(2026, 1, 5, 10, 0)), utc(2026, 1, 12, 9, 0));
  // From Sunday night (the last weekday) to Monday (the first).
  EXPECT_EQ(next_opening(h, utc(2026, 1, 11, 23, 59)), utc(2026, 1, 12, 9, 0));
  // Open only on Sunday: from Monday, six days on.
  const BusinessHours sunday = hours("UTC", {{"sun", "10:00-11:00"}});
  EXPECT_EQ(next_opening(sunday, utc(2026, 1, 5, 0, 0)), utc(2026, 1, 11, 10, 0));
  EXPECT_EQ(next_opening(sunday, utc(2026, 1, 11, 11, 0)), utc(2026, 1, 18, 10, 0));
}

TEST(BusinessHours, IntervalsRunToMidnightAndOnIntoTheNextDay) {
  // A night shift in Lisbon in winter (UTC+0): Monday 22:00 to Tuesday 02:00, written as two
  // intervals, and Sunday until midnight.
  const BusinessHours h =
      hours("Europe/Lisbon", {{"mon", "22:00-24:00"}, {"tue", "00:00-02:00"}, {"sun", "20:00-24:00"}});
  EXPECT_FALSE(is_open(h, utc(2026, 1, 5, 21, 59)));
  EXPECT_TRUE(is_open(h, utc(2026, 1, 5, 22, 0)));
  EXPECT_TRUE(is_open(h, utc(2026, 1, 6, 0, 0) - 1us));  // Monday 23:59:59.999999
  EXPECT_TRUE(is_open(h, utc(2026, 1, 6, 0, 0)));        // Tuesday 00:00
  EXPECT_TRUE(is_open(h, utc(2026, 1, 6, 1, 59)));
  EXPECT_FALSE(is_open(h, utc(2026, 1, 6, 2, 0)));
  EXPECT_EQ(next_opening(h, utc(2026, 1, 5, 12, 0)), utc(2026, 1, 5, 22, 0));
  // Open across midnight: the instant itself.
  EXPECT_EQ(next_opening(h, utc(2026, 1, 6, 0, 0)), utc(2026, 1, 6, 0, 0));
  // Tuesday 02:00 waits until Sunday 20:00; Sunday's close at 24:00 is Monday 00:00, and
  // then Monday 22:00.
  EXPECT_EQ(next_opening(h, utc(2026, 1, 6, 2, 0)), utc(2026, 1, 11, 20, 0));
  EXPECT_TRUE(is_open(h, utc(2026, 1, 12, 0, 0) - 1us));
  EXPECT_EQ(next_opening(h, utc(2026, 1, 12, 0, 0)), utc(2026, 1, 12, 22, 0));
}

TEST(BusinessHours, SaoPauloKeepsItsOffsetAllYear) {
  // Brazil dropped daylight-saving time in 2019: November 2026 is still UTC-3.
  const BusinessHours h = sao_paulo_clinic();
  EXPECT_EQ(next_opening(h, utc(2026, 11, 2, 0, 0)), utc(2026, 11, 2, 11, 0));  // Monday 08:00
  EXPECT_EQ(next_opening(h, utc(2026, 7, 6, 0, 0)), utc(2026, 7, 6, 11, 0));
}

// --- daylight-saving time -----------------------------------------------------------------

TEST(BusinessHours, SpringForwardOpeningInTheSkippedHourOpensAfterTheGap) {
  // New York, Sunday 8 March 2026: at 02:00 EST (07:00Z) clocks jump to 03:00 EDT.
  const BusinessHours h = hours("America/New_York", {{"sun", "02:30-05:00"}, {"mon", "08:00-17:00"}});
  EXPECT_FALSE(is_open(h, utc(2026, 3, 8, 7, 0) - 1us));  // 01:59:59.999999 EST
  EXPECT_TRUE(is_open(h, utc(2026, 3, 8, 7, 0)));         // 03:00 EDT
  EXPECT_EQ(next_opening(h, utc(2026, 3, 8, 6, 0)), utc(2026, 3, 8, 7, 0));
  EXPECT_TRUE(is_open(h, utc(2026, 3, 8, 9, 0) - 1us));   // 04:59:59.999999 EDT
  EXPECT_FALSE(is_open(h, utc(2026, 3, 8, 9, 0)));        // 05:00 EDT
  // The week before, a plain Sunday: 02:30 EST.
  EXPECT_EQ(next_opening(h, utc(2026, 3, 1, 6, 0)), utc(2026, 3, 1, 7, 30));
  // Monday after the change opens at 08:00 EDT, an hour earlier in UTC than the Monday before.
  EXPECT_EQ(next_opening(h, utc(2026, 3, 2, 10, 0)), utc(2026, 3, 2, 13, 0));
  EXPECT_EQ(next_opening(h, utc(2026, 3, 9, 10, 0)), utc(2026, 3, 9, 12, 0));
}

TEST(BusinessHours, SpringForwardIntervalWhollyInTheGapDoesNotOccur) {
  const BusinessHours h = hours("America/New_York", {{"sun", "02:10-02:50"}, {"mon", "09:00-17:00"}});
  // 03:00 EDT on the day of the change is past the interval's close: closed.
  EXPECT_FALSE(is_open(h, utc(2026, 3, 8, 7, 0)));
  // From Saturday, the next opening is Monday 09:00 EDT, not Sunday.
  EXPECT_EQ(next_opening(h, utc(2026, 3, 7, 12, 0)), utc(2026, 3, 9, 13, 0));
  // A week later the interval is there again (02:10 EDT).
  EXPECT_EQ(next_opening(h, utc(2026, 3, 10, 0, 0)), utc(2026, 3, 15, 6, 10));
}

TEST(BusinessHours, FallBackRepeatedHourOpensAtItsFirstOccurrence) {
  // New York, Sunday 1 November 2026: at 02:00 EDT (06:00Z) clocks go back to 01:00 EST,
  // so 01:00-02:00 happens twice: 05:00Z-06:00Z (EDT) and 06:00Z-07:00Z (EST).
  const BusinessHours h = hours("America/New_York", {{"sun", "01:00-01:30"}, {"mon", "09:00-17:00"}});
  EXPECT_EQ(next_opening(h, utc(2026, 11, 1, 4, 0)), utc(2026, 11, 1, 5, 0));  // first 01:00
  EXPECT_TRUE(is_open(h, utc(2026, 11, 1, 5, 15)));
  EXPECT_FALSE(is_open(h, utc(2026, 11, 1, 5, 30)));  // 01:30 EDT
  // Both occurrences are open; after the first closes, the second opens.
  EXPECT_EQ(next_opening(h, utc(2026, 11, 1, 5, 45)), utc(2026, 11, 1, 6, 0));
  EXPECT_TRUE(is_open(h, utc(2026, 11, 1, 6, 15)));   // 01:15 EST
  EXPECT_FALSE(is_open(h, utc(2026, 11, 1, 6, 30)));  // 01:30 EST
  // Monday opens at 09:00 EST (14:00Z); the Sunday after, 01:00 EST (06:00Z).
  EXPECT_EQ(next_opening(h, utc(2026, 11, 1, 6, 30)), utc(2026, 11, 2, 14, 0));
  EXPECT_EQ(next_opening(h, utc(2026, 11, 2, 22, 0)), utc(2026, 11, 8, 6, 0));
}

TEST(BusinessHours, FallBackReopensWhenTheClockGoesBackIntoAnInterval) {
  // 00:30-01:30 closes at 01:30 EDT (05:30Z); when the clocks go back at 06:00Z the local
  // time is 01:00 EST, inside the interval again, until 01:30 EST (06:30Z).
  const BusinessHours h = hours("America/New_York", {{"sun", "00:30-01:30"}});
  EXPECT_FALSE(is_open(h, utc(2026, 11, 1, 5, 45)));
  EXPECT_EQ(next_opening(h, utc(2026, 11, 1, 5, 45)), utc(2026, 11, 1, 6, 0));
  EXPECT_TRUE(is_open(h, utc(2026, 11, 1, 6, 29)));
  EXPECT_EQ(next_opening(h, utc(2026, 11, 1, 6, 30)), utc(2026, 11, 8, 5, 30));  // 00:30 EST
}

TEST(BusinessHours, FallBackOpeningBeforeTheRepeatedHourLastsItsLocalLength) {
  // An interval across the repeated hour, 00:30-03:00 local, lasts 3.5 hours that day.
  const BusinessHours h = hours("America/New_York", {{"sun", "00:30-03:00"}});
  EXPECT_EQ(next_opening(h, utc(2026, 11, 1, 0, 0)), utc(2026, 11, 1, 4, 30));  // 00:30 EDT
  EXPECT_TRUE(is_open(h, utc(2026, 11, 1, 7, 59)));   // 02:59 EST
  EXPECT_FALSE(is_open(h, utc(2026, 11, 1, 8, 0)));   // 03:00 EST
}

TEST(BusinessHours, LisbonChangesAtOneInTheMorning) {
  // Europe/Lisbon, Sunday 29 March 2026: 01:00 WET (01:00Z) becomes 02:00 WEST.
  const BusinessHours spring = hours("Europe/Lisbon", {{"sun", "01:30-03:00"}});
  EXPECT_EQ(next_opening(spring, utc(2026, 3, 29, 0, 30)), utc(2026, 3, 29, 1, 0));  // 02:00 WEST
  EXPECT_FALSE(is_open(spring, utc(2026, 3, 29, 2, 0)));                             // 03:00 WEST
  // Sunday 25 October 2026: 02:00 WEST (01:00Z) goes back to 01:00 WET.
  const BusinessHours autumn = hours("Europe/Lisbon", {{"sun", "01:00-01:20"}});
  EXPECT_EQ(next_opening(autumn, utc(2026, 10, 24, 12, 0)), utc(2026, 10, 25, 0, 0));  // 01:00 WEST
  EXPECT_EQ(next_opening(autumn, utc(2026, 10, 25, 0, 30)), utc(2026, 10, 25, 1, 0));  // 01:00 WET
  EXPECT_EQ(next_opening(autumn, utc(2026, 10, 25, 1, 20)), utc(2026, 11, 1, 1, 0));
}

// Every minute for two weeks around both of New York's changes in 2026 (and Lisbon's), the
// next opening agrees with a minute-by-minute search using is_open: the first open minute
// at or after the instant, and never an instant that is closed. Every opening, change of
// offset and instant here lies on a whole minute, so the minute search is exact.
TEST(BusinessHours, NextOpeningAgreesWithAMinuteByMinuteSearch) {
  struct Case {
    BusinessHours hours;
    Timestamp from;
  };
  const std::vector<Case> cases = {
      {hours("America/New_York", {{"sun", "00:40-01:10, 01:30-01:45, 02:10-02:40, 23:00-24:00"},
                                  {"mon", "00:00-00:30, 09:00-17:00"},
                                  {"sat", "02:30-03:30"}}),
       utc(2026, 3, 2, 0, 0)},
      {hours("America/New_York", {{"sun", "00:40-01:10, 01:30-01:45, 02:10-02:40, 23:00-24:00"},
                                  {"mon", "00:00-00:30, 09:00-17:00"},
                                  {"sat", "02:30-03:30"}}),
       utc(2026, 10, 26, 0, 0)},
      {hours("Europe/Lisbon", {{"sun", "00:50-01:10, 01:30-02:30"}, {"wed", "12:00-12:01"}}),
       utc(2026, 3, 23, 0, 0)},
      {hours("Europe/Lisbon", {{"sun", "00:50-01:10, 01:30-02:30"}, {"wed", "12:00-12:01"}}),
       utc(2026, 10, 19, 0, 0)},
  };
  for (const Case& c : cases) {
    constexpr int kMinutes = 16 * 24 * 60;  // the search looks this far
    constexpr int kChecked = 8 * 24 * 60;   // every starting minute of the first eight days
    std::vector<int> next_open(kMinutes + 1, -1);
    for (int i = kMinutes - 1; i >= 0; --i)
      next_open[i] = is_open(c.hours, c.from + std::chrono::minutes{i}) ? i : next_open[i + 1];
    int checked_closed = 0;
    for (int i = 0; i < kChecked; ++i) {
      ASSERT_GE(next_open[i], 0);
      const Timestamp t = c.from + std::chrono::minutes{i};
      const Timestamp expected = c.from + std::chrono::minutes{next_open[i]};
      ASSERT_EQ(next_opening(c.hours, t), expected) << c.hours.time_zone << " minute " << i;
      if (next_open[i] != i) {
        ++checked_closed;
        // Within a closed minute, too.
        ASSERT_EQ(next_opening(c.hours, t + 30s), expected) << c.hours.time_zone << " minute " << i;
      }
    }
    EXPECT_GT(checked_closed, kChecked / 2);  // the search was mostly from closed instants
  }
}

// --- the configuration's spelling ---------------------------------------------------------

TEST(BusinessHoursText, ParsesRangesInAnyOrderAndSortsThem) {
  std::string error;
  auto day = parse_day_hours(" 13:00-18:00 ,08:00 - 12:00", error);
  ASSERT_TRUE(day) << error;
  EXPECT_EQ(*day, (std::vector<OpenInterval>{{8 * 60, 12 * 60}, {13 * 60, 18 * 60}}));
  day = parse_day_hours("22:00-24:00", error);
  ASSERT_TRUE(day) << error;
  EXPECT_EQ(*day, (std::vector<OpenInterval>{{22 * 60, 24 * 60}}));
  day = parse_day_hours("8:05-9:10", error);
  ASSERT_TRUE(day) << error;
  EXPECT_EQ(*day, (std::vector<OpenInterval>{{8 * 60 + 5, 9 * 60 + 10}}));
  // Touching is not overlapping.
  day = parse_day_hours("08:00-12:00, 12:00-13:00", error);
  ASSERT_TRUE(day) << error;
  EXPECT_EQ(day->size(), 2u);
}

TEST(BusinessHoursText, ClosedOrEmptyIsAClosedDay) {
  std::string error;
  for (const char* text : {"closed", "", "  ", " closed "}) {
    auto day = parse_day_hours(text, error);
    ASSERT_TRUE(day) << text;
    EXPECT_TRUE(day->empty()) << text;
  }
}

TEST(BusinessHoursText, RejectsWhatIsNotARangeSayingWhy) {
  const std::pair<const char*, const char*> cases[] = {
      {"8-12", "not a range"},
      {"08:00", "not a range"},
      {"08:00-", "not a range"},
      {"08:00-12:00-13:00", "not a range"},
      {"25:00-26:00", "not a range"},
      {"08:60-09:00", "not a range"},
      {"24:00-24:00", "not a range"},   // 24:00 only closes
      {"08:00-24:30", "not a range"},
      {"08:00-12:0", "not a range"},
      {"08:00-123:00", "not a range"},
      {"open", "not a range"},
      {"08:00-12:00,", "an empty range"},
      {"08:00-12:00,,13:00-14:00", "an empty range"},
      {"18:00-08:00", "does not close after it opens"},
      {"09:00-09:00", "does not close after it opens"},
      {"08:00-12:00, 11:00-13:00", "08:00-12:00 and 11:00-13:00 overlap"},
      {"10:00-11:00, 08:00-18:00", "08:00-18:00 and 10:00-11:00 overlap"},
  };
  for (const auto& [text, why] : cases) {
    std::string error;
    EXPECT_FALSE(parse_day_hours(text, error)) << text;
    EXPECT_NE(error.find(why), std::string::npos) << text << ": " << error;
  }
}

TEST(BusinessHoursText, FormatsWhatItParses) {
  std::string error;
  for (const char* text : {"08:00-12:00, 13:00-18:00", "00:00-24:00", "22:00-24:00", "closed"})
    EXPECT_EQ(format_day_hours(*parse_day_hours(text, error)), text);
}

TEST(BusinessHoursText, KnowsTheZonesOfTheDatabase) {
  for (const char* zone : {"UTC", "America/Sao_Paulo", "America/New_York", "Europe/Lisbon", "Asia/Kolkata"})
    EXPECT_TRUE(is_known_time_zone(zone)) << zone;
  for (const char* zone : {"", "Mars/Olympus_Mons", "america/sao_paulo", "GMT+25"})
    EXPECT_FALSE(is_known_time_zone(zone)) << zone;
}

}  // namespace
}  // namespace recado
