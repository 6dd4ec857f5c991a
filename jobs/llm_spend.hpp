#pragma once
// Spend control: what a tenant's LLM calls cost, whether its budget lets one more call go,
// and the bookkeeping after each call. Every job kind that calls the LLM goes through here:
// check() before the call, record() after a call the provider answered.
#include <functional>
#include <string>

#include "jobs/providers/llm.hpp"
#include "src/config.hpp"
#include "src/job_kind.hpp"
#include "src/llm_store.hpp"

namespace recado::jobs::spend {

// The cost of one call by the tenant's price (0 without one).
double cost_of(const LlmConfig& llm, long long input_tokens, long long output_tokens);

enum class Level { ok, soft, hard };

struct Verdict {
  Level level = Level::ok;
  // The limit that decided, as an operator reads it: "daily tokens: 10240 of 10000".
  std::string limit;
  std::string period;  // "day" or "month" ("" when ok)
};

// Where `spend` stands against `budget`: hard when any limit is reached, soft when any is
// at soft_limit of its limit, else ok. The worst limit is named (the day before the month).
Verdict judge(const LlmBudget& budget, const llm_store::Spend& spend);

// The tenant's day at `now`, in its time zone: "2026-11-27".
std::string day_of(const TenantConfig& tenant, Timestamp now);

// Loads the tenant's spend and judges it (a tenant without a budget is ok without SQL); a
// hard verdict is counted (recado_llm_budget_stops_total) and logged by the caller's wish.
void check(HandlerContext& ctx, const TenantConfig& tenant, std::function<void(Verdict)> then);

// Records one answered call's usage; when it carries the tenant across its soft or hard
// limit, says so in a log line and recado_llm_budget_crossings_total{tenant,level}.
void record(HandlerContext& ctx, const TenantConfig& tenant, const providers::LlmAnswer& answer,
            std::function<void()> then);

}  // namespace recado::jobs::spend
