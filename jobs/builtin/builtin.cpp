#include "jobs/builtin/builtin.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>

#include "jobs/kind_support.hpp"
#include "src/business_hours.hpp"

namespace recado::jobs::builtin {

void noop(HandlerContext&, Done done) { done(Outcome::complete()); }

void sleep(HandlerContext& ctx, Done done) {
  const auto payload = payload_of(ctx);
  const auto ms = payload.value("ms", int64_t{0});
  if (ms < 0) return done(Outcome::discard("payload.ms must not be negative"));
  ctx.after(std::chrono::milliseconds{ms}, [done] { done(Outcome::complete()); });
}

void scripted(HandlerContext& ctx, Done done) {
  const auto payload = payload_of(ctx);
  const std::string reason = payload.value("reason", std::string("scripted"));
  const int succeed_on = payload.value("succeed_on_attempt", 0);
  if (succeed_on > 0) {
    if (ctx.job().attempt >= succeed_on) return done(Outcome::complete());
    return done(Outcome::retry(reason));
  }
  const std::string outcome = payload.value("outcome", std::string("complete"));
  if (outcome == "complete") return done(Outcome::complete());
  if (outcome == "retry") {
    std::optional<Timestamp> after;
    if (payload.contains("retry_after_ms"))
      after = ctx.clock().now() + std::chrono::milliseconds{payload["retry_after_ms"].get<int64_t>()};
    return done(Outcome::retry(reason, after));
  }
  if (outcome == "snooze")
    return done(Outcome::snooze(ctx.clock().now() + std::chrono::milliseconds{payload.value("snooze_ms", 1000)}, reason));
  if (outcome == "discard") return done(Outcome::discard(reason));
  if (outcome == "throw") throw std::runtime_error(reason);
  done(Outcome::discard("scripted: unknown outcome '" + outcome + "'"));
}

void http_call(HandlerContext& ctx, Done done) {
  const auto payload = payload_of(ctx);
  ProviderCall call;
  const auto api = parse_api(payload.value("api", std::string()));
  if (!api) return done(Outcome::discard("payload.api must name a provider API (openai, anthropic, gemini, evolution, whaticket, cloudapi, calcom)"));
  call.api = *api;
  call.breaker = payload.value("breaker", std::string(to_string(*api)));
  call.http.url = payload.value("url", std::string());
  if (call.http.url.empty()) return done(Outcome::discard("payload.url is missing"));
  call.http.method = payload.value("method", std::string("POST"));
  if (auto h = payload.find("headers"); h != payload.end() && h->is_object())
    for (const auto& [name, value] : h->items())
      if (value.is_string()) call.http.headers.emplace_back(name, value.get<std::string>());
  if (auto b = payload.find("body"); b != payload.end())
    call.http.body = b->is_string() ? b->get<std::string>() : b->dump();
  if (payload.contains("timeout_ms"))
    call.http.timeout = std::chrono::milliseconds{std::max<int64_t>(1, payload.value("timeout_ms", int64_t{1}))};
  const TenantConfig* tenant = nullptr;
  if (payload.contains("tenant")) {
    tenant = ctx.tenant(payload.value("tenant", std::string()));
    if (!tenant) return done(Outcome::discard("payload.tenant names no configured tenant"));
    // Outside the tenant's business hours the call waits for the next opening.
    const Timestamp now = ctx.clock().now();
    const auto opens = next_opening(tenant->business_hours, now);
    if (!opens) return done(Outcome::discard("tenant " + tenant->id + " never opens (business_hours)"));
    if (*opens > now) return done(Outcome::snooze(*opens, "outside business hours", "business_hours"));
  }
  auto send = [&ctx, done, call = std::move(call)]() mutable {
    ctx.call(std::move(call), [&ctx, done](CallResult r) { done(r.outcome(ctx.clock().now())); });
  };
  const auto pace = payload.find("pace");
  if (pace == payload.end()) return send();
  if (!pace->is_object()) return done(Outcome::discard("payload.pace must be an object"));
  // The limits are the tenant's, unless the payload spells them out.
  SendLimits limits = tenant ? tenant->send_limits : SendLimits{};
  if (pace->contains("min_spacing_ms")) limits.min_spacing = std::chrono::milliseconds{pace->value("min_spacing_ms", int64_t{0})};
  if (pace->contains("per_hour")) limits.per_hour = pace->value("per_hour", 0);
  if (pace->contains("per_day")) limits.per_day = pace->value("per_day", 0);
  if (pace->contains("per_recipient_spacing_ms"))
    limits.per_recipient_spacing = std::chrono::milliseconds{pace->value("per_recipient_spacing_ms", int64_t{0})};
  ctx.reserve_send(pace->value("sender", std::string()), pace->value("recipient", std::string()), limits,
                   [&ctx, done, send = std::move(send)](SendPermit permit) mutable {
                     if (!permit.granted)
                       return done(Outcome::snooze(permit.not_before, "send limit " + permit.reason, "send_limit"));
                     send();
                   });
}

}  // namespace recado::jobs::builtin
