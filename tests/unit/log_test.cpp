// Log helpers: JSON string escaping, and masking of phone numbers and message text.
#include "src/log.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace recado {
namespace {

TEST(JsonEscape, QuotesAndBackslashes) {
  EXPECT_EQ(log::json_escape(R"(say "hi")"), R"(say \"hi\")");
  EXPECT_EQ(log::json_escape(R"(C:\tmp\x)"), R"(C:\\tmp\\x)");
}

TEST(JsonEscape, ControlCharacters) {
  EXPECT_EQ(log::json_escape("a\nb\rc\td"), R"(a\nb\rc\td)");
  EXPECT_EQ(log::json_escape(std::string("\x01\x1f\b", 3)), R"(\u0001\u001f\u0008)");
  EXPECT_EQ(log::json_escape(std::string("nul\0here", 8)), R"(nul\u0000here)");
}

TEST(JsonEscape, LeavesPlainTextAndUtf8Alone) {
  EXPECT_EQ(log::json_escape(""), "");
  EXPECT_EQ(log::json_escape("job completed / ok"), "job completed / ok");
  EXPECT_EQ(log::json_escape("olá, ação ✓"), "olá, ação ✓");
}

TEST(JsonEscape, EveryAsciiCharacterSurvivesAJsonParser) {
  std::string all;
  for (int c = 0; c < 0x80; ++c) all += static_cast<char>(c);
  const std::string escaped = log::json_escape(all);
  const auto parsed = nlohmann::json::parse("\"" + escaped + "\"", nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << escaped;
  EXPECT_EQ(parsed.get<std::string>(), all);
}

// Redaction is process-wide state set by log::setup(); each test sets what it needs and
// leaves redaction on, the default.
class Redaction : public ::testing::Test {
 protected:
  void TearDown() override { log::setup("json", "info", true); }
};

TEST_F(Redaction, PhoneKeepsLengthAndLastTwoDigits) {
  log::setup("json", "info", true);
  ASSERT_TRUE(log::redacting());
  EXPECT_EQ(log::redact_phone("+5511987654321"), "+55*********21");
  EXPECT_EQ(log::redact_phone("+5511999921"), "+55******21");
  // Six characters or fewer: only the last two are kept.
  EXPECT_EQ(log::redact_phone("123456"), "****56");
  EXPECT_EQ(log::redact_phone("12"), "12");
  EXPECT_EQ(log::redact_phone(""), "");
}

TEST_F(Redaction, TextBecomesItsLength) {
  log::setup("json", "info", true);
  EXPECT_EQ(log::redact_text("Oi, meu CPF é 123.456.789-00"), "<text 29 bytes>");
  EXPECT_EQ(log::redact_text(""), "<text 0 bytes>");
}

TEST_F(Redaction, OffLeavesValuesAsTheyAre) {
  log::setup("text", "info", false);
  EXPECT_FALSE(log::redacting());
  EXPECT_EQ(log::redact_phone("+5511987654321"), "+5511987654321");
  EXPECT_EQ(log::redact_text("hello there"), "hello there");
}

TEST(JobFields, CarryIdQueueKindAttemptThenExtras) {
  Job job;
  job.id = 42;
  job.queue = "default";
  job.kind = "noop";
  job.attempt = 3;
  const log::Fields f = log::job_fields(job, {{"outcome", "retry"}});
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(f[0], log::Field("job_id", "42"));
  EXPECT_EQ(f[1], log::Field("queue", "default"));
  EXPECT_EQ(f[2], log::Field("kind", "noop"));
  EXPECT_EQ(f[3], log::Field("attempt", "3"));
  EXPECT_EQ(f[4], log::Field("outcome", "retry"));
}

}  // namespace
}  // namespace recado
