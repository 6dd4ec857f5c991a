// Human durations: "250ms", "30s", "5m", "2h", "7d"; a bare number is seconds.
#include "src/duration.hpp"

#include <gtest/gtest.h>

namespace recado {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(ParseDuration, EveryUnit) {
  EXPECT_EQ(parse_duration("15us"), microseconds{15});
  EXPECT_EQ(parse_duration("250ms"), milliseconds{250});
  EXPECT_EQ(parse_duration("30s"), seconds{30});
  EXPECT_EQ(parse_duration("5m"), minutes{5});
  EXPECT_EQ(parse_duration("2h"), hours{2});
  EXPECT_EQ(parse_duration("7d"), hours{24 * 7});
}

TEST(ParseDuration, BareNumberIsSeconds) {
  EXPECT_EQ(parse_duration("45"), seconds{45});
  EXPECT_EQ(parse_duration("0"), Duration{0});
}

TEST(ParseDuration, RejectsEmptyAndGarbage) {
  for (const char* text : {"", "s", "ms", "abc", "5x", "5 s", " 5s", "5s ", "5S", "5sec", "1.5s",
                           "5m30s", "+5s", "0x10s"}) {
    EXPECT_EQ(parse_duration(text), std::nullopt) << "'" << text << "'";
  }
}

TEST(ParseDuration, RejectsNegatives) {
  EXPECT_EQ(parse_duration("-1s"), std::nullopt);
  EXPECT_EQ(parse_duration("-5"), std::nullopt);
}

TEST(ParseDuration, RejectsValuesThatOverflow) {
  // Microseconds in an int64_t run out a little after 106751991 days.
  EXPECT_EQ(parse_duration("106751991d"), hours{24} * 106751991);
  EXPECT_EQ(parse_duration("106751992d"), std::nullopt);
  EXPECT_EQ(parse_duration("9223372036854775808us"), std::nullopt);  // INT64_MAX + 1
  EXPECT_EQ(parse_duration("99999999999999999999"), std::nullopt);
  EXPECT_EQ(parse_duration("9223372036854775807s"), std::nullopt);
}

TEST(FormatDuration, PicksTheLargestExactUnit) {
  EXPECT_EQ(format_duration(hours{24 * 7}), "7d");
  EXPECT_EQ(format_duration(hours{2}), "2h");
  EXPECT_EQ(format_duration(minutes{5}), "5m");
  EXPECT_EQ(format_duration(seconds{30}), "30s");
  EXPECT_EQ(format_duration(milliseconds{250}), "250ms");
  EXPECT_EQ(format_duration(microseconds{15}), "15us");
  EXPECT_EQ(format_duration(Duration{0}), "0s");
}

TEST(FormatDuration, ValuesBetweenUnitsStayExact) {
  EXPECT_EQ(format_duration(milliseconds{1500}), "1500ms");
  EXPECT_EQ(format_duration(seconds{90}), "90s");
  EXPECT_EQ(format_duration(hours{36}), "36h");
  EXPECT_EQ(format_duration(microseconds{1'000'001}), "1000001us");
}

TEST(FormatDuration, RoundTripsThroughParse) {
  for (Duration d :
       {Duration{1}, Duration{999}, Duration{1'000}, Duration{1'500'000}, Duration{59'000'000},
        Duration{3'600'000'000}, Duration{90'000'000'000}, Duration{86'400'000'000LL * 14}}) {
    const std::string text = format_duration(d);
    EXPECT_EQ(parse_duration(text), d) << text;
  }
}

}  // namespace
}  // namespace recado
