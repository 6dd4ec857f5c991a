#include "jobs/llm_reply/llm_reply.hpp"

#include <algorithm>
#include <cctype>
#include <memory>

#include <fmt/format.h>

#include "jobs/followup/plan.hpp"
#include "jobs/kind_support.hpp"
#include "src/followup_store.hpp"
#include "src/log.hpp"
#include "src/message_store.hpp"

namespace recado::jobs::llm_reply {

namespace {

using json = nlohmann::json;
using message_store::ReplyState;

constexpr Duration kSlotHorizon = std::chrono::hours{24 * 7};
constexpr size_t kSlotsOffered = 8;

// One run of the job, carried from step to step.
struct Turn {
  HandlerContext& ctx;
  Done done;
  const TenantConfig& tenant;
  std::string conversation;
  ReplyState state;
  std::vector<Timestamp> slots;
  bool asked_slots = false;
};
using TurnPtr = std::shared_ptr<Turn>;

void count(Turn& t, std::string_view outcome) {
  t.ctx.metrics().counter("recado_llm_replies_total", "Reply jobs by tenant and how they ended",
                          {{"tenant", t.tenant.id}, {"outcome", std::string(outcome)}}).add();
}

void skip(Turn& t, std::string_view outcome, std::string reason) {
  count(t, outcome);
  t.ctx.complete_with([](pqxx::work&) {}, json{{"skipped", std::move(reason)}}.dump());
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Does a message the reply is about ask to book?
bool asks_to_book(const Turn& t) {
  for (const auto& m : t.state.history) {
    if (!m.inbound || m.id <= t.state.replied_through) continue;
    const std::string text = lower(m.body);
    for (const std::string& word : t.tenant.calcom.booking_keywords)
      if (text.find(lower(word)) != std::string::npos) return true;
  }
  return false;
}

std::string when(const Turn& t, Timestamp at, std::string_view shape = "{weekday} {date} {time}") {
  followup::TemplateValues v;
  v.start = at;
  v.time_zone = t.tenant.time_zone();
  v.language = t.tenant.llm.language;
  return followup::render_template(shape, v);
}

std::string system_prompt(const Turn& t, Timestamp now) {
  std::string p = t.tenant.llm.system_prompt;
  if (!p.empty()) p += "\n\n";
  p += "Context from the business's systems (not written by the contact):\n";
  p += "- Now: " + when(t, now) + " (" + t.tenant.time_zone() + ").\n";
  if (!t.state.name.empty()) p += "- The contact's name: " + t.state.name + ".\n";
  if (t.state.booking)
    p += "- The contact's next appointment: " + t.state.booking->title + ", " + when(t, t.state.booking->start) + ".\n";
  if (t.asked_slots) {
    if (t.slots.empty()) {
      p += "- There are no free times to book in the next 7 days.\n";
    } else {
      p += "- Free times the contact can book:";
      for (size_t i = 0; i < t.slots.size() && i < kSlotsOffered; ++i) p += (i ? "; " : " ") + when(t, t.slots[i]);
      p += ".\n";
    }
  }
  p += "Reply in this language: " + t.tenant.llm.language + ".";
  return p;
}

// The fallback message, once for the messages it covers; then `then`.
void fallback_then(const TurnPtr& t, std::function<void()> then) {
  const std::string& text = t->tenant.llm.fallback_message;
  const ReplyState& s = t->state;
  // Once per silence: not again while an earlier fallback is still the last word.
  if (text.empty() || s.fallback_through > s.replied_through || s.replied_through >= s.newest_inbound)
    return then();
  count(*t, "fallback");
  log::warn("the LLM cannot answer; sending the tenant's fallback message", log::job_fields(t->ctx.job()));
  message_store::Outbound out{t->tenant.id, t->conversation, t->tenant.gateway.provider, "fallback", text};
  t->ctx.query([out, contact = s.contact, through = s.newest_inbound](pqxx::connection& c) {
    pqxx::work tx(c);
    message_store::queue_outbound(tx, out);
    message_store::mark_fallback(tx, out.tenant, contact, through);
    tx.commit();
  }, std::move(then));
}

void answered(const TurnPtr& t, const providers::LlmAnswer& answer, Duration took) {
  const Timestamp now = t->ctx.clock().now();
  count(*t, "replied");
  struct Nudge {
    std::string rule;
    Timestamp due;
  };
  std::vector<Nudge> nudges;
  for (const FollowupRule& r : t->tenant.followups)
    if (r.when == FollowupWhen::quiet) nudges.push_back({r.name, now + r.offset});
  message_store::Outbound out{t->tenant.id, t->conversation, t->tenant.gateway.provider, "llm_reply", answer.text};
  const json result = {{"model", t->tenant.llm.model},
                       {"input_tokens", answer.input_tokens},
                       {"output_tokens", answer.output_tokens},
                       {"latency_ms", std::chrono::duration_cast<std::chrono::milliseconds>(took).count()},
                       {"finish_reason", answer.finish_reason},
                       {"answered_through", t->state.newest_inbound}};
  t->ctx.complete_with(
      [out, nudges, contact = t->state.contact, through = t->state.newest_inbound](pqxx::work& tx) {
        message_store::queue_outbound(tx, out);
        message_store::mark_replied(tx, out.tenant, contact, through);
        const std::string subject = "contact:" + contact;
        for (const Nudge& n : nudges)
          followup_store::plan(tx, out.tenant, subject, n.rule, n.due,
                               json{{"tenant", out.tenant}, {"subject", subject}, {"rule", n.rule}}.dump(), true);
      },
      result.dump());
}

void ask_llm(const TurnPtr& t) {
  const Timestamp now = t->ctx.clock().now();
  providers::LlmRequest request;
  request.system_prompt = system_prompt(*t, now);
  for (const auto& m : t->state.history) {
    if (m.body.empty()) continue;
    request.messages.push_back({m.inbound ? providers::ChatMessage::Role::user : providers::ChatMessage::Role::assistant, m.body});
  }
  request.messages = providers::alternating_turns(request.messages);
  ProviderCall call;
  const auto endpoint = llm_endpoint(t->tenant.llm);
  call.api = endpoint.api;
  call.breaker = breaker_name(endpoint.api, t->tenant.id);
  call.http = providers::build_llm_call(endpoint, request);
  call.tenant = t->tenant.id;
  call.model = t->tenant.llm.model;
  t->ctx.call(std::move(call), [t, api = endpoint.api](CallResult r) {
    const Timestamp now = t->ctx.clock().now();
    if (r.ok()) {
      auto answer = providers::parse_llm_answer(api, r.reply.body);
      if (answer.index() == 0) return answered(t, std::get<0>(answer), r.reply.elapsed);
      r.verdict.type = CallVerdict::Type::retry;  // a 2xx without an answer: ask again
      r.verdict.reason = std::get<1>(answer);
    }
    Outcome outcome = r.outcome(now);
    const Job& job = t->ctx.job();
    const bool gives_up = outcome.type == Outcome::Type::discard ||
                          (outcome.type == Outcome::Type::retry && job.attempt >= job.max_attempts);
    if (!r.refused_until && !gives_up) return t->done(std::move(outcome));
    if (gives_up) count(*t, "failed");
    fallback_then(t, [t, outcome = std::move(outcome)] { t->done(outcome); });
  });
}

// Free slots first when a new message asks to book and the tenant has Cal.com.
void maybe_slots(const TurnPtr& t) {
  const CalcomConfig& cal = t->tenant.calcom;
  if (!cal.enabled() || cal.event_type_ids.empty() || !asks_to_book(*t)) return ask_llm(t);
  t->asked_slots = true;
  const Timestamp now = t->ctx.clock().now();
  ProviderCall call;
  call.api = Api::calcom;
  call.breaker = breaker_name(Api::calcom, t->tenant.id);
  call.http = providers::build_slots_call(calcom_endpoint(cal), cal.event_type_ids.front(), now,
                                          now + kSlotHorizon, t->tenant.time_zone());
  t->ctx.call(std::move(call), [t](CallResult r) {
    if (r.ok()) {
      try {
        t->slots = providers::parse_slots(r.reply.body);
      } catch (const std::exception& e) {
        log::warn("Cal.com slots answer unreadable; replying without slots", log::job_fields(t->ctx.job(), {{"error", e.what()}}));
        t->asked_slots = false;
      }
    } else {
      // The reply still goes, without times to offer.
      log::warn("Cal.com slots unavailable; replying without them",
                log::job_fields(t->ctx.job(), {{"error", r.refused_until ? "breaker open" : r.verdict.reason}}));
      t->asked_slots = false;
    }
    ask_llm(t);
  });
}

}  // namespace

void run(HandlerContext& ctx, Done done) {
  const json payload = payload_of(ctx);
  const std::string tenant_id = payload.value("tenant", std::string());
  const std::string conversation = payload.value("conversation", std::string());
  const TenantConfig* tenant = ctx.tenant(tenant_id);
  if (!tenant) return done(Outcome::discard("payload.tenant '" + tenant_id + "' names no configured tenant"));
  if (conversation.empty()) return done(Outcome::discard("payload.conversation is missing"));
  auto t = std::make_shared<Turn>(Turn{ctx, std::move(done), *tenant, conversation, {}, {}, false});
  if (!tenant->llm.enabled()) return skip(*t, "no_llm", "tenant " + tenant_id + " has no LLM configured");
  if (!tenant->gateway.enabled()) return skip(*t, "no_gateway", "tenant " + tenant_id + " has no gateway to answer through");
  const Timestamp now = ctx.clock().now();
  with_db<ReplyState>(
      ctx,
      [tenant_id, conversation, n = tenant->llm.history_messages, bytes = tenant->llm.history_bytes, now](pqxx::connection& c) {
        return message_store::load_reply_state(c, tenant_id, conversation, n, bytes, now);
      },
      [t](ReplyState state) {
        t->state = std::move(state);
        const ReplyState& s = t->state;
        if (s.paused) return skip(*t, "paused", "paused (" + *s.paused + ")");
        if (s.handed_off) return skip(*t, "handed_off", "a human has this conversation");
        if (s.newest_inbound == 0 || s.newest_inbound <= s.replied_through)
          return skip(*t, "covered", "every message was already answered");
        maybe_slots(t);
      });
}

}  // namespace recado::jobs::llm_reply
