// Spend control (jobs/llm_spend): what one call costs by the tenant's price, how a tenant's
// spend is judged against its budget (each limit alone, 0 as no limit, the soft share, which
// limit is named and how), and the tenant's day in its own time zone.
#include "jobs/llm_spend.hpp"

#include <gtest/gtest.h>

#include <string>

#include "src/time_format.hpp"

namespace recado::jobs::spend {
namespace {

// A spend with the day's and the month's tokens split between input and output (tokens()
// is their sum) and their costs.
llm_store::Spend spend_of(long long day_tokens, double day_cost, long long month_tokens, double month_cost) {
  llm_store::Spend s;
  s.day.input_tokens = day_tokens - day_tokens / 4;
  s.day.output_tokens = day_tokens / 4;
  s.day.cost = day_cost;
  s.month.input_tokens = month_tokens - month_tokens / 4;
  s.month.output_tokens = month_tokens / 4;
  s.month.cost = month_cost;
  return s;
}

const char* level_name(Level l) {
  switch (l) {
    case Level::ok: return "ok";
    case Level::soft: return "soft";
    case Level::hard: return "hard";
  }
  return "?";
}

// The verdict as one line, so a failure shows all of it.
std::string text_of(const Verdict& v) {
  return std::string(level_name(v.level)) + " | " + v.limit + " | " + v.period;
}

Timestamp at(const char* rfc3339) {
  const auto t = parse_rfc3339(rfc3339);
  if (!t) ADD_FAILURE() << "not a time: " << rfc3339;
  return t.value_or(Timestamp{});
}

TenantConfig tenant_in(const std::string& zone) {
  TenantConfig t;
  t.id = "clinic1";
  t.business_hours.time_zone = zone;
  return t;
}

// --- cost_of ---------------------------------------------------------------------------------

TEST(LlmSpend, CostWithoutAPriceIsZero) {
  LlmConfig llm;
  llm.model = "gpt-4o-mini";
  EXPECT_EQ(cost_of(llm, 1'000'000, 1'000'000), 0.0);
  EXPECT_EQ(cost_of(llm, 0, 0), 0.0);
}

TEST(LlmSpend, CostIsBothPricesPerMillionTokens) {
  LlmConfig llm;
  llm.price = LlmPrice{0.15, 0.60};
  EXPECT_DOUBLE_EQ(cost_of(llm, 1'000'000, 0), 0.15);
  EXPECT_DOUBLE_EQ(cost_of(llm, 0, 1'000'000), 0.60);
  EXPECT_DOUBLE_EQ(cost_of(llm, 2'000, 500), 0.0006);  // (2000 * 0.15 + 500 * 0.60) / 1e6
  EXPECT_DOUBLE_EQ(cost_of(llm, 3'000'000, 2'000'000), 1.65);
  EXPECT_EQ(cost_of(llm, 0, 0), 0.0);
  // A price of 0 (a local model) costs nothing.
  llm.price = LlmPrice{0, 0};
  EXPECT_EQ(cost_of(llm, 5'000, 5'000), 0.0);
}

// --- judge: each limit alone ------------------------------------------------------------------

TEST(LlmSpend, NoLimitsIsAlwaysOk) {
  const LlmBudget none;
  const Verdict v = judge(none, spend_of(50'000'000, 1'000, 900'000'000, 30'000));
  EXPECT_EQ(v.level, Level::ok) << text_of(v);
  EXPECT_EQ(v.limit, "");
  EXPECT_EQ(v.period, "");
}

TEST(LlmSpend, DailyTokensAlone) {
  LlmBudget b;
  b.daily_tokens = 10'000;
  // The month's spend and the costs do not count: they have no limit.
  EXPECT_EQ(text_of(judge(b, spend_of(7'999, 99, 9'999'999, 999))), "ok |  | ");
  EXPECT_EQ(text_of(judge(b, spend_of(8'000, 0, 0, 0))), "soft | daily tokens: 8000 of 10000 | day");
  EXPECT_EQ(text_of(judge(b, spend_of(9'999, 0, 0, 0))), "soft | daily tokens: 9999 of 10000 | day");
  EXPECT_EQ(text_of(judge(b, spend_of(10'000, 0, 0, 0))), "hard | daily tokens: 10000 of 10000 | day");
  EXPECT_EQ(text_of(judge(b, spend_of(10'240, 0, 0, 0))), "hard | daily tokens: 10240 of 10000 | day");
}

TEST(LlmSpend, DailyTokensCountInputAndOutput) {
  LlmBudget b;
  b.daily_tokens = 10'000;
  llm_store::Spend s;
  s.day.input_tokens = 6'000;
  s.day.output_tokens = 4'240;
  EXPECT_EQ(text_of(judge(b, s)), "hard | daily tokens: 10240 of 10000 | day");
  s.day.input_tokens = 0;
  EXPECT_EQ(text_of(judge(b, s)), "ok |  | ");
}

TEST(LlmSpend, DailyCostAlone) {
  LlmBudget b;
  b.daily_cost = 5;
  EXPECT_EQ(text_of(judge(b, spend_of(9'999'999, 3.99, 9'999'999, 999))), "ok |  | ");
  EXPECT_EQ(text_of(judge(b, spend_of(0, 4.0, 0, 0))), "soft | daily cost: 4 of 5 | day");
  EXPECT_EQ(text_of(judge(b, spend_of(0, 5.0, 0, 0))), "hard | daily cost: 5 of 5 | day");
  EXPECT_EQ(text_of(judge(b, spend_of(0, 5.25, 0, 0))), "hard | daily cost: 5.25 of 5 | day");
}

TEST(LlmSpend, MonthlyTokensAlone) {
  LlmBudget b;
  b.monthly_tokens = 300'000;
  EXPECT_EQ(text_of(judge(b, spend_of(9'999'999, 999, 239'999, 999))), "ok |  | ");
  EXPECT_EQ(text_of(judge(b, spend_of(0, 0, 240'000, 0))), "soft | monthly tokens: 240000 of 300000 | month");
  EXPECT_EQ(text_of(judge(b, spend_of(0, 0, 300'001, 0))), "hard | monthly tokens: 300001 of 300000 | month");
}

TEST(LlmSpend, MonthlyCostAlone) {
  LlmBudget b;
  b.monthly_cost = 100;
  EXPECT_EQ(text_of(judge(b, spend_of(9'999'999, 999, 9'999'999, 79.5))), "ok |  | ");
  EXPECT_EQ(text_of(judge(b, spend_of(0, 0, 0, 80))), "soft | monthly cost: 80 of 100 | month");
  EXPECT_EQ(text_of(judge(b, spend_of(0, 0, 0, 100))), "hard | monthly cost: 100 of 100 | month");
  EXPECT_EQ(text_of(judge(b, spend_of(0, 0, 0, 100.5))), "hard | monthly cost: 100.5 of 100 | month");
}

// --- judge: the soft share --------------------------------------------------------------------

TEST(LlmSpend, SoftLimitIsAShareOfEachLimit) {
  LlmBudget b;
  b.daily_tokens = 1'000;
  b.monthly_cost = 20;
  b.soft_limit = 0.5;
  EXPECT_EQ(text_of(judge(b, spend_of(499, 0, 0, 9.99))), "ok |  | ");
  EXPECT_EQ(text_of(judge(b, spend_of(500, 0, 0, 0))), "soft | daily tokens: 500 of 1000 | day");
  EXPECT_EQ(text_of(judge(b, spend_of(0, 0, 0, 10))), "soft | monthly cost: 10 of 20 | month");
}

TEST(LlmSpend, SoftLimitOfOneMeansNoWarningBeforeTheStop) {
  LlmBudget b;
  b.daily_tokens = 1'000;
  b.soft_limit = 1.0;
  EXPECT_EQ(text_of(judge(b, spend_of(999, 0, 0, 0))), "ok |  | ");
  EXPECT_EQ(text_of(judge(b, spend_of(1'000, 0, 0, 0))), "hard | daily tokens: 1000 of 1000 | day");
}

// --- judge: which limit is named --------------------------------------------------------------

TEST(LlmSpend, TheWorstLevelIsNamedWhateverItsPeriod) {
  LlmBudget b;
  b.daily_tokens = 10'000;
  b.daily_cost = 5;
  b.monthly_tokens = 100'000;
  b.monthly_cost = 50;
  // The day is soft, the month's cost is spent: the month decides.
  EXPECT_EQ(text_of(judge(b, spend_of(9'000, 0, 0, 50))), "hard | monthly cost: 50 of 50 | month");
  // The day is spent, the month only soft: the day decides.
  EXPECT_EQ(text_of(judge(b, spend_of(10'000, 0, 90'000, 0))), "hard | daily tokens: 10000 of 10000 | day");
  // Only the month is near its limit.
  EXPECT_EQ(text_of(judge(b, spend_of(0, 0, 85'000, 0))), "soft | monthly tokens: 85000 of 100000 | month");
}

TEST(LlmSpend, OnATieTheDayIsNamedBeforeTheMonth) {
  LlmBudget b;
  b.daily_tokens = 10'000;
  b.daily_cost = 5;
  b.monthly_tokens = 100'000;
  b.monthly_cost = 50;
  EXPECT_EQ(text_of(judge(b, spend_of(0, 0, 100'000, 50))), "hard | monthly tokens: 100000 of 100000 | month");
  EXPECT_EQ(text_of(judge(b, spend_of(0, 5, 100'000, 50))), "hard | daily cost: 5 of 5 | day");
  EXPECT_EQ(text_of(judge(b, spend_of(0, 4, 80'000, 40))), "soft | daily cost: 4 of 5 | day");
  // Within the day, tokens come before cost.
  EXPECT_EQ(text_of(judge(b, spend_of(12'000, 6, 0, 0))), "hard | daily tokens: 12000 of 10000 | day");
}

// Token counts are whole numbers written out in full, however large (a million-token budget
// is ordinary), so that two different spends never read the same.
TEST(LlmSpend, LimitTextShowsLargeTokenCountsInFull) {
  LlmBudget b;
  b.monthly_tokens = 1'000'000;
  EXPECT_EQ(judge(b, spend_of(0, 0, 1'000'240, 0)).limit, "monthly tokens: 1000240 of 1000000");
}

// --- day_of -----------------------------------------------------------------------------------

TEST(LlmSpend, DayIsTheTenantsDayInItsTimeZone) {
  // Just after midnight UTC on the 1st of December is still the 30th of November in São Paulo
  // (UTC-3), so the spend goes to November's day and month.
  const Timestamp t = at("2026-12-01T00:30:00Z");
  EXPECT_EQ(day_of(tenant_in("America/Sao_Paulo"), t), "2026-11-30");
  EXPECT_EQ(day_of(tenant_in("UTC"), t), "2026-12-01");
  EXPECT_EQ(day_of(TenantConfig{}, t), "2026-12-01");  // no business hours: UTC
  // The São Paulo day turns at 03:00 UTC.
  EXPECT_EQ(day_of(tenant_in("America/Sao_Paulo"), at("2026-12-01T02:59:59.999Z")), "2026-11-30");
  EXPECT_EQ(day_of(tenant_in("America/Sao_Paulo"), at("2026-12-01T03:00:00Z")), "2026-12-01");
  // East of UTC the day turns earlier: Lisbon in summer is UTC+1.
  EXPECT_EQ(day_of(tenant_in("Europe/Lisbon"), at("2026-07-31T23:30:00Z")), "2026-08-01");
}

}  // namespace
}  // namespace recado::jobs::spend
