// Cron schedules: parsing every form and every error, the canonical form, and the next fire
// time in UTC and in time zones with and without daylight-saving time. Expected instants are
// written in UTC, worked out by hand from each zone's offsets; around each 2026 change the
// results are also checked against a minute-by-minute search that reads the zone through
// date/tz directly, so the test does not take next_fire's word for them.
#include "src/cron.hpp"

#include <date/tz.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace recado {
namespace {

using namespace std::chrono_literals;
using std::chrono::minutes;
using std::chrono::seconds;

// An instant given in UTC.
Timestamp utc(int y, unsigned m, unsigned d, int hour, int minute, int second = 0) {
  const date::sys_days day{date::year{y} / date::month{m} / date::day{d}};
  return Timestamp{day.time_since_epoch()} + std::chrono::hours{hour} + minutes{minute} +
         seconds{second};
}

std::string show(Timestamp t) {
  return date::format("%F %T UTC", date::floor<seconds>(t));
}

std::string show(const std::optional<Timestamp>& t) {
  return t ? show(*t) : "nullopt";
}

CronSchedule parsed(std::string_view expression, std::string_view zone = "UTC") {
  auto result = parse_cron(expression, zone);
  if (const auto* error = std::get_if<std::string>(&result)) {
    ADD_FAILURE() << "'" << expression << "' did not parse: " << *error;
    return {};
  }
  return std::get<CronSchedule>(result);
}

std::string parse_error(std::string_view expression, std::string_view zone = "UTC") {
  auto result = parse_cron(expression, zone);
  if (const auto* error = std::get_if<std::string>(&result)) return *error;
  return "(parsed as '" + to_string(std::get<CronSchedule>(result)) + "')";
}

template <std::size_t N>
std::vector<int> bits(const std::bitset<N>& set) {
  std::vector<int> out;
  for (std::size_t i = 0; i < N; ++i)
    if (set.test(i)) out.push_back(static_cast<int>(i));
  return out;
}

std::vector<int> range(int first, int last, int step = 1) {
  std::vector<int> out;
  for (int v = first; v <= last; v += step) out.push_back(v);
  return out;
}

// The first `count` fire times after `after`, each strictly after the one before.
std::vector<std::string> fires(const CronSchedule& s, Timestamp after, int count) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    const auto next = next_fire(s, after);
    out.push_back(show(next));
    if (!next) break;
    after = *next;
  }
  return out;
}

// --- parsing: every form --------------------------------------------------------------------

TEST(CronParse, Wildcards) {
  const CronSchedule s = parsed("* * * * *");
  EXPECT_EQ(bits(s.minutes), range(0, 59));
  EXPECT_EQ(bits(s.hours), range(0, 23));
  EXPECT_EQ(bits(s.days_of_month), range(1, 31));
  EXPECT_EQ(bits(s.months), range(1, 12));
  EXPECT_EQ(bits(s.days_of_week), range(0, 6));
  EXPECT_TRUE(s.day_of_month_star);
  EXPECT_TRUE(s.day_of_week_star);
  EXPECT_EQ(s.time_zone, "UTC");
}

TEST(CronParse, SingleValuesListsAndRanges) {
  const CronSchedule s = parsed("30 8 1,15 * *");
  EXPECT_EQ(bits(s.minutes), std::vector<int>{30});
  EXPECT_EQ(bits(s.hours), std::vector<int>{8});
  EXPECT_EQ(bits(s.days_of_month), (std::vector<int>{1, 15}));
  EXPECT_FALSE(s.day_of_month_star);
  EXPECT_TRUE(s.day_of_week_star);

  const CronSchedule r = parsed("0-4,58-59 9-17 10-12,20 3-4 1-5");
  EXPECT_EQ(bits(r.minutes), (std::vector<int>{0, 1, 2, 3, 4, 58, 59}));
  EXPECT_EQ(bits(r.hours), range(9, 17));
  EXPECT_EQ(bits(r.days_of_month), (std::vector<int>{10, 11, 12, 20}));
  EXPECT_EQ(bits(r.months), (std::vector<int>{3, 4}));
  EXPECT_EQ(bits(r.days_of_week), range(1, 5));
  EXPECT_FALSE(r.day_of_week_star);
}

TEST(CronParse, Steps) {
  EXPECT_EQ(bits(parsed("*/5 * * * *").minutes), range(0, 55, 5));
  EXPECT_EQ(bits(parsed("*/1 * * * *").minutes), range(0, 59));
  EXPECT_EQ(bits(parsed("10-30/10 * * * *").minutes), (std::vector<int>{10, 20, 30}));
  EXPECT_EQ(bits(parsed("10-35/10 * * * *").minutes), (std::vector<int>{10, 20, 30}));
  // a/n runs from a to the end of the field.
  EXPECT_EQ(bits(parsed("5/15 * * * *").minutes), (std::vector<int>{5, 20, 35, 50}));
  EXPECT_EQ(bits(parsed("0 3/8 * * *").hours), (std::vector<int>{3, 11, 19}));
  EXPECT_EQ(bits(parsed("0 0 */10 * *").days_of_month), (std::vector<int>{1, 11, 21, 31}));
  EXPECT_EQ(bits(parsed("0 0 1 */3 *").months), (std::vector<int>{1, 4, 7, 10}));
  EXPECT_EQ(bits(parsed("0 0 * * */2").days_of_week), (std::vector<int>{0, 2, 4, 6}));
  EXPECT_EQ(bits(parsed("0 0 * * 1/2").days_of_week), (std::vector<int>{1, 3, 5}));
  EXPECT_EQ(bits(parsed("*/60 * * * *").minutes), std::vector<int>{0});
  EXPECT_EQ(bits(parsed("0,*/20,7 * * * *").minutes), (std::vector<int>{0, 7, 20, 40}));
}

TEST(CronParse, NamesAreCaseInsensitive) {
  const CronSchedule s = parsed("0 9 * JAN,jul,Dec mon-FRI");
  EXPECT_EQ(bits(s.months), (std::vector<int>{1, 7, 12}));
  EXPECT_EQ(bits(s.days_of_week), range(1, 5));
  EXPECT_EQ(bits(parsed("0 0 1 feb-apr *").months), (std::vector<int>{2, 3, 4}));
  EXPECT_EQ(bits(parsed("0 0 * * Sun,sat").days_of_week), (std::vector<int>{0, 6}));
  EXPECT_EQ(bits(parsed("0 0 * * tue-thu/2").days_of_week), (std::vector<int>{2, 4}));
  EXPECT_EQ(bits(parsed("0 0 1 2-mar *").months), (std::vector<int>{2, 3}));
}

TEST(CronParse, SundayIsZeroAndSeven) {
  const auto sunday = std::vector<int>{0};
  EXPECT_EQ(bits(parsed("0 0 * * 0").days_of_week), sunday);
  EXPECT_EQ(bits(parsed("0 0 * * 7").days_of_week), sunday);
  EXPECT_EQ(bits(parsed("0 0 * * sun").days_of_week), sunday);
  EXPECT_EQ(bits(parsed("0 0 * * 0-7").days_of_week), range(0, 6));
  EXPECT_EQ(bits(parsed("0 0 * * 1-7").days_of_week), range(0, 6));
  // A range ending in Sunday ends at 7.
  EXPECT_EQ(bits(parsed("0 0 * * 5-7").days_of_week), (std::vector<int>{0, 5, 6}));
  EXPECT_EQ(bits(parsed("0 0 * * fri-sun").days_of_week), (std::vector<int>{0, 5, 6}));
  EXPECT_EQ(bits(parsed("0 0 * * sat-0").days_of_week), (std::vector<int>{0, 6}));
}

TEST(CronParse, DayFieldsWrittenWithStarAreUnrestricted) {
  const CronSchedule stepped = parsed("0 0 */2 * */3");
  EXPECT_TRUE(stepped.day_of_month_star);
  EXPECT_TRUE(stepped.day_of_week_star);
  EXPECT_EQ(bits(stepped.days_of_month), range(1, 31, 2));
  EXPECT_EQ(bits(stepped.days_of_week), (std::vector<int>{0, 3, 6}));
  // The same days spelled without a star are a restriction.
  const CronSchedule spelled = parsed("0 0 1-31 * 0-6");
  EXPECT_FALSE(spelled.day_of_month_star);
  EXPECT_FALSE(spelled.day_of_week_star);
  EXPECT_EQ(bits(spelled.days_of_month), range(1, 31));
  EXPECT_FALSE(parsed("0 0 *,1 * *").day_of_month_star);
}

TEST(CronParse, MacrosEqualTheirExpansions) {
  EXPECT_EQ(parsed("@yearly"), parsed("0 0 1 1 *"));
  EXPECT_EQ(parsed("@annually"), parsed("0 0 1 1 *"));
  EXPECT_EQ(parsed("@monthly"), parsed("0 0 1 * *"));
  EXPECT_EQ(parsed("@weekly"), parsed("0 0 * * 0"));
  EXPECT_EQ(parsed("@daily"), parsed("0 0 * * *"));
  EXPECT_EQ(parsed("@midnight"), parsed("0 0 * * *"));
  EXPECT_EQ(parsed("@hourly"), parsed("0 * * * *"));
  EXPECT_EQ(parsed("  @Daily\t"), parsed("0 0 * * *"));
  EXPECT_NE(parsed("@daily"), parsed("@hourly"));
  EXPECT_EQ(parsed("@weekly", "Europe/Lisbon").time_zone, "Europe/Lisbon");
}

TEST(CronParse, BlanksAndZone) {
  EXPECT_EQ(parsed("  */5\t*  * *\t* "), parsed("*/5 * * * *"));
  const CronSchedule s = parsed("0 9 * * *", "America/Sao_Paulo");
  EXPECT_EQ(s.time_zone, "America/Sao_Paulo");
  EXPECT_NE(s, parsed("0 9 * * *"));
}

// --- parsing: every error -------------------------------------------------------------------

TEST(CronParse, ErrorsNameTheFieldAndTheText) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"60 * * * *", "minute: 60 is out of range 0-59"},
      {"* 24 * * *", "hour: 24 is out of range 0-23"},
      {"* * 0 * *", "day of month: 0 is out of range 1-31"},
      {"* * 32 * *", "day of month: 32 is out of range 1-31"},
      {"* * * 0 *", "month: 0 is out of range 1-12"},
      {"* * * 13 *", "month: 13 is out of range 1-12"},
      {"* * * * 8", "day of week: 8 is out of range 0-7"},
      {"5-60 * * * *", "minute: 60 is out of range 0-59"},
      {"99999999999 * * * *", "minute: 99999999999 is out of range 0-59"},
      {"x * * * *", "minute: 'x' is not a number"},
      {"5x * * * *", "minute: '5x' is not a number"},
      {"* mon * * *", "hour: 'mon' is not a number"},
      {"* * first * *", "day of month: 'first' is not a number"},
      {"* * * foo *", "month: 'foo' is not a month (1-12 or jan-dec)"},
      {"* * * jan-foo *", "month: 'foo' is not a month (1-12 or jan-dec)"},
      {"* * * * funday", "day of week: 'funday' is not a day of the week (0-7 or sun-sat)"},
      {"* * * * monday", "day of week: 'monday' is not a day of the week (0-7 or sun-sat)"},
      {"*/0 * * * *", "minute: step 0 in '*/0' is out of range 1-60"},
      {"* */25 * * *", "hour: step 25 in '*/25' is out of range 1-24"},
      {"* * * */13 *", "month: step 13 in '*/13' is out of range 1-12"},
      {"* * * * */8", "day of week: step 8 in '*/8' is out of range 1-7"},
      {"*/x * * * *", "minute: step 'x' in '*/x' is not a number"},
      {"*/ * * * *", "minute: step '' in '*/' is not a number"},
      {"*/-5 * * * *", "minute: step '-5' in '*/-5' is not a number"},
      {"1/2/3 * * * *", "minute: '1/2/3' has more than one step"},
      {"/5 * * * *", "minute: '/5' is missing a value before its step"},
      {"1,,2 * * * *", "minute: empty item in '1,,2'"},
      {"* 1, * * *", "hour: empty item in '1,'"},
      {"* * ,1 * *", "day of month: empty item in ',1'"},
      {"* * 5-1 * *", "day of month: '5-1' runs backwards (5-1)"},
      {"* * * dec-jan *", "month: 'dec-jan' runs backwards (12-1)"},
      {"* * * * fri-mon", "day of week: 'fri-mon' runs backwards (5-1)"},
      {"1-2-3 * * * *", "minute: '1-2-3' is not a range (a-b)"},
      {"1- * * * *", "minute: '1-' is not a range (a-b)"},
      {"-1 * * * *", "minute: '-1' is not a range (a-b)"},
      {"*-5 * * * *", "minute: '*-5' is not a range: * stands alone"},
      {"* * * *",
       "expected 5 fields (minute hour day-of-month month day-of-week), got 4 in "
       "'* * * *'"},
      {"* * * * * *",
       "expected 5 fields (minute hour day-of-month month day-of-week), got 6 "
       "in '* * * * * *'"},
      {"", "empty cron expression"},
      {" \t ", "empty cron expression"},
      {"@reboot",
       "unknown macro '@reboot' (expected @yearly, @annually, @monthly, @weekly, "
       "@daily, @midnight or @hourly)"},
      {"@daily 5",
       "unknown macro '@daily 5' (expected @yearly, @annually, @monthly, @weekly, "
       "@daily, @midnight or @hourly)"},
  };
  for (const auto& [expression, error] : cases)
    EXPECT_EQ(parse_error(expression), error) << expression;
}

TEST(CronParse, UnknownZoneIsNamed) {
  EXPECT_EQ(parse_error("* * * * *", "Mars/Olympus_Mons"),
            "time zone: 'Mars/Olympus_Mons' is not in the time zone database");
  EXPECT_EQ(parse_error("* * * * *", ""), "time zone: '' is not in the time zone database");
  // A field error is reported before the zone is looked at.
  EXPECT_EQ(parse_error("* 24 * * *", "Mars/Olympus_Mons"), "hour: 24 is out of range 0-23");
}

// --- canonical form ---------------------------------------------------------------------------

TEST(CronFormat, CanonicalForm) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"*/5 * * * *", "*/5 * * * *"},
      {"0 9 * * mon-fri", "0 9 * * 1-5"},
      {"30 8 1,15 * *", "30 8 1,15 * *"},
      {"0-59 0-23 1-31 1-12 0-6", "* * 1-31 * 0-6"},
      {"0,15,30,45 */6 */2 jan-mar 7", "*/15 */6 */2 1-3 0"},
      {"5/15 * * * *", "5-50/15 * * * *"},
      {"*/30 * * * *", "0,30 * * * *"},
      {"1,3,5 * * * mon,wed,fri", "1,3,5 * * * 1,3,5"},
      {"0 0 */31 * *", "0 0 */31 * *"},
      {"0 0 * * */7", "0 0 * * */7"},
      {"0 0 * * fri-sun", "0 0 * * 0,5,6"},
      {"0,1,2,10,11 * * * *", "0-2,10,11 * * * *"},
      {"@weekly", "0 0 * * 0"},
      {"@yearly", "0 0 1 1 *"},
      {"@hourly", "0 * * * *"},
  };
  for (const auto& [expression, canonical] : cases)
    EXPECT_EQ(to_string(parsed(expression)), canonical) << expression;
}

TEST(CronFormat, CanonicalFormParsesBackToTheSameSchedule) {
  for (const char* expression :
       {"*/5 * * * *", "0 9 * * mon-fri", "30 8 1,15 * *", "0-59 0-23 1-31 1-12 0-6",
        "0,15,30,45 */6 */2 jan-mar 7", "5/15 3/8 */16 */5 */4", "0 0 */31 * *", "0 0 * * */7",
        "1,2,3,7,8,40-50/5 1,2 2,3,4 5 6", "0,*/20,7 * * * *", "@weekly", "0 0 */2 * mon",
        "0 0 1-31 * 0-6", "*/59 */23 */30 */11 */6"}) {
    const CronSchedule s = parsed(expression, "Europe/Lisbon");
    EXPECT_EQ(parsed(to_string(s), s.time_zone), s) << expression << " -> " << to_string(s);
  }
}

// --- next fire time in UTC --------------------------------------------------------------------

TEST(CronNextFire, EveryFiveMinutesIsStrictlyAfter) {
  const CronSchedule s = parsed("*/5 * * * *");
  EXPECT_EQ(next_fire(s, utc(2026, 1, 5, 10, 2, 30)), utc(2026, 1, 5, 10, 5));
  EXPECT_EQ(next_fire(s, utc(2026, 1, 5, 10, 5)), utc(2026, 1, 5, 10, 10));
  EXPECT_EQ(next_fire(s, utc(2026, 1, 5, 10, 5) - 1us), utc(2026, 1, 5, 10, 5));
  EXPECT_EQ(next_fire(s, utc(2026, 1, 5, 10, 5) + 1us), utc(2026, 1, 5, 10, 10));
  EXPECT_EQ(next_fire(s, utc(2026, 1, 5, 23, 57)), utc(2026, 1, 6, 0, 0));
  EXPECT_EQ(next_fire(s, utc(2026, 12, 31, 23, 55, 1)), utc(2027, 1, 1, 0, 0));
}

TEST(CronNextFire, EveryMinuteHasNoSecondsOrMicroseconds) {
  const CronSchedule s = parsed("* * * * *");
  const Timestamp after = utc(2026, 3, 1, 12, 0, 59) + 999999us;
  const auto next = next_fire(s, after);
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, utc(2026, 3, 1, 12, 1));
  EXPECT_EQ(next->time_since_epoch() % minutes{1}, Duration::zero());
}

TEST(CronNextFire, WeekdayMornings) {
  const CronSchedule s = parsed("0 9 * * mon-fri");
  // 2026-01-09 is a Friday.
  EXPECT_EQ(fires(s, utc(2026, 1, 9, 8, 59, 59), 3),
            (std::vector<std::string>{"2026-01-09 09:00:00 UTC", "2026-01-12 09:00:00 UTC",
                                      "2026-01-13 09:00:00 UTC"}));
}

TEST(CronNextFire, DaysOfMonth) {
  EXPECT_EQ(fires(parsed("30 8 1,15 * *"), utc(2026, 1, 15, 8, 30), 3),
            (std::vector<std::string>{"2026-02-01 08:30:00 UTC", "2026-02-15 08:30:00 UTC",
                                      "2026-03-01 08:30:00 UTC"}));
}

TEST(CronNextFire, MonthEndsSkipShortMonths) {
  EXPECT_EQ(fires(parsed("0 12 31 * *"), utc(2026, 1, 31, 12, 0), 6),
            (std::vector<std::string>{"2026-03-31 12:00:00 UTC", "2026-05-31 12:00:00 UTC",
                                      "2026-07-31 12:00:00 UTC", "2026-08-31 12:00:00 UTC",
                                      "2026-10-31 12:00:00 UTC", "2026-12-31 12:00:00 UTC"}));
  EXPECT_EQ(fires(parsed("0 0 30 * *"), utc(2026, 1, 30, 0, 0), 2),
            (std::vector<std::string>{"2026-03-30 00:00:00 UTC", "2026-04-30 00:00:00 UTC"}));
  EXPECT_EQ(next_fire(parsed("59 23 31 12 *"), utc(2026, 12, 31, 23, 59)),
            utc(2027, 12, 31, 23, 59));
}

TEST(CronNextFire, LeapDays) {
  const CronSchedule s = parsed("0 0 29 2 *");
  EXPECT_EQ(fires(s, utc(2026, 1, 1, 0, 0), 3),
            (std::vector<std::string>{"2028-02-29 00:00:00 UTC", "2032-02-29 00:00:00 UTC",
                                      "2036-02-29 00:00:00 UTC"}));
  // 2100 is not a leap year: eight years from one Feb 29 to the next.
  EXPECT_EQ(next_fire(s, utc(2096, 2, 29, 0, 0)), utc(2104, 2, 29, 0, 0));
  // The last day of February, in leap and common years.
  EXPECT_EQ(fires(parsed("0 0 28,29 2 *"), utc(2027, 3, 1, 0, 0), 3),
            (std::vector<std::string>{"2028-02-28 00:00:00 UTC", "2028-02-29 00:00:00 UTC",
                                      "2029-02-28 00:00:00 UTC"}));
}

TEST(CronNextFire, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  // Friday the 13th means "the 13th, and every Friday". 2026-01-13 is a Tuesday.
  EXPECT_EQ(fires(parsed("0 0 13 * fri"), utc(2026, 1, 1, 0, 0), 5),
            (std::vector<std::string>{"2026-01-02 00:00:00 UTC", "2026-01-09 00:00:00 UTC",
                                      "2026-01-13 00:00:00 UTC", "2026-01-16 00:00:00 UTC",
                                      "2026-01-23 00:00:00 UTC"}));
  // The 30th of February never comes, but Mondays in February do.
  EXPECT_EQ(fires(parsed("0 0 30 2 mon"), utc(2026, 1, 1, 0, 0), 2),
            (std::vector<std::string>{"2026-02-02 00:00:00 UTC", "2026-02-09 00:00:00 UTC"}));
}

TEST(CronNextFire, DayFieldWithStarMeansBothMustMatch) {
  // */2 is unrestricted: Mondays that fall on odd days. Mondays: Jan 5, 12, 19, 26, Feb 2, 9.
  EXPECT_EQ(fires(parsed("0 0 */2 * mon"), utc(2026, 1, 1, 0, 0), 3),
            (std::vector<std::string>{"2026-01-05 00:00:00 UTC", "2026-01-19 00:00:00 UTC",
                                      "2026-02-09 00:00:00 UTC"}));
  // Only the day of month restricted: the day of week does not widen it.
  EXPECT_EQ(fires(parsed("0 0 13 * *"), utc(2026, 1, 1, 0, 0), 2),
            (std::vector<std::string>{"2026-01-13 00:00:00 UTC", "2026-02-13 00:00:00 UTC"}));
  EXPECT_EQ(fires(parsed("0 0 * * fri"), utc(2026, 1, 1, 0, 0), 2),
            (std::vector<std::string>{"2026-01-02 00:00:00 UTC", "2026-01-09 00:00:00 UTC"}));
}

TEST(CronNextFire, Macros) {
  // @weekly: Sunday midnight. 2026-01-07 is a Wednesday.
  EXPECT_EQ(fires(parsed("@weekly"), utc(2026, 1, 7, 15, 0), 3),
            (std::vector<std::string>{"2026-01-11 00:00:00 UTC", "2026-01-18 00:00:00 UTC",
                                      "2026-01-25 00:00:00 UTC"}));
  EXPECT_EQ(next_fire(parsed("@weekly"), utc(2026, 1, 10, 23, 59, 59)), utc(2026, 1, 11, 0, 0));
  EXPECT_EQ(next_fire(parsed("@yearly"), utc(2026, 6, 1, 0, 0)), utc(2027, 1, 1, 0, 0));
  EXPECT_EQ(next_fire(parsed("@yearly"), utc(2026, 1, 1, 0, 0)), utc(2027, 1, 1, 0, 0));
  EXPECT_EQ(next_fire(parsed("@monthly"), utc(2026, 1, 31, 23, 59)), utc(2026, 2, 1, 0, 0));
  EXPECT_EQ(next_fire(parsed("@daily"), utc(2026, 2, 28, 0, 0)), utc(2026, 3, 1, 0, 0));
  EXPECT_EQ(next_fire(parsed("@hourly"), utc(2026, 2, 28, 23, 0)), utc(2026, 3, 1, 0, 0));
}

TEST(CronNextFire, ImpossibleDatesNeverFire) {
  for (const char* expression :
       {"0 0 30 2 *", "0 0 31 2 *", "0 0 31 4,6,9,11 *", "0 0 30 feb */1", "* * 31 2 */7"})
    EXPECT_EQ(next_fire(parsed(expression), utc(2026, 1, 1, 0, 0)), std::nullopt) << expression;
  EXPECT_EQ(next_fire(parsed("0 0 30 2 *", "America/New_York"), utc(2026, 1, 1, 0, 0)),
            std::nullopt);
}

TEST(CronNextFire, InstantsOutsideTheCalendarNeverFire) {
  const CronSchedule s = parsed("* * * * *");
  EXPECT_EQ(next_fire(s, Timestamp::min()), std::nullopt);
  EXPECT_EQ(next_fire(s, Timestamp::max()), std::nullopt);
}

TEST(CronNextFire, UnknownZoneThrows) {
  CronSchedule s = parsed("* * * * *");
  s.time_zone = "Mars/Olympus_Mons";
  EXPECT_THROW(next_fire(s, utc(2026, 1, 1, 0, 0)), std::runtime_error);
}

// --- time zones -------------------------------------------------------------------------------

TEST(CronTimeZone, SaoPauloHasNoDaylightSaving) {
  // UTC-3 all year since 2019, including the months it used to save daylight.
  const CronSchedule s = parsed("0 9 * * mon-fri", "America/Sao_Paulo");
  EXPECT_EQ(fires(s, utc(2026, 1, 9, 12, 0), 2),
            (std::vector<std::string>{"2026-01-12 12:00:00 UTC", "2026-01-13 12:00:00 UTC"}));
  EXPECT_EQ(next_fire(s, utc(2026, 11, 2, 0, 0)), utc(2026, 11, 2, 12, 0));
  // Midnight in São Paulo is 03:00 UTC: the local day, not the UTC day, is matched.
  const CronSchedule sundays = parsed("0 0 * * sun", "America/Sao_Paulo");
  EXPECT_EQ(next_fire(sundays, utc(2026, 10, 31, 12, 0)), utc(2026, 11, 1, 3, 0));
  EXPECT_EQ(next_fire(parsed("*/5 * * * *", "America/Sao_Paulo"), utc(2026, 11, 1, 2, 58)),
            utc(2026, 11, 1, 3, 0));
}

TEST(CronTimeZone, NewYorkSpringForward) {
  // 2026-03-08: 02:00 EST (07:00 UTC) becomes 03:00 EDT; 02:00-02:59 never happens.
  // A fixed-hour time in the gap fires when the gap ends, then as usual the next day.
  EXPECT_EQ(fires(parsed("30 2 * * *", "America/New_York"), utc(2026, 3, 7, 12, 0), 3),
            (std::vector<std::string>{"2026-03-08 07:00:00 UTC", "2026-03-09 06:30:00 UTC",
                                      "2026-03-10 06:30:00 UTC"}));
  // Several fixed times in the gap fire once, together.
  EXPECT_EQ(fires(parsed("0,20,40 2 * * *", "America/New_York"), utc(2026, 3, 8, 6, 0), 2),
            (std::vector<std::string>{"2026-03-08 07:00:00 UTC", "2026-03-09 06:00:00 UTC"}));
  // Hourly and more: the skipped wall times do not happen.
  EXPECT_EQ(fires(parsed("30 * * * *", "America/New_York"), utc(2026, 3, 8, 6, 0), 3),
            (std::vector<std::string>{"2026-03-08 06:30:00 UTC", "2026-03-08 07:30:00 UTC",
                                      "2026-03-08 08:30:00 UTC"}));
  EXPECT_EQ(fires(parsed("*/30 * * * *", "America/New_York"), utc(2026, 3, 8, 6, 0), 3),
            (std::vector<std::string>{"2026-03-08 06:30:00 UTC", "2026-03-08 07:00:00 UTC",
                                      "2026-03-08 07:30:00 UTC"}));
}

TEST(CronTimeZone, NewYorkFallBack) {
  // 2026-11-01: 02:00 EDT (06:00 UTC) becomes 01:00 EST; 01:00-01:59 happens twice.
  // A fixed-hour time fires at its first occurrence only.
  EXPECT_EQ(fires(parsed("30 1 * * *", "America/New_York"), utc(2026, 11, 1, 4, 0), 2),
            (std::vector<std::string>{"2026-11-01 05:30:00 UTC", "2026-11-02 06:30:00 UTC"}));
  EXPECT_EQ(next_fire(parsed("0 1 * * *", "America/New_York"), utc(2026, 11, 1, 5, 0)),
            utc(2026, 11, 2, 6, 0));
  // From inside the second occurrence the night's run is already done.
  EXPECT_EQ(next_fire(parsed("45 1 * * *", "America/New_York"), utc(2026, 11, 1, 6, 10)),
            utc(2026, 11, 2, 6, 45));
  // Hourly and more: both occurrences, so real time between fires stays even.
  EXPECT_EQ(fires(parsed("*/30 * * * *", "America/New_York"), utc(2026, 11, 1, 4, 50), 5),
            (std::vector<std::string>{"2026-11-01 05:00:00 UTC", "2026-11-01 05:30:00 UTC",
                                      "2026-11-01 06:00:00 UTC", "2026-11-01 06:30:00 UTC",
                                      "2026-11-01 07:00:00 UTC"}));
}

TEST(CronTimeZone, LisbonBothChanges) {
  // 2026-03-29: 01:00 WET (01:00 UTC) becomes 02:00 WEST.
  EXPECT_EQ(fires(parsed("30 1 * * *", "Europe/Lisbon"), utc(2026, 3, 29, 0, 0), 2),
            (std::vector<std::string>{"2026-03-29 01:00:00 UTC", "2026-03-30 00:30:00 UTC"}));
  EXPECT_EQ(fires(parsed("30 * * * *", "Europe/Lisbon"), utc(2026, 3, 29, 0, 0), 2),
            (std::vector<std::string>{"2026-03-29 00:30:00 UTC", "2026-03-29 01:30:00 UTC"}));
  // 2026-10-25: 02:00 WEST (01:00 UTC) becomes 01:00 WET.
  EXPECT_EQ(fires(parsed("30 1 * * *", "Europe/Lisbon"), utc(2026, 10, 24, 23, 0), 2),
            (std::vector<std::string>{"2026-10-25 00:30:00 UTC", "2026-10-26 01:30:00 UTC"}));
  EXPECT_EQ(fires(parsed("0 * * * *", "Europe/Lisbon"), utc(2026, 10, 24, 23, 30), 3),
            (std::vector<std::string>{"2026-10-25 00:00:00 UTC", "2026-10-25 01:00:00 UTC",
                                      "2026-10-25 02:00:00 UTC"}));
}

// --- brute force: every minute, read through date/tz directly ---------------------------------

// Whether the fields match a wall-clock minute, written out again from the header's rules.
bool matches_wall_time(const CronSchedule& s, date::local_time<minutes> wall) {
  const auto day = date::floor<date::days>(wall);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<minutes> time{wall - day};
  if (!s.minutes.test(static_cast<std::size_t>(time.minutes().count()))) return false;
  if (!s.hours.test(static_cast<std::size_t>(time.hours().count()))) return false;
  if (!s.months.test(static_cast<unsigned>(ymd.month()))) return false;
  const bool dom = s.days_of_month.test(static_cast<unsigned>(ymd.day()));
  const bool dow = s.days_of_week.test(date::weekday{day}.c_encoding());
  const bool restricted_both = !s.day_of_month_star && !s.day_of_week_star;
  return restricted_both ? (dom || dow) : (dom && dow);
}

// Every UTC minute in [from, until) at which the schedule fires, by the header's rule:
// schedules that fire in every hour fire at each instant whose wall time matches; the others
// skip a second occurrence of a repeated wall time, and fire at the end of a gap when a wall
// time inside it matches.
std::vector<Timestamp> brute_force_fires(const CronSchedule& s, Timestamp from, Timestamp until) {
  const date::time_zone* zone = date::locate_zone(s.time_zone);
  const bool fixed_hours = !s.hours.all();
  std::vector<Timestamp> out;
  for (auto t = date::floor<minutes>(from); t < until; t += minutes{1}) {
    const auto wall = date::floor<minutes>(zone->to_local(t));
    bool fire = matches_wall_time(s, wall);
    if (fire && fixed_hours) {
      const date::local_info info = zone->get_info(wall);
      if (info.result == date::local_info::ambiguous &&
          zone->get_info(t).offset == info.second.offset)
        fire = false;
    }
    if (!fire && fixed_hours) {
      const auto offset_before = zone->get_info(t - minutes{1}).offset;
      const auto offset_now = zone->get_info(t).offset;
      for (auto skipped =
               date::floor<minutes>(date::local_seconds{(t + offset_before).time_since_epoch()});
           offset_now > offset_before && skipped < wall && !fire; skipped += minutes{1})
        fire = matches_wall_time(s, skipped);
    }
    if (fire) out.push_back(t);
  }
  return out;
}

struct ZoneChange {
  const char* zone;
  Timestamp around;  // the instant the offset changes
};

// Compares next_fire with the brute-force list from two days before each change to two days
// after, starting at every 7th minute, at every fire time, and a microsecond before each.
void expect_matches_brute_force(const std::vector<const char*>& expressions,
                                const std::vector<ZoneChange>& changes) {
  for (const ZoneChange& change : changes) {
    const date::time_zone* zone = date::locate_zone(change.zone);
    // Guard: the window really holds a change, so the comparison is not vacuous.
    ASSERT_NE(zone->get_info(change.around - 1s).offset, zone->get_info(change.around).offset)
        << change.zone << " " << show(change.around);
    const Timestamp from = change.around - 48h, until = change.around + 48h;
    for (const char* expression : expressions) {
      const CronSchedule s = parsed(expression, change.zone);
      const std::vector<Timestamp> expected = brute_force_fires(s, from, until);
      std::vector<Timestamp> afters;
      for (Timestamp t = from; t < until; t += 7min) afters.push_back(t + 30s);
      for (Timestamp t : expected) {
        afters.push_back(t);
        afters.push_back(t - 1us);
      }
      int mismatches = 0;
      for (Timestamp after : afters) {
        const auto it = std::upper_bound(expected.begin(), expected.end(), after);
        const auto actual = next_fire(s, after);
        const bool ok = it != expected.end() ? actual == *it : (!actual || *actual >= until);
        if (!ok && ++mismatches <= 3)
          ADD_FAILURE() << change.zone << " '" << expression << "' after " << show(after)
                        << ": next_fire " << show(actual) << ", brute force "
                        << (it != expected.end() ? show(*it) : "none in window");
      }
    }
  }
}

const std::vector<const char*> kDstExpressions = {
    "* * * * *",         "*/5 * * * *",      "*/7 * * * *",     "0 * * * *",  "30 * * * *",
    "15,45 * * * *",     "0 0 * * *",        "30 2 * * *",      "30 1 * * *", "0,30 1-3 * * *",
    "*/10 0-2,23 * * *", "* 2 * * *",        "59 1 * * *",      "0 3 * * *",  "15 * * * sun",
    "45 23 * * sat",     "0 */2 * * *",      "0 0 * * sun",     "0 2 8 3 *",  "0 1 1 11 *",
    "*/15 1 * * 0",      "0 12 * * mon-fri", "30 0 1,25 * sun", "0 0 * * *"};

TEST(CronBruteForce, NewYorkAcrossBoth2026Changes) {
  expect_matches_brute_force(kDstExpressions, {{"America/New_York", utc(2026, 3, 8, 7, 0)},
                                               {"America/New_York", utc(2026, 11, 1, 6, 0)}});
}

TEST(CronBruteForce, LisbonAcrossBoth2026Changes) {
  expect_matches_brute_force(kDstExpressions, {{"Europe/Lisbon", utc(2026, 3, 29, 1, 0)},
                                               {"Europe/Lisbon", utc(2026, 10, 25, 1, 0)}});
}

TEST(CronBruteForce, MidnightAndHalfHourChanges) {
  // Santiago changes at midnight (the local day itself is cut or repeated); Lord Howe Island
  // moves its clocks by half an hour.
  expect_matches_brute_force(kDstExpressions, {{"America/Santiago", utc(2026, 4, 5, 3, 0)},
                                               {"America/Santiago", utc(2026, 9, 6, 4, 0)},
                                               {"Australia/Lord_Howe", utc(2026, 4, 4, 15, 0)},
                                               {"Australia/Lord_Howe", utc(2026, 10, 3, 15, 30)}});
}

TEST(CronBruteForce, UtcOverSeveralMonths) {
  // No changes here: exercises the skipping by month, day and hour against plain counting.
  const std::vector<const char*> expressions = {
      "*/13 * * * *",           "7 */5 * * *",   "0 0 13 * fri",      "0 0 */2 * mon",
      "59 23 31 * *",           "0 12 29 2,3 *", "15 8-10 1-7 * mon", "0 0 1 jan,apr *",
      "*/20 22-23 * * sat,sun", "5 4 * 3 *"};
  for (const char* expression : expressions) {
    const CronSchedule s = parsed(expression);
    const Timestamp from = utc(2027, 12, 20, 0, 0), until = utc(2028, 4, 10, 0, 0);
    const std::vector<Timestamp> expected = brute_force_fires(s, from, until);
    ASSERT_FALSE(expected.empty()) << expression;
    int mismatches = 0;
    for (Timestamp after = from; after < until; after += 61min) {
      const auto it = std::upper_bound(expected.begin(), expected.end(), after);
      const auto actual = next_fire(s, after);
      const bool ok = it != expected.end() ? actual == *it : (!actual || *actual >= until);
      if (!ok && ++mismatches <= 3)
        ADD_FAILURE() << expression << " after " << show(after) << ": " << show(actual);
    }
    // Chained from just before the window, the fires come one by one, none skipped.
    Timestamp chained = from - 1us;
    for (Timestamp t : expected) {
      const auto next = next_fire(s, chained);
      ASSERT_EQ(show(next), show(t)) << expression << " after " << show(chained);
      chained = *next;
    }
  }
}

}  // namespace
}  // namespace recado
