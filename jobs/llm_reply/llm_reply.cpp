#include "jobs/llm_reply/llm_reply.hpp"

#include <algorithm>
#include <cctype>
#include <memory>

#include <fmt/format.h>

#include "jobs/followup/plan.hpp"
#include "jobs/kind_support.hpp"
#include "jobs/llm_reply/tools.hpp"
#include "jobs/llm_spend.hpp"
#include "jobs/providers/wire.hpp"
#include "src/followup_store.hpp"
#include "src/hmac.hpp"
#include "src/llm_store.hpp"
#include "src/log.hpp"
#include "src/message_store.hpp"
#include "src/time_format.hpp"

namespace recado::jobs::llm_reply {

namespace {

using json = nlohmann::json;
using message_store::ReplyState;
using providers::ChatMessage;

// One run of the job, carried from step to step.
struct Turn {
  HandlerContext& ctx;
  Done done;
  const TenantConfig& tenant;
  std::string conversation;
  ReplyState state;
  Timestamp started;
  providers::LlmRequest request;  // the conversation so far, tool rounds included
  std::shared_ptr<ToolScope> scope;
  int rounds = 0;  // tool rounds run
  int calls = 0;   // LLM calls made
  long long input_tokens = 0, output_tokens = 0;
  json tools_used = json::array();
  std::string cache_key;  // "" when the question is not one to cache
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

// The messages this reply is about: the inbound ones no reply covered yet.
std::vector<const message_store::StoredMessage*> pending(const Turn& t) {
  std::vector<const message_store::StoredMessage*> out;
  for (const auto& m : t.state.history)
    if (m.inbound && m.id > t.state.replied_through) out.push_back(&m);
  return out;
}

bool asks_to_book(const Turn& t) {
  for (const auto* m : pending(t)) {
    const std::string text = lower(m->body);
    for (const std::string& word : t.tenant.calcom.booking_keywords)
      if (text.find(lower(word)) != std::string::npos) return true;
  }
  return false;
}

std::string when(const Turn& t, Timestamp at) {
  followup::TemplateValues v;
  v.start = at;
  v.time_zone = t.tenant.time_zone();
  v.language = t.tenant.llm.language;
  return followup::render_template("{weekday} {date} {time}", v);
}

std::string system_prompt(const Turn& t, Timestamp now, size_t left_out) {
  const std::string& zone = t.tenant.time_zone();
  std::string p = t.tenant.llm.system_prompt;
  if (!p.empty()) p += "\n\n";
  p += "Context from the business's systems (not written by the contact):\n";
  p += "- Now: " + when(t, now) + " (local time " + format_local_minute(now, zone) + ", " + zone + ").\n";
  if (!t.state.name.empty()) p += "- The contact's name: " + t.state.name + ".\n";
  for (const auto& b : t.state.bookings)
    p += "- The contact's upcoming appointment: " + b.title + ", " + when(t, b.start) + " (booking_uid " + b.uid + ").\n";
  if (!t.request.tools.empty())
    p += "- To book, cancel or move an appointment, use the tools; offer only times find_slots gives.\n";
  if (left_out > 0)
    p += fmt::format("- The contact sent many messages at once; the {} oldest of them are left out.\n", left_out);
  p += "Reply in this language: " + t.tenant.llm.language + ".";
  return p;
}

// The conversation for the model: the history, with the contact's long messages cut and a
// flood's oldest unanswered messages left out. Returns how many were left out.
size_t build_messages(Turn& t) {
  const ContactLimits& limits = t.tenant.contact_limits;
  const auto unanswered = pending(t);
  size_t left_out = 0;
  if (limits.messages_per_minute > 0 && unanswered.size() > static_cast<size_t>(limits.messages_per_minute))
    left_out = unanswered.size() - static_cast<size_t>(limits.messages_per_minute);
  size_t skipped = 0;
  for (const auto& m : t.state.history) {
    if (m.body.empty()) continue;
    if (m.inbound && m.id > t.state.replied_through && skipped < left_out) {
      ++skipped;
      continue;
    }
    std::string text = m.body;
    if (m.inbound && limits.max_message_chars > 0) {
      auto [cut, chars] = cut_text(m.body, static_cast<size_t>(limits.max_message_chars));
      if (chars > static_cast<size_t>(limits.max_message_chars))
        text = cut + fmt::format(" [… the message was cut here: it had {} characters]", chars);
    }
    t.request.messages.push_back({m.inbound ? ChatMessage::Role::user : ChatMessage::Role::assistant, std::move(text)});
  }
  t.request.messages = providers::alternating_turns(t.request.messages);
  return left_out;
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
  message_store::Outbound out{t->tenant.id, t->conversation, t->tenant.gateway.provider, "fallback", text,
                              t->ctx.clock().now()};
  t->ctx.query([out, contact = s.contact, through = s.newest_inbound](pqxx::connection& c) {
    pqxx::work tx(c);
    message_store::queue_outbound(tx, out);
    message_store::mark_fallback(tx, out.tenant, contact, through);
    tx.commit();
  }, std::move(then));
}

// Sends `text` as the reply (origin llm_reply, booking or cache) and completes the job. The
// tenant's quiet-contact nudges are planned from it, unless `nudge` is false (an appointment
// was just booked or moved: the conversation reached its end, and a planned nudge goes).
void answer_with(const TurnPtr& t, std::string text, std::string origin, json result, bool nudge = true) {
  const Timestamp now = t->ctx.clock().now();
  count(*t, origin == "llm_reply" ? "replied" : origin);
  struct Nudge {
    std::string rule;
    Timestamp due;
  };
  std::vector<Nudge> nudges;
  for (const FollowupRule& r : t->tenant.followups)
    if (r.when == FollowupWhen::quiet && nudge) nudges.push_back({r.name, now + r.offset});
  message_store::Outbound out{t->tenant.id, t->conversation, t->tenant.gateway.provider, std::move(origin),
                              std::move(text), now};
  result["answered_through"] = t->state.newest_inbound;
  if (t->calls > 0) {
    result["model"] = t->tenant.llm.model;
    result["llm_calls"] = t->calls;
    result["input_tokens"] = t->input_tokens;
    result["output_tokens"] = t->output_tokens;
    result["latency_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(now - t->started).count();
  }
  if (!t->tools_used.empty()) result["tools"] = t->tools_used;
  // A first-round answer to a plain question is what the cache keeps.
  const bool keep = !t->cache_key.empty() && out.origin == "llm_reply" && t->rounds == 0;
  t->ctx.complete_with(
      [out, nudges, contact = t->state.contact, through = t->state.newest_inbound, key = keep ? t->cache_key : "",
       ttl = t->tenant.llm.reply_cache_ttl, now, nudge](pqxx::work& tx) {
        message_store::queue_outbound(tx, out);
        message_store::mark_replied(tx, out.tenant, contact, through);
        const std::string subject = "contact:" + contact;
        if (!nudge) followup_store::cancel(tx, out.tenant, subject, {}, "an appointment was booked in conversation");
        for (const Nudge& n : nudges)
          followup_store::plan(tx, out.tenant, subject, n.rule, n.due,
                               json{{"tenant", out.tenant}, {"subject", subject}, {"rule", n.rule}}.dump(), true);
        if (!key.empty()) llm_store::cache_reply(tx, out.tenant, key, out.body, now, ttl);
      },
      result.dump());
}

void ask_llm(const TurnPtr& t);

// Runs the answer's tool calls one after another, then asks the model again; a booking
// changed ends the conversation with its confirmation.
void run_tools(const TurnPtr& t, std::vector<providers::ToolCall> calls, size_t next,
               std::vector<providers::ToolResult> results) {
  if (next == calls.size()) {
    ChatMessage answered;
    answered.role = ChatMessage::Role::user;
    answered.tool_results = std::move(results);
    t->request.messages.push_back(std::move(answered));
    ++t->rounds;
    return ask_llm(t);
  }
  const providers::ToolCall call = calls[next];
  run_tool(t->scope, call,
           [t, calls = std::move(calls), next, results = std::move(results)](
               providers::ToolResult result, std::optional<BookingChange> change) mutable {
             json used = {{"name", result.name}};
             if (result.is_error) used["error"] = json::parse(result.content).value("error", "");
             t->tools_used.push_back(std::move(used));
             if (change) {
               t->ctx.metrics().counter("recado_conversation_bookings_total",
                                        "Bookings made, cancelled or moved in conversation, by tenant and change",
                                        {{"tenant", t->tenant.id},
                                         {"change", change->kind == BookingChange::Kind::booked      ? "booked"
                                                    : change->kind == BookingChange::Kind::cancelled ? "cancelled"
                                                                                                     : "rescheduled"}})
                   .add();
               return answer_with(t, confirmation(t->tenant, *change, t->state.name), "booking",
                                  {{"booking", change->booking.uid}},
                                  change->kind == BookingChange::Kind::cancelled);
             }
             results.push_back(std::move(result));
             run_tools(t, std::move(calls), next + 1, std::move(results));
           });
}

void llm_failed(const TurnPtr& t, CallResult r) {
  Outcome outcome = r.outcome(t->ctx.clock().now());
  const Job& job = t->ctx.job();
  const bool gives_up = outcome.type == Outcome::Type::discard ||
                        (outcome.type == Outcome::Type::retry && job.attempt >= job.max_attempts);
  if (!r.refused_until && !gives_up) return t->done(std::move(outcome));
  if (gives_up) count(*t, "failed");
  fallback_then(t, [t, outcome = std::move(outcome)] { t->done(outcome); });
}

void ask_llm(const TurnPtr& t) {
  const Timestamp now = t->ctx.clock().now();
  // The last call offers no tools: the model must answer in words.
  const bool may_use_tools =
      t->rounds < t->tenant.llm.max_tool_rounds && now - t->started < t->tenant.llm.tool_time_limit;
  providers::LlmRequest request = t->request;
  if (!may_use_tools) request.tools.clear();
  ProviderCall call;
  const auto endpoint = llm_endpoint(t->tenant.llm);
  call.api = endpoint.api;
  call.breaker = breaker_name(endpoint.api, t->tenant.id);
  call.http = providers::build_llm_call(endpoint, request);
  call.tenant = t->tenant.id;
  call.model = t->tenant.llm.model;
  ++t->calls;
  t->ctx.call(std::move(call), [t, api = endpoint.api, may_use_tools](CallResult r) {
    if (!r.ok()) return llm_failed(t, std::move(r));
    auto parsed = providers::parse_llm_answer(api, r.reply.body);
    if (auto* why = std::get_if<std::string>(&parsed)) {
      r.verdict.type = CallVerdict::Type::retry;  // a 2xx without an answer: ask again
      r.verdict.reason = *why;
      return llm_failed(t, std::move(r));
    }
    auto answer = std::get<providers::LlmAnswer>(std::move(parsed));
    t->input_tokens += answer.input_tokens;
    t->output_tokens += answer.output_tokens;
    spend::record(t->ctx, t->tenant, answer, [t, answer, may_use_tools]() mutable {
      if (answer.tool_calls.empty() || !may_use_tools) {
        if (providers::wire::blank(answer.text)) {
          // Tool calls where none were offered, and no words: the job tries again later.
          return t->done(Outcome::retry("the LLM asked for tools after its last tool round and wrote no reply"));
        }
        return answer_with(t, answer.text, "llm_reply", {{"finish_reason", answer.finish_reason}});
      }
      ChatMessage asked;
      asked.role = ChatMessage::Role::assistant;
      asked.text = answer.text;
      asked.tool_calls = answer.tool_calls;
      asked.provider_turn = answer.provider_turn;
      t->request.messages.push_back(std::move(asked));
      run_tools(t, std::move(answer.tool_calls), 0, {});
    });
  });
}

void converse(const TurnPtr& t) {
  const Timestamp now = t->ctx.clock().now();
  t->started = now;
  t->request.tools = booking_tools(t->tenant);
  const size_t left_out = build_messages(*t);
  t->request.system_prompt = system_prompt(*t, now, left_out);
  t->scope = std::make_shared<ToolScope>(ToolScope{t->ctx, t->tenant, t->state.contact, t->state.name, t->state.bookings});
  ask_llm(t);
}

// Past the tenant's hard budget no call is made: the fallback message goes instead.
void within_budget(const TurnPtr& t) {
  spend::check(t->ctx, t->tenant, [t](spend::Verdict v) {
    if (v.level != spend::Level::hard) return converse(t);
    log::warn("the tenant's LLM budget is spent; answering with the fallback message",
              log::job_fields(t->ctx.job(), {{"limit", v.limit}}));
    fallback_then(t, [t, v] { skip(*t, "budget", "the LLM budget is spent (" + v.limit + ")"); });
  });
}

// A question answered before under the same prompt is answered from the cache.
void cached_or_budget(const TurnPtr& t) {
  const LlmConfig& llm = t->tenant.llm;
  const auto questions = pending(*t);
  if (llm.reply_cache_ttl.count() == 0 || questions.empty() || asks_to_book(*t)) return within_budget(t);
  std::string text;
  for (const auto* m : questions) text += (text.empty() ? "" : "\n") + m->body;
  const std::string question = normalise_question(text);
  if (question.empty()) return within_budget(t);
  const std::string prompt_version = llm.provider + "\n" + llm.model + "\n" + llm.language + "\n" + llm.system_prompt;
  t->cache_key = hmac_sha256_hex(prompt_version, question);
  with_db<std::optional<std::string>>(
      t->ctx,
      [tenant = t->tenant.id, key = t->cache_key, now = t->ctx.clock().now()](pqxx::connection& c) {
        return llm_store::cached_reply(c, tenant, key, now);
      },
      [t](std::optional<std::string> reply) {
        t->ctx.metrics().counter("recado_llm_reply_cache_total", "Reply cache lookups by tenant and result",
                                 {{"tenant", t->tenant.id}, {"result", reply ? "hit" : "miss"}}).add();
        if (!reply) return within_budget(t);
        answer_with(t, *reply, "cache", {{"cache", "hit"}});
      });
}

// A contact over its limits waits, and is then answered once for everything.
std::optional<Outcome> held_by_limits(const Turn& t, Timestamp now) {
  const ContactLimits& limits = t.tenant.contact_limits;
  const ReplyState& s = t.state;
  auto held = [&](const char* limit, Timestamp until, std::string why) {
    t.ctx.metrics().counter("recado_contact_limited_total", "Replies held back by a per-contact limit, by tenant and limit",
                            {{"tenant", t.tenant.id}, {"limit", limit}}).add();
    log::info("a contact is over a limit; the reply waits", log::job_fields(t.ctx.job(), {{"limit", limit}}));
    return Outcome::snooze(until, std::move(why), "contact_limit");
  };
  if (limits.replies_per_hour > 0 && s.replies_last_hour >= limits.replies_per_hour && s.oldest_reply_in_hour)
    return held("replies_per_hour", *s.oldest_reply_in_hour + std::chrono::hours{1},
                fmt::format("{} replies to this contact in the last hour (limit {})", s.replies_last_hour,
                            limits.replies_per_hour));
  const auto minute = std::chrono::minutes{1};
  if (limits.messages_per_minute > 0 && s.inbound_last_minute > limits.messages_per_minute && s.newest_reply &&
      *s.newest_reply > now - minute)
    return held("messages_per_minute", *s.newest_reply + minute,
                fmt::format("{} messages from this contact in the last minute (limit {}); answered once a minute",
                            s.inbound_last_minute, limits.messages_per_minute));
  return std::nullopt;
}

}  // namespace

std::string normalise_question(std::string_view text) {
  std::string out;
  bool space = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (std::isspace(c)) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    // Latin-1 capitals (À..Þ but ×) are C3 80..9E in UTF-8; their small letters are 0x20 on.
    if (c == 0xC3 && i + 1 < text.size()) {
      const auto next = static_cast<unsigned char>(text[i + 1]);
      out += text[i];
      out += static_cast<char>(next >= 0x80 && next <= 0x9E && next != 0x97 ? next + 0x20 : next);
      ++i;
      continue;
    }
    out += static_cast<char>(std::tolower(c));
  }
  const auto trimmed = [](char c) { return c == '?' || c == '!' || c == '.' || c == ' '; };
  while (!out.empty() && trimmed(out.back())) out.pop_back();
  size_t start = 0;
  while (start < out.size() && trimmed(out[start])) ++start;
  return out.substr(start);
}

std::pair<std::string, size_t> cut_text(std::string_view text, size_t max_chars) {
  size_t chars = 0, cut = text.size();
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;  // a continuation byte
    if (chars == max_chars) cut = std::min(cut, i);
    ++chars;
  }
  return {std::string(text.substr(0, cut)), chars};
}

void run(HandlerContext& ctx, Done done) {
  const json payload = payload_of(ctx);
  const std::string tenant_id = payload.value("tenant", std::string());
  const std::string conversation = payload.value("conversation", std::string());
  const TenantConfig* tenant = ctx.tenant(tenant_id);
  if (!tenant) return done(Outcome::discard("payload.tenant '" + tenant_id + "' names no configured tenant"));
  if (conversation.empty()) return done(Outcome::discard("payload.conversation is missing"));
  auto t = std::make_shared<Turn>(Turn{ctx, std::move(done), *tenant, conversation, {}, {}, {}, {}});
  if (!tenant->llm.enabled()) return skip(*t, "no_llm", "tenant " + tenant_id + " has no LLM configured");
  if (!tenant->gateway.enabled()) return skip(*t, "no_gateway", "tenant " + tenant_id + " has no gateway to answer through");
  const Timestamp now = ctx.clock().now();
  with_db<ReplyState>(
      ctx,
      [tenant_id, conversation, n = tenant->llm.history_messages, bytes = tenant->llm.history_bytes, now](pqxx::connection& c) {
        return message_store::load_reply_state(c, tenant_id, conversation, n, bytes, now);
      },
      [t, now](ReplyState state) {
        t->state = std::move(state);
        const ReplyState& s = t->state;
        if (s.paused) return skip(*t, "paused", "paused (" + *s.paused + ")");
        if (s.handed_off) return skip(*t, "handed_off", "a human has this conversation");
        if (s.newest_inbound == 0 || s.newest_inbound <= s.replied_through)
          return skip(*t, "covered", "every message was already answered");
        if (auto held = held_by_limits(*t, now)) return t->done(std::move(*held));
        cached_or_budget(t);
      });
}

}  // namespace recado::jobs::llm_reply
