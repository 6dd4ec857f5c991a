// RFC 3339 timestamps to and from Timestamp.
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

}  // namespace
}  // namespace recado
