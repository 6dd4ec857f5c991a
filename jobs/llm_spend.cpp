#include "jobs/llm_spend.hpp"

#include <fmt/format.h>

#include <memory>

#include "src/log.hpp"
#include "src/time_format.hpp"

namespace recado::jobs::spend {

namespace {

struct Limit {
  const char* name;
  const char* period;
  double used, limit;
  bool tokens;  // a count of tokens (else an amount of money)
};

void publish(HandlerContext& ctx, const TenantConfig& tenant, const llm_store::Spend& s) {
  const LlmBudget& b = tenant.llm.budget;
  auto ratio = [](double used, double limit) { return limit > 0 ? used / limit : 0.0; };
  const double day = std::max(ratio(static_cast<double>(s.day.tokens()), static_cast<double>(b.daily_tokens)),
                              ratio(s.day.cost, b.daily_cost));
  const double month = std::max(ratio(static_cast<double>(s.month.tokens()), static_cast<double>(b.monthly_tokens)),
                                ratio(s.month.cost, b.monthly_cost));
  for (auto [period, value] : {std::pair{"day", day}, std::pair{"month", month}})
    ctx.metrics().gauge("recado_llm_budget_used_ratio", "Share of the tenant's tightest LLM budget used, by period",
                        [value] { return value; }, {{"tenant", tenant.id}, {"period", period}});
}

}  // namespace

double cost_of(const LlmConfig& llm, long long input_tokens, long long output_tokens) {
  if (!llm.price) return 0;
  return (static_cast<double>(input_tokens) * llm.price->input_per_million +
          static_cast<double>(output_tokens) * llm.price->output_per_million) /
         1e6;
}

Verdict judge(const LlmBudget& budget, const llm_store::Spend& spend) {
  const Limit limits[] = {
      {"daily tokens", "day", static_cast<double>(spend.day.tokens()), static_cast<double>(budget.daily_tokens), true},
      {"daily cost", "day", spend.day.cost, budget.daily_cost, false},
      {"monthly tokens", "month", static_cast<double>(spend.month.tokens()), static_cast<double>(budget.monthly_tokens), true},
      {"monthly cost", "month", spend.month.cost, budget.monthly_cost, false},
  };
  Verdict v;
  for (const Limit& l : limits) {
    if (l.limit <= 0) continue;
    const Level level = l.used >= l.limit                         ? Level::hard
                        : l.used >= l.limit * budget.soft_limit ? Level::soft
                                                                  : Level::ok;
    if (level <= v.level) continue;
    v.level = level;
    v.period = l.period;
    v.limit = l.tokens ? fmt::format("{}: {:.0f} of {:.0f}", l.name, l.used, l.limit)
                       : fmt::format("{}: {:g} of {:g}", l.name, l.used, l.limit);
  }
  return v;
}

std::string day_of(const TenantConfig& tenant, Timestamp now) { return format_local_date(now, tenant.time_zone()); }

void check(HandlerContext& ctx, const TenantConfig& tenant, std::function<void(Verdict)> then) {
  if (!tenant.llm.budget.any()) return then(Verdict{});
  const std::string day = day_of(tenant, ctx.clock().now());
  with_db<llm_store::Spend>(
      ctx, [id = tenant.id, day](pqxx::connection& c) { return llm_store::spend(c, id, day); },
      [&ctx, &tenant, then = std::move(then)](llm_store::Spend s) {
        publish(ctx, tenant, s);
        const Verdict v = judge(tenant.llm.budget, s);
        if (v.level == Level::hard)
          ctx.metrics().counter("recado_llm_budget_stops_total", "LLM calls not made because the tenant's budget is spent",
                                {{"tenant", tenant.id}}).add();
        then(v);
      });
}

void record(HandlerContext& ctx, const TenantConfig& tenant, const providers::LlmAnswer& answer,
            std::function<void()> then) {
  const std::string day = day_of(tenant, ctx.clock().now());
  const double cost = cost_of(tenant.llm, answer.input_tokens, answer.output_tokens);
  with_db<llm_store::Spend>(
      ctx,
      [id = tenant.id, day, model = tenant.llm.model, in = answer.input_tokens, out = answer.output_tokens,
       cost](pqxx::connection& c) { return llm_store::record(c, id, day, model, in, out, cost); },
      [&ctx, &tenant, in = answer.input_tokens, out = answer.output_tokens, cost,
       then = std::move(then)](llm_store::Spend after) {
        if (tenant.llm.budget.any()) {
          publish(ctx, tenant, after);
          llm_store::Spend before = after;
          for (llm_store::Usage* u : {&before.day, &before.month}) {
            u->calls -= 1;
            u->input_tokens -= in;
            u->output_tokens -= out;
            u->cost -= cost;
          }
          const Verdict was = judge(tenant.llm.budget, before), now = judge(tenant.llm.budget, after);
          if (now.level > was.level) {
            const char* level = now.level == Level::hard ? "hard" : "soft";
            ctx.metrics().counter("recado_llm_budget_crossings_total",
                                  "Times a tenant's LLM spend crossed its soft or hard budget limit",
                                  {{"tenant", tenant.id}, {"level", level}}).add();
            log::warn(now.level == Level::hard ? "the tenant's LLM budget is spent: replies fall back until it rolls over or is raised"
                                               : "the tenant's LLM spend passed the soft limit of its budget",
                      log::job_fields(ctx.job(), {{"tenant", tenant.id}, {"limit", now.limit}, {"level", level}}));
          }
        }
        then();
      });
}

}  // namespace recado::jobs::spend
