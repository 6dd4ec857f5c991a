#include "jobs/whatsapp_send/whatsapp_send.hpp"

#include <fmt/format.h>

#include "jobs/kind_support.hpp"
#include "src/business_hours.hpp"
#include "src/log.hpp"
#include "src/message_store.hpp"

namespace recado::jobs::whatsapp_send {

namespace {

using message_store::SendState;
using json = nlohmann::json;

constexpr Duration kPausedRecheck = std::chrono::seconds{30};
constexpr Duration kServiceWindow = std::chrono::hours{24};

// Messages the bot writes in a conversation; a human who took it over silences them.
// Booking reminders still go.
bool is_bot_talk(const std::string& origin) {
  return origin == "llm_reply" || origin == "fallback" || origin.starts_with("nudge:");
}

// The message will not go: recorded on it and on the job, which completes.
void give_up(HandlerContext& ctx, int64_t message_id, std::string reason) {
  ctx.metrics().counter("recado_sends_skipped_total", "Outbound messages not sent, by reason",
                        {{"reason", reason.substr(0, reason.find(':'))}}).add();
  ctx.complete_with([message_id, reason](pqxx::work& tx) { message_store::record_discarded(tx, message_id, reason); },
                    json{{"skipped", reason}}.dump());
}

void send(HandlerContext& ctx, const Done& done, const TenantConfig& tenant, const providers::GatewayEndpoint& endpoint,
          int64_t message_id, const SendState& s, providers::OutgoingText text) {
  ProviderCall call;
  call.api = endpoint.api;
  call.breaker = breaker_name(endpoint.api, tenant.id);
  call.http = providers::build_send_call(endpoint, text);
  if (s.outcome_unknown) {
    // An earlier attempt went out and never heard back: the gateway may have sent it.
    ctx.metrics().counter("recado_sends_possible_duplicates_total",
                          "Sends retried after an attempt whose outcome was unknown (timeout, reset)",
                          {{"tenant", tenant.id}}).add();
    log::warn("retrying a send whose earlier attempt may have gone out: possible duplicate",
              log::job_fields(ctx.job(), {{"message_id", std::to_string(message_id)}}));
  }
  ctx.call(std::move(call), [&ctx, done, message_id, api = endpoint.api](CallResult r) {
    const Timestamp now = ctx.clock().now();
    if (r.ok()) {
      auto answer = providers::parse_send_answer(api, r.reply.body);
      if (answer.index() == 1) {
        // 2xx without the id we expect: it may well have gone; do not send again.
        return ctx.complete_with([message_id, now](pqxx::work& tx) { message_store::record_sent(tx, message_id, "", now); },
                                 json{{"sent", true}, {"warning", std::get<1>(answer)}}.dump());
      }
      const std::string id = std::get<0>(answer).value_or("");
      return ctx.complete_with([message_id, id, now](pqxx::work& tx) { message_store::record_sent(tx, message_id, id, now); },
                               json{{"sent", true}, {"provider_id", id}}.dump());
    }
    Outcome outcome = r.outcome(now);
    const auto f = r.reply.failure;
    const bool maybe_sent = !r.refused_until && (f == HttpReply::Failure::timeout || f == HttpReply::Failure::reset ||
                                                 f == HttpReply::Failure::truncated);
    if (outcome.type == Outcome::Type::discard) {
      return ctx.query([message_id, reason = outcome.reason](pqxx::connection& c) {
        pqxx::work tx(c);
        message_store::record_discarded(tx, message_id, reason);
        tx.commit();
      }, [done, outcome] { done(outcome); });
    }
    if (maybe_sent)
      return ctx.query([message_id](pqxx::connection& c) { message_store::mark_outcome_unknown(c, message_id); },
                       [done, outcome] { done(outcome); });
    done(std::move(outcome));
  });
}

}  // namespace

void run(HandlerContext& ctx, Done done) {
  const json payload = payload_of(ctx);
  const std::string tenant_id = payload.value("tenant", std::string());
  const int64_t message_id = payload.value("message_id", int64_t{0});
  const TenantConfig* tenant = ctx.tenant(tenant_id);
  if (!tenant) return done(Outcome::discard("payload.tenant '" + tenant_id + "' names no configured tenant"));
  if (!tenant->gateway.enabled()) return done(Outcome::discard("tenant " + tenant_id + " has no gateway"));
  if (message_id <= 0) return done(Outcome::discard("payload.message_id is missing"));
  with_db<SendState>(ctx, [message_id](pqxx::connection& c) { return message_store::load_send(c, message_id); },
                     [&ctx, done, tenant, message_id](SendState s) {
    if (!s.found) return done(Outcome::discard(fmt::format("outbound message {} does not exist", message_id)));
    if (s.status != "queued") {  // sent by an earlier run whose completion was lost, or given up
      return ctx.complete_with([](pqxx::work&) {}, json{{"skipped", "already " + s.status}}.dump());
    }
    const Timestamp now = ctx.clock().now();
    if (s.paused)
      return done(Outcome::snooze(now + kPausedRecheck, "sends are paused (" + *s.paused + ")", "paused"));
    if (s.handed_off && is_bot_talk(s.origin)) return give_up(ctx, message_id, "handed_off: a human has this conversation");
    const auto opens = next_opening(tenant->business_hours, now);
    if (!opens) return give_up(ctx, message_id, "closed: the tenant's business hours never open");
    if (*opens > now) return done(Outcome::snooze(*opens, "outside business hours", "business_hours"));
    providers::OutgoingText text;
    text.to = s.conversation;
    text.text = s.body;
    const auto endpoint = gateway_endpoint(tenant->gateway);
    if (const auto to = providers::normalise_recipient(endpoint.api, s.conversation); to.index() == 1)
      return give_up(ctx, message_id, "recipient: " + std::get<1>(to));
    if (endpoint.api == Api::cloudapi && (!s.last_inbound || now - *s.last_inbound > kServiceWindow)) {
      // Outside the customer service window only an approved template may go.
      if (tenant->gateway.template_name.empty())
        return give_up(ctx, message_id, "window: outside the 24-hour window and the tenant has no template");
      text.template_name = tenant->gateway.template_name;
      text.template_language = tenant->gateway.template_language;
      text.template_params = {s.body};
    }
    ctx.reserve_send(sender_of(*tenant), s.contact, tenant->send_limits,
                     [&ctx, done, tenant, endpoint, message_id, s, text](SendPermit permit) {
                       if (!permit.granted)
                         return done(Outcome::snooze(permit.not_before, "send limit " + permit.reason, "send_limit"));
                       send(ctx, done, *tenant, endpoint, message_id, s, text);
                     });
  });
}

}  // namespace recado::jobs::whatsapp_send
