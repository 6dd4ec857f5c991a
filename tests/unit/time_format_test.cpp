// RFC 3339 timestamps to and from Timestamp, and wall-clock time in a time zone.
#include "src/time_format.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

namespace recado {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;

// Seconds since the epoch from `date -u -d <time> +%s`, as microseconds.
constexpr int64_t kNov25 = 1'795'600'800LL * 1'000'000;    // 2026-11-25T10:00:00Z
constexpr int64_t kLeapDay = 1'709'208'000LL * 1'000'000;  // 2024-02-29T12:00:00Z

// parse_rfc3339 as microseconds since the epoch, so failures print numbers.
std::optional<int64_t> parse_us(std::string_view text) {
  const auto t = parse_rfc3339(text);
  if (!t) return std::nullopt;
  return epoch_micros(*t);
}

// Why `text` should not have parsed: what it parsed as.
std::string parsed_as(std::string_view text) {
  const auto t = parse_rfc3339(text);
  return t ? std::string(text) + " parsed as " + format_rfc3339(*t) : std::string();
}

TEST(ParseRfc3339, Utc) {
  EXPECT_EQ(parse_us("2026-11-25T10:00:00Z"), kNov25);
  EXPECT_EQ(parse_us("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_us("2024-02-29T12:00:00Z"), kLeapDay);
  // Lower-case letters and a space for the T, as RFC 3339 allows.
  EXPECT_EQ(parse_us("2026-11-25t10:00:00z"), kNov25);
  EXPECT_EQ(parse_us("2026-11-25 10:00:00Z"), kNov25);
}

TEST(ParseRfc3339, OffsetsAreConvertedToUtc) {
  EXPECT_EQ(parse_us("2026-11-25T07:00:00-03:00"), kNov25);
  EXPECT_EQ(parse_us("2026-11-25T15:30:00+05:30"), kNov25);
  EXPECT_EQ(parse_us("2026-11-25T10:00:00+00:00"), kNov25);
  EXPECT_EQ(parse_us("2026-11-25T10:00:00-00:00"), kNov25);
  // An offset that crosses midnight moves the date.
  EXPECT_EQ(parse_us("2026-11-24T23:00:00-11:00"), kNov25);
}

TEST(ParseRfc3339, FractionalSeconds) {
  EXPECT_EQ(parse_us("2026-11-25T10:00:00.250Z"), kNov25 + 250'000);
  EXPECT_EQ(parse_us("2026-11-25T10:00:00.5Z"), kNov25 + 500'000);
  EXPECT_EQ(parse_us("2026-11-25T10:00:00.000001Z"), kNov25 + 1);
  EXPECT_EQ(parse_us("2026-11-25T07:00:00.250-03:00"), kNov25 + 250'000);
  // Digits past microseconds are dropped.
  EXPECT_EQ(parse_us("2026-11-25T10:00:00.123456789Z"), kNov25 + 123'456);
}

TEST(ParseRfc3339, RejectsMalformedText) {
  for (const char* text : {
           "",
           "2026-11-25",                // no time
           "2026-11-25T10:00:00",       // no offset
           "2026-11-25T10:00Z",         // no seconds
           "2026-11-25T10:00:00.Z",     // dot without digits
           "2026-11-25T10:00:00+0300",  // offset without colon
           "2026-11-25T10:00:00+03",    // offset without minutes
           "2026-11-25T10:00:00ZZ",     // trailing text
           "2026-11-25T10:00:00Z ",     // trailing space
           "2026/11/25T10:00:00Z",      // wrong date separator
           "2026-11-25X10:00:00Z",      // wrong date-time separator
           "26-11-25T10:00:00Z",        // two-digit year
           "2026-1-25T10:00:00Z",       // one-digit month
           "2026-11-25T10:00:00.25 Z",  // space before the offset
           "next tuesday",
       }) {
    EXPECT_EQ(parse_us(text), std::nullopt) << parsed_as(text);
  }
}

TEST(ParseRfc3339, RejectsOutOfRangeFields) {
  for (const char* text : {
           "2026-00-25T10:00:00Z",
           "2026-13-25T10:00:00Z",
           "2026-11-00T10:00:00Z",
           "2026-11-32T10:00:00Z",
           "2026-11-25T24:00:00Z",
           "2026-11-25T10:60:00Z",
           "2026-11-25T10:00:61Z",
       }) {
    EXPECT_EQ(parse_us(text), std::nullopt) << parsed_as(text);
  }
}

TEST(ParseRfc3339, RejectsDaysTheMonthDoesNotHave) {
  // These pass the 1..31 day check, but the month has no such day (2026 is not a leap
  // year). The time must be refused, not rolled over into the next month.
  for (const char* text : {"2026-02-29T12:00:00Z", "2026-02-30T10:00:00Z", "2026-02-31T10:00:00Z",
                           "2026-04-31T10:00:00Z", "2026-06-31T10:00:00Z"}) {
    EXPECT_EQ(parse_us(text), std::nullopt) << parsed_as(text);
  }
}

TEST(ParseRfc3339, RejectsOffsetsOutOfRange) {
  // RFC 3339 time-numoffset: hour 00-23, minute 00-59.
  for (const char* text :
       {"2026-11-25T10:00:00+24:00", "2026-11-25T10:00:00+03:60", "2026-11-25T10:00:00-99:99"}) {
    EXPECT_EQ(parse_us(text), std::nullopt) << parsed_as(text);
  }
}

TEST(ParseRfc3339, FarFutureTimesAreRejectedOrExact) {
  // "9999-12-31T23:59:59Z" is a common "never" sentinel. Whatever parse_rfc3339 does with
  // a time it cannot represent, it must not hand back a different (earlier) time.
  for (const char* text : {"2300-01-01T00:00:00.000Z", "9999-12-31T23:59:59.000Z"}) {
    if (const auto t = parse_rfc3339(text)) {
      EXPECT_EQ(format_rfc3339(*t), text);
    }
  }
}

TEST(FormatRfc3339, UtcWithMilliseconds) {
  EXPECT_EQ(format_rfc3339(from_epoch_micros(kNov25)), "2026-11-25T10:00:00.000Z");
  EXPECT_EQ(format_rfc3339(from_epoch_micros(kNov25 + 250'000)), "2026-11-25T10:00:00.250Z");
  EXPECT_EQ(format_rfc3339(from_epoch_micros(0)), "1970-01-01T00:00:00.000Z");
  // Below milliseconds is cut off, not rounded.
  EXPECT_EQ(format_rfc3339(from_epoch_micros(kNov25 + 999)), "2026-11-25T10:00:00.000Z");
  EXPECT_EQ(format_rfc3339(from_epoch_micros(kNov25 + 1'999)), "2026-11-25T10:00:00.001Z");
}

TEST(FormatRfc3339, BeforeTheEpoch) {
  EXPECT_EQ(format_rfc3339(from_epoch_micros(-1'000)), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339(from_epoch_micros(-1'000'000)), "1969-12-31T23:59:59.000Z");
}

TEST(FormatRfc3339, RoundTripsThroughParse) {
  const Timestamp nov25 = from_epoch_micros(kNov25);
  for (Timestamp t : {nov25, nov25 + milliseconds{1}, nov25 + hours{24 * 400} + minutes{7},
                      from_epoch_micros(kLeapDay + 123'000)}) {
    EXPECT_EQ(parse_us(format_rfc3339(t)), epoch_micros(t)) << format_rfc3339(t);
  }
}

// --- wall-clock time in a time zone ---------------------------------------------------------

// An instant from RFC 3339 text (tested above), as microseconds since the epoch.
int64_t us_of(const char* rfc3339) {
  const auto t = parse_rfc3339(rfc3339);
  if (!t) ADD_FAILURE() << "not a time: " << rfc3339;
  return t ? epoch_micros(*t) : 0;
}

// parse_local_minute as microseconds since the epoch, so failures print numbers.
std::optional<int64_t> local_minute_us(std::string_view text, const std::string& zone) {
  const auto t = parse_local_minute(text, zone);
  if (!t) return std::nullopt;
  return epoch_micros(*t);
}

std::optional<int64_t> local_date_us(std::string_view text, const std::string& zone) {
  const auto t = parse_local_date(text, zone);
  if (!t) return std::nullopt;
  return epoch_micros(*t);
}

constexpr const char* kSaoPaulo = "America/Sao_Paulo";
constexpr const char* kLisbon = "Europe/Lisbon";

TEST(TimeFormatLocal, FormatsTheMinuteAndTheDateInTheZone) {
  const Timestamp t = from_epoch_micros(us_of("2026-11-27T12:00:00Z"));
  EXPECT_EQ(format_local_minute(t, kSaoPaulo), "2026-11-27T09:00");
  EXPECT_EQ(format_local_date(t, kSaoPaulo), "2026-11-27");
  EXPECT_EQ(format_local_minute(t, "UTC"), "2026-11-27T12:00");
  EXPECT_EQ(format_local_minute(t, kLisbon), "2026-11-27T12:00");  // WET, UTC+0
  const Timestamp summer = from_epoch_micros(us_of("2026-07-01T12:00:00Z"));
  EXPECT_EQ(format_local_minute(summer, kLisbon), "2026-07-01T13:00");  // WEST, UTC+1
  EXPECT_EQ(format_local_minute(summer, kSaoPaulo), "2026-07-01T09:00");  // no DST since 2019
}

TEST(TimeFormatLocal, SecondsAreDroppedNotRounded) {
  const Timestamp t = from_epoch_micros(us_of("2026-11-27T12:00:59.999Z"));
  EXPECT_EQ(format_local_minute(t, kSaoPaulo), "2026-11-27T09:00");
  EXPECT_EQ(format_local_minute(from_epoch_micros(-1), "UTC"), "1969-12-31T23:59");
  EXPECT_EQ(format_local_date(from_epoch_micros(-1), "UTC"), "1969-12-31");
}

TEST(TimeFormatLocal, TheLocalDateIsNotTheUtcDate) {
  // 00:30 UTC on the 1st of December is 21:30 on the 30th of November in São Paulo.
  const Timestamp t = from_epoch_micros(us_of("2026-12-01T00:30:00Z"));
  EXPECT_EQ(format_local_minute(t, kSaoPaulo), "2026-11-30T21:30");
  EXPECT_EQ(format_local_date(t, kSaoPaulo), "2026-11-30");
  EXPECT_EQ(format_local_date(t, "UTC"), "2026-12-01");
  // 23:30 UTC on the 31st of July is the 1st of August in Lisbon's summer.
  EXPECT_EQ(format_local_date(from_epoch_micros(us_of("2026-07-31T23:30:00Z")), kLisbon), "2026-08-01");
}

TEST(TimeFormatLocal, AnUnknownOrEmptyZoneIsUtc) {
  const Timestamp t = from_epoch_micros(us_of("2026-12-01T00:30:00Z"));
  for (const char* zone : {"", "Mars/Olympus", "america/sao_paulo"}) {
    EXPECT_EQ(format_local_minute(t, zone), "2026-12-01T00:30") << zone;
    EXPECT_EQ(format_local_date(t, zone), "2026-12-01") << zone;
    EXPECT_EQ(local_minute_us("2026-12-01T00:30", zone), us_of("2026-12-01T00:30:00Z")) << zone;
    EXPECT_EQ(local_date_us("2026-12-01", zone), us_of("2026-12-01T00:00:00Z")) << zone;
  }
}

TEST(TimeFormatLocal, ParsesTheMinuteInTheZone) {
  EXPECT_EQ(local_minute_us("2026-11-27T09:00", kSaoPaulo), us_of("2026-11-27T12:00:00Z"));
  EXPECT_EQ(local_minute_us("2026-11-27 09:00", kSaoPaulo), us_of("2026-11-27T12:00:00Z"));
  EXPECT_EQ(local_minute_us("2026-11-27T09:00", "UTC"), us_of("2026-11-27T09:00:00Z"));
  EXPECT_EQ(local_minute_us("2026-07-01T13:00", kLisbon), us_of("2026-07-01T12:00:00Z"));
  EXPECT_EQ(local_minute_us("2026-11-27T23:59", kSaoPaulo), us_of("2026-11-28T02:59:00Z"));
  EXPECT_EQ(local_minute_us("2024-02-29T10:00", "UTC"), us_of("2024-02-29T10:00:00Z"));
}

TEST(TimeFormatLocal, ParsesSecondsWhenGiven) {
  EXPECT_EQ(local_minute_us("2026-11-27T09:00:30", kSaoPaulo), us_of("2026-11-27T12:00:30Z"));
  EXPECT_EQ(local_minute_us("2026-11-27 09:00:00", kSaoPaulo), us_of("2026-11-27T12:00:00Z"));
  EXPECT_EQ(local_minute_us("2026-11-27T09:00:59", "UTC"), us_of("2026-11-27T09:00:59Z"));
}

TEST(TimeFormatLocal, ATimeTheZoneSkipsIsNotATime) {
  // Lisbon moves from 01:00 WET to 02:00 WEST on 2026-03-29: 01:00 to 01:59 never happen.
  EXPECT_EQ(local_minute_us("2026-03-29T01:00", kLisbon), std::nullopt);
  EXPECT_EQ(local_minute_us("2026-03-29T01:30", kLisbon), std::nullopt);
  EXPECT_EQ(local_minute_us("2026-03-29T01:59:59", kLisbon), std::nullopt);
  // Either side of the gap.
  EXPECT_EQ(local_minute_us("2026-03-29T00:59", kLisbon), us_of("2026-03-29T00:59:00Z"));
  EXPECT_EQ(local_minute_us("2026-03-29T02:00", kLisbon), us_of("2026-03-29T01:00:00Z"));
  // The same wall-clock time in UTC is fine.
  EXPECT_EQ(local_minute_us("2026-03-29T01:30", "UTC"), us_of("2026-03-29T01:30:00Z"));
}

TEST(TimeFormatLocal, TheRepeatedHourIsItsEarlierInstant) {
  // Lisbon moves from 02:00 WEST back to 01:00 WET on 2026-10-25: 01:00 to 01:59 happen twice.
  EXPECT_EQ(local_minute_us("2026-10-25T01:30", kLisbon), us_of("2026-10-25T00:30:00Z"));
  EXPECT_EQ(local_minute_us("2026-10-25T01:00", kLisbon), us_of("2026-10-25T00:00:00Z"));
  // Either side of it, one instant each.
  EXPECT_EQ(local_minute_us("2026-10-25T00:59", kLisbon), us_of("2026-10-24T23:59:00Z"));
  EXPECT_EQ(local_minute_us("2026-10-25T02:00", kLisbon), us_of("2026-10-25T02:00:00Z"));
  // Both instants format as the same wall-clock minute.
  EXPECT_EQ(format_local_minute(from_epoch_micros(us_of("2026-10-25T00:30:00Z")), kLisbon), "2026-10-25T01:30");
  EXPECT_EQ(format_local_minute(from_epoch_micros(us_of("2026-10-25T01:30:00Z")), kLisbon), "2026-10-25T01:30");
}

TEST(TimeFormatLocal, BadMinuteTextIsNotATime) {
  for (const char* text : {
           "",
           "2026-11-27",              // no time
           "2026-11-27T09",           // no minutes
           "2026-11-27T9:00",         // one-digit hour
           "2026-11-27t09:00",        // lower-case t
           "2026-11-27T09:00Z",       // an offset
           "2026-11-27T09:00-03:00",  // an offset
           "2026-11-27T09:00:5",      // one-digit seconds
           "2026-11-27T09:00:00.5",   // fractions
           "2026-11-27T09:00 ",       // trailing space
           "2026-11-27T09-00",        // wrong time separator
           "2026/11/27T09:00",        // wrong date separator
           "2026-11-2xT09:00",        // not a digit
           "2026-11-27T24:00",        // no such hour
           "2026-11-27T09:60",        // no such minute
           "2026-11-27T09:00:60",     // no such second
           "2026-13-01T09:00",        // no such month
           "2026-00-10T09:00",        // no such month
           "2026-11-00T09:00",        // no such day
           "2026-11-31T09:00",        // November has 30 days
           "2026-02-29T09:00",        // 2026 is not a leap year
           "next friday 9am",
       }) {
    EXPECT_EQ(local_minute_us(text, kSaoPaulo), std::nullopt) << text;
  }
}

TEST(TimeFormatLocal, ParsesADateAsTheStartOfThatDayInTheZone) {
  EXPECT_EQ(local_date_us("2026-11-27", kSaoPaulo), us_of("2026-11-27T03:00:00Z"));
  EXPECT_EQ(local_date_us("2026-11-27", "UTC"), us_of("2026-11-27T00:00:00Z"));
  EXPECT_EQ(local_date_us("2026-07-01", kLisbon), us_of("2026-06-30T23:00:00Z"));
  EXPECT_EQ(local_date_us("2024-02-29", "UTC"), us_of("2024-02-29T00:00:00Z"));
  // São Paulo began its DST at midnight on 2018-11-04: the day started at 01:00 (UTC-2).
  EXPECT_EQ(local_date_us("2018-11-04", kSaoPaulo), us_of("2018-11-04T03:00:00Z"));
  EXPECT_EQ(local_date_us("2018-11-05", kSaoPaulo), us_of("2018-11-05T02:00:00Z"));
}

TEST(TimeFormatLocal, BadDateTextIsNotADate) {
  for (const char* text : {"", "2026-11-27T00:00", "2026-11-27 ", "27/11/2026", "2026-1-27", "2026-11-2x",
                           "2026-02-29", "2026-02-30", "2026-13-01", "2026-00-01", "2026-11-00", "tomorrow"}) {
    EXPECT_EQ(local_date_us(text, kSaoPaulo), std::nullopt) << text;
  }
}

TEST(TimeFormatLocal, FormatAndParseRoundTrip) {
  const char* zones[] = {kSaoPaulo, kLisbon, "UTC", "Asia/Kolkata"};
  const char* instants[] = {"2026-11-27T12:00:00Z", "2026-12-01T00:30:00Z", "2026-03-29T00:59:00Z",
                            "2026-03-29T01:00:00Z", "2026-07-31T23:30:00Z", "2024-02-29T23:45:00Z",
                            "2026-10-25T00:30:00Z"};
  for (const char* zone : zones) {
    for (const char* instant : instants) {
      const Timestamp t = from_epoch_micros(us_of(instant));
      const std::string minute = format_local_minute(t, zone);
      EXPECT_EQ(local_minute_us(minute, zone), epoch_micros(t)) << zone << " " << instant << " -> " << minute;
      const std::string day = format_local_date(t, zone);
      const auto start = parse_local_date(day, zone);
      ASSERT_TRUE(start) << zone << " " << day;
      EXPECT_EQ(format_local_date(*start, zone), day) << zone << " " << instant;
      EXPECT_LE(*start, t) << zone << " " << instant;
      EXPECT_GT(*start + hours{24}, t) << zone << " " << instant;
    }
  }
  // The later of a repeated hour's two instants reads back as the earlier one.
  const Timestamp later = from_epoch_micros(us_of("2026-10-25T01:30:00Z"));
  EXPECT_EQ(local_minute_us(format_local_minute(later, kLisbon), kLisbon), us_of("2026-10-25T00:30:00Z"));
}

}  // namespace
}  // namespace recado
