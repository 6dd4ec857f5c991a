#include "jobs/followup/followup.hpp"

#include <memory>

#include <fmt/format.h>

#include "jobs/followup/plan.hpp"
#include "jobs/kind_support.hpp"
#include "jobs/llm_spend.hpp"
#include "src/business_hours.hpp"
#include "src/followup_store.hpp"
#include "src/message_store.hpp"

namespace recado::jobs::followup {

namespace {

using json = nlohmann::json;
using followup_store::FireState;

constexpr Duration kPausedRecheck = std::chrono::seconds{30};

struct Firing {
  HandlerContext& ctx;
  Done done;
  const TenantConfig& tenant;
  const FollowupRule& rule;
  std::string subject;
  FireState state;
};
using FiringPtr = std::shared_ptr<Firing>;

void count(const Firing& f, std::string_view outcome) {
  f.ctx.metrics().counter("recado_followups_total", "Follow-ups fired, by tenant, rule and outcome",
                          {{"tenant", f.tenant.id}, {"rule", f.rule.name}, {"outcome", std::string(outcome)}}).add();
}

// The follow-up will not go: recorded on it (skipped) and on the job.
void skip(const FiringPtr& f, std::string reason) {
  count(*f, "skipped");
  f->ctx.complete_with(
      [tenant = f->tenant.id, subject = f->subject, rule = f->rule.name, reason](pqxx::work& tx) {
        followup_store::finish(tx, tenant, subject, rule, "skipped", reason);
      },
      json{{"skipped", reason}}.dump());
}

void send(const FiringPtr& f, std::string text, json result) {
  count(*f, "sent");
  const bool nudge = f->rule.when == FollowupWhen::quiet;
  message_store::Outbound out{f->tenant.id, f->state.conversation, f->tenant.gateway.provider,
                              (nudge ? "nudge:" : "followup:") + f->rule.name, std::move(text)};
  result["sent"] = true;
  f->ctx.complete_with(
      [out, subject = f->subject, rule = f->rule.name](pqxx::work& tx) {
        message_store::queue_outbound(tx, out);
        followup_store::finish(tx, out.tenant, subject, rule, "sent", "");
      },
      result.dump());
}

TemplateValues values_of(const Firing& f) {
  TemplateValues v;
  v.name = f.state.name;
  v.tenant = f.tenant.id;
  v.time_zone = f.tenant.time_zone();
  v.language = f.tenant.llm.language;
  if (f.state.booking) {
    v.title = f.state.booking->title;
    v.start = f.state.booking->start;
  }
  return v;
}

void write_with_llm(const FiringPtr& f) {
  const TemplateValues v = values_of(*f);
  providers::LlmRequest request;
  request.system_prompt = f->tenant.llm.system_prompt;
  if (!request.system_prompt.empty()) request.system_prompt += "\n\n";
  request.system_prompt += "Write one WhatsApp message to the contact, ready to send, and nothing else. " + f->rule.prompt;
  if (!v.name.empty()) request.system_prompt += "\nThe contact's name: " + v.name + ".";
  if (f->state.booking)
    request.system_prompt += "\nTheir appointment: " + v.title + ", " + render_template("{weekday} {date} {time}", v) + ".";
  request.system_prompt += "\nReply in this language: " + f->tenant.llm.language + ".";
  request.messages.push_back({providers::ChatMessage::Role::user, "(write the message now)"});
  ProviderCall call;
  const auto endpoint = llm_endpoint(f->tenant.llm);
  call.api = endpoint.api;
  call.breaker = breaker_name(endpoint.api, f->tenant.id);
  call.http = providers::build_llm_call(endpoint, request);
  call.tenant = f->tenant.id;
  call.model = f->tenant.llm.model;
  f->ctx.call(std::move(call), [f, api = endpoint.api](CallResult r) {
    if (r.ok()) {
      auto answer = providers::parse_llm_answer(api, r.reply.body);
      if (answer.index() == 0) {
        const auto a = std::get<0>(answer);
        return spend::record(f->ctx, f->tenant, a, [f, a] {
          send(f, a.text, {{"model", f->tenant.llm.model}, {"input_tokens", a.input_tokens},
                           {"output_tokens", a.output_tokens}});
        });
      }
    }
    // The LLM cannot write it: the rule's template, if it has one.
    if (!f->rule.text.empty()) return send(f, render_template(f->rule.text, values_of(*f)), {{"llm", "unavailable"}});
    f->done(r.ok() ? Outcome::retry("the LLM's answer had no text") : r.outcome(f->ctx.clock().now()));
  });
}

void fire(const FiringPtr& f) {
  const Timestamp now = f->ctx.clock().now();
  const FireState& s = f->state;
  const Job& job = f->ctx.job();
  if (!s.followup) return f->ctx.complete_with([](pqxx::work&) {}, json{{"skipped", "no such follow-up"}}.dump());
  if (s.followup->state != "planned")
    return f->ctx.complete_with([](pqxx::work&) {}, json{{"skipped", "follow-up already " + s.followup->state}}.dump());
  if (s.followup->job_id != job.id)
    return f->ctx.complete_with([](pqxx::work&) {}, json{{"skipped", fmt::format("superseded by job {}", s.followup->job_id)}}.dump());
  if (s.paused) return f->done(Outcome::snooze(now + kPausedRecheck, "tenant paused (" + *s.paused + ")", "paused"));
  Timestamp due = s.followup->due;
  if (f->rule.when == FollowupWhen::quiet) {
    if (s.handed_off) return skip(f, "a human has this conversation");
    if (!s.last_is_ours || !s.last_at) return skip(f, "the contact wrote since our last message");
    due = *s.last_at + f->rule.offset;
  } else {
    if (!s.booking) return skip(f, "the booking is unknown");
    if (s.booking->status != "accepted") return skip(f, "the booking is " + s.booking->status);
    due = f->rule.when == FollowupWhen::before_start ? s.booking->start - f->rule.offset
                                                     : s.booking->end + f->rule.offset;
    if (f->rule.when == FollowupWhen::before_start && now >= s.booking->start)
      return skip(f, "too late: the appointment has started");
  }
  if (due > now + std::chrono::seconds{1}) return f->done(Outcome::snooze(due, "not due yet (moved)", "other"));
  const auto opens = next_opening(f->tenant.business_hours, now);
  if (!opens) return skip(f, "the tenant's business hours never open");
  if (*opens > now) return f->done(Outcome::snooze(*opens, "outside business hours", "business_hours"));
  if (s.conversation.empty()) return skip(f, "no phone number for the contact");
  if (f->rule.llm && f->tenant.llm.enabled())
    return spend::check(f->ctx, f->tenant, [f](spend::Verdict v) {
      if (v.level != spend::Level::hard) return write_with_llm(f);
      // The budget is spent: the rule's template, if it has one.
      if (!f->rule.text.empty()) return send(f, render_template(f->rule.text, values_of(*f)), {{"llm", "budget spent"}});
      skip(f, "the LLM budget is spent (" + v.limit + ") and the rule has no text");
    });
  if (f->rule.text.empty()) return skip(f, "the rule has no text and the tenant no LLM");
  send(f, render_template(f->rule.text, values_of(*f)), json::object());
}

}  // namespace

void run(HandlerContext& ctx, Done done) {
  const json payload = payload_of(ctx);
  const std::string tenant_id = payload.value("tenant", std::string());
  const std::string subject = payload.value("subject", std::string());
  const std::string rule_name = payload.value("rule", std::string());
  const TenantConfig* tenant = ctx.tenant(tenant_id);
  if (!tenant) return done(Outcome::discard("payload.tenant '" + tenant_id + "' names no configured tenant"));
  if (subject.empty()) return done(Outcome::discard("payload.subject is missing"));
  const FollowupRule* rule = tenant->followup(rule_name);
  if (!rule) {
    return ctx.complete_with(
        [tenant_id, subject, rule_name](pqxx::work& tx) {
          followup_store::finish(tx, tenant_id, subject, rule_name, "skipped", "the rule is no longer configured");
        },
        json{{"skipped", "rule '" + rule_name + "' is no longer configured"}}.dump());
  }
  if (!tenant->gateway.enabled()) return done(Outcome::discard("tenant " + tenant_id + " has no gateway"));
  auto f = std::make_shared<Firing>(Firing{ctx, std::move(done), *tenant, *rule, subject, {}});
  with_db<FireState>(ctx,
                     [tenant_id, subject, rule_name](pqxx::connection& c) {
                       return followup_store::load_fire_state(c, tenant_id, subject, rule_name);
                     },
                     [f](FireState s) {
                       f->state = std::move(s);
                       fire(f);
                     });
}

}  // namespace recado::jobs::followup
