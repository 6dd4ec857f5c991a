// job_sql::ArrayLiteral: the PostgreSQL array literals a batch's columns travel in. Texts are
// quoted with only " and \ escaped (everything else, UTF-8 and commas and braces included,
// is kept as is); numbers and booleans are bare; NULL is the unquoted word.
#include <gtest/gtest.h>

#include "src/job_sql.hpp"

namespace recado::job_sql {
namespace {

TEST(ArrayLiteral, TextsAreQuotedWithQuotesAndBackslashesEscaped) {
  ArrayLiteral a;
  a.text("oi").text("").text(R"(say "hi" \o/)").text("{a,b} ção 🙂").text(R"(\)").text(R"(")");
  EXPECT_EQ(a.done(), R"({"oi","","say \"hi\" \\o/","{a,b} ção 🙂","\\","\""})");
}

TEST(ArrayLiteral, NumbersBooleansAndNulls) {
  ArrayLiteral n;
  n.number(0).number(-7).number(9007199254740993).null();
  EXPECT_EQ(n.done(), "{0,-7,9007199254740993,NULL}");
  ArrayLiteral b;
  b.boolean(true).boolean(false);
  EXPECT_EQ(b.done(), "{t,f}");
}

TEST(ArrayLiteral, EmptyIsAnEmptyArray) {
  ArrayLiteral a;
  EXPECT_EQ(a.done(), "{}");
}

}  // namespace
}  // namespace recado::job_sql
