// What keeps the bill and the bot under control, end to end (real ingress, worker, simulator,
// the worker's clock moved forward instead of waiting): the tenant's LLM budget, the limits
// per contact, and the reply cache; and `recadoctl usage`, which reads what was spent.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "src/time_format.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/secretary_fixture.hpp"

namespace recado {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using test::kAna;
using test::kBia;

class Guardrails : public test::Secretary {
 protected:
  void SetUp() override {
    Secretary::SetUp();
    tenant.calcom = CalcomConfig{};  // no tools: one LLM call per reply
    tenant.followups.clear();
  }
  size_t replies_done() { return static_cast<size_t>(db.count("SELECT count(*) FROM recado.jobs_finished WHERE kind = 'llm_reply'")); }
  std::string metrics() { return harness.metrics().render(); }
  test::CommandResult ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {RECADOCTL_BIN, "--database-url", db.url()});
    return test::run_command(std::move(args), {}, 60s);
  }
};

TEST_F(Guardrails, AtTheHardBudgetTheFallbackGoesOncePerConversationUntilTheDayRollsOver) {
  tenant.llm.budget.daily_tokens = 40;  // one reply's prompt alone is more
  start();
  ASSERT_EQ(say(kAna, "Oi, qual o horário de vocês?"), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == 1 && idle(); }));
  ASSERT_EQ(llm_calls(), 1u);
  EXPECT_EQ(db.scalar("SELECT calls || ' ' || (input_tokens + output_tokens > 40) FROM recado.llm_usage"), "1 true");
  EXPECT_NE(metrics().find("recado_llm_budget_crossings_total{tenant=\"clinic\",level=\"hard\"} 1"), std::string::npos)
      << metrics();
  // Spent: Bia gets the fallback, once however often she writes, and no LLM is called.
  ASSERT_EQ(say(kBia, "Bom dia"), 200);
  ASSERT_TRUE(until([&] { return replies_done() == 2 && sent_texts(kBia).size() == 1 && idle(); }));
  ASSERT_EQ(say(kBia, "Alguém aí?"), 200);
  ASSERT_TRUE(until([&] { return replies_done() == 3 && idle(); }));
  EXPECT_EQ(llm_calls(), 1u);
  EXPECT_EQ(sent_texts(kBia), std::vector<std::string>{tenant.llm.fallback_message});
  EXPECT_NE(skipped_reasons().find("the LLM budget is spent (daily tokens:"), std::string::npos) << skipped_reasons();
  EXPECT_NE(metrics().find("recado_llm_budget_stops_total{tenant=\"clinic\"} 2"), std::string::npos);
  EXPECT_NE(metrics().find("recado_llm_budget_used_ratio{tenant=\"clinic\",period=\"day\"}"), std::string::npos);
  // The next day (in São Paulo) the budget is new: Bia gets a real answer for all she wrote.
  harness.clock().advance(24h);
  ASSERT_EQ(say(kBia, "Oi de novo"), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kBia).size() == 2 && idle(); }));
  EXPECT_EQ(llm_calls(), 2u);
  EXPECT_NE(sent_texts(kBia).back().find("[sim "), std::string::npos) << sent_texts(kBia).back();
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.llm_usage"), 2);  // one row per day and model
}

TEST_F(Guardrails, TheSoftLimitWarnsAndRepliesGoOn) {
  tenant.llm.budget.daily_tokens = 100000;
  tenant.llm.budget.soft_limit = 0.001;  // 100 tokens: one reply passes it
  start();
  ASSERT_EQ(say(kAna, "Oi"), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == 1 && idle(); }));
  ASSERT_EQ(say(kBia, "Oi"), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kBia).size() == 1 && idle(); }));
  EXPECT_EQ(llm_calls(), 2u);
  // Counted once, when it was crossed; nothing stopped.
  EXPECT_NE(metrics().find("recado_llm_budget_crossings_total{tenant=\"clinic\",level=\"soft\"} 1"), std::string::npos)
      << metrics();
  EXPECT_EQ(metrics().find("recado_llm_budget_stops_total"), std::string::npos);
}

TEST_F(Guardrails, CostIsPricedFromTheConfigAndUsageShowsIt) {
  tenant.llm.price = LlmPrice{1000.0, 2000.0};  // per million tokens: easy to check
  start();
  ASSERT_EQ(say(kAna, "Oi"), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == 1 && idle(); }));
  ASSERT_EQ(say(kBia, "Olá"), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kBia).size() == 1 && idle(); }));
  const long long in = db.count("SELECT sum(input_tokens) FROM recado.llm_usage");
  const long long out = db.count("SELECT sum(output_tokens) FROM recado.llm_usage");
  ASSERT_GT(in, 0);
  ASSERT_GT(out, 0);
  // The tokens are the provider's own count, as the jobs recorded them.
  EXPECT_EQ(in, db.count("SELECT sum((result ->> 'input_tokens')::int) FROM recado.jobs_finished WHERE kind = 'llm_reply'"));
  const auto r = ctl({"usage", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const json usage = json::parse(r.out);
  ASSERT_EQ(usage["rows"].size(), 1u) << r.out;
  EXPECT_EQ(usage["rows"][0]["tenant"], "clinic");
  EXPECT_EQ(usage["rows"][0]["model"], "gpt-sim");
  EXPECT_EQ(usage["rows"][0]["calls"], 2);
  EXPECT_EQ(usage["total"]["input_tokens"], in);
  EXPECT_NEAR(usage["total"]["cost"].get<double>(), (in * 1000.0 + out * 2000.0) / 1e6, 1e-6);
  // Text for people; another tenant has nothing.
  const auto text = ctl({"usage", "--tenant", "clinic", "--since", "7d"});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("gpt-sim"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("total since"), std::string::npos) << text.out;
  const auto none = ctl({"usage", "--tenant", "nobody", "--json"});
  ASSERT_EQ(none.code, 0);
  EXPECT_EQ(json::parse(none.out)["rows"].size(), 0u);
  const auto bad = ctl({"usage", "--since", "last tuesday"});
  EXPECT_EQ(bad.code, 2) << bad.out;
  EXPECT_NE(bad.err.find("--since"), std::string::npos) << bad.err;
}

TEST_F(Guardrails, AFloodingContactIsAnsweredOnceAMinuteWithTheNewestMessages) {
  tenant.contact_limits.messages_per_minute = 2;
  start();
  ASSERT_EQ(say(kAna, "Oi"), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == 1 && idle(); }));
  // Five more at once, within the minute of the reply.
  for (int i = 1; i <= 5; ++i) ASSERT_EQ(say(kAna, "mensagem " + std::to_string(i)), 200);
  ASSERT_TRUE(until([&] {
    return db.count("SELECT count(*) FROM recado.jobs WHERE kind = 'llm_reply' AND state = 'available' "
                    "AND run_at > now() + interval '20 seconds'") == 1;
  })) << "the reply waits for the minute to pass";
  EXPECT_EQ(llm_calls(), 1u);
  EXPECT_NE(metrics().find("recado_contact_limited_total{tenant=\"clinic\",limit=\"messages_per_minute\"}"), std::string::npos);
  // A minute later one reply answers them, with the newest two in the prompt.
  harness.clock().advance(61s);
  ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == 2 && idle(); }));
  ASSERT_EQ(llm_calls(), 2u);
  const std::string asked = llm_messages(1).dump();
  EXPECT_EQ(asked.find("mensagem 3"), std::string::npos) << asked;
  EXPECT_NE(asked.find("mensagem 4"), std::string::npos) << asked;
  EXPECT_NE(asked.find("mensagem 5"), std::string::npos) << asked;
  EXPECT_NE(asked.find("the 3 oldest of them are left out"), std::string::npos) << asked;
  // Every message was stored all the same.
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.messages WHERE direction = 'in'"), 6);
}

TEST_F(Guardrails, RepliesPerHourToOneContactAreCapped) {
  tenant.contact_limits.replies_per_hour = 2;
  tenant.contact_limits.messages_per_minute = 0;
  start();
  for (int i = 1; i <= 2; ++i) {
    ASSERT_EQ(say(kAna, "pergunta " + std::to_string(i)), 200);
    ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == static_cast<size_t>(i) && idle(); }));
    harness.clock().advance(5min);
  }
  ASSERT_EQ(say(kAna, "pergunta 3"), 200);
  ASSERT_TRUE(until([&] {
    return db.count("SELECT count(*) FROM recado.jobs WHERE kind = 'llm_reply' AND state = 'available'") == 1 &&
           db.count("SELECT count(*) FROM recado.jobs WHERE kind = 'llm_reply' AND state = 'running'") == 0 &&
           metrics().find("limit=\"replies_per_hour\"") != std::string::npos;
  }));
  EXPECT_EQ(sent_texts(kAna).size(), 2u);
  // Bia is not held back by Ana's limit.
  ASSERT_EQ(say(kBia, "Oi"), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kBia).size() == 1; }));
  // An hour after Ana's first reply, the third is answered.
  harness.clock().advance(51min);
  ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == 3 && idle(); }));
  EXPECT_NE(llm_messages(llm_calls() - 1).dump().find("pergunta 3"), std::string::npos);
}

TEST_F(Guardrails, ALongMessageIsCutForThePromptWithANote) {
  tenant.contact_limits.max_message_chars = 40;
  start();
  const std::string long_text = "Olá! " + std::string(60, 'a') + " ção " + std::string(100, 'b');
  ASSERT_EQ(say(kAna, long_text), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == 1 && idle(); }));
  const std::string asked = llm_messages(0).dump();
  EXPECT_EQ(asked.find(std::string(60, 'a')), std::string::npos) << asked;
  EXPECT_NE(asked.find("Olá! " + std::string(35, 'a') + " [… the message was cut here: it had 170 characters]"),
            std::string::npos)
      << asked;
  // The history keeps it whole.
  EXPECT_EQ(db.scalar("SELECT body FROM recado.messages WHERE direction = 'in'"), long_text);
}

TEST_F(Guardrails, TheReplyCacheAnswersARepeatedQuestionWithoutTheLlm) {
  tenant.llm.reply_cache_ttl = 1h;
  start();
  ASSERT_EQ(say(kAna, "Qual é o endereço da clínica?"), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == 1 && idle(); }));
  ASSERT_EQ(llm_calls(), 1u);
  // Bia asks the same, written differently: the cached answer, no LLM call.
  ASSERT_EQ(say(kBia, "  qual é o ENDEREÇO da clínica "), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kBia).size() == 1 && idle(); }));
  EXPECT_EQ(llm_calls(), 1u);
  EXPECT_EQ(sent_texts(kBia), sent_texts(kAna));
  EXPECT_EQ(db.scalar("SELECT origin FROM recado.messages WHERE direction = 'out' AND contact = '" + std::string(kBia) + "'"),
            "cache");
  EXPECT_EQ(db.count("SELECT hits FROM recado.reply_cache"), 1);
  // A different question is asked of the LLM.
  ASSERT_EQ(say(kBia, "E vocês abrem sábado?"), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kBia).size() == 2 && idle(); }));
  EXPECT_EQ(llm_calls(), 2u);
  // After the TTL the answer is asked for again.
  harness.clock().advance(61min);
  ASSERT_EQ(say(kAna, "qual é o endereço da clínica"), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == 2 && idle(); }));
  EXPECT_EQ(llm_calls(), 3u);
  EXPECT_NE(metrics().find("recado_llm_reply_cache_total{tenant=\"clinic\",result=\"hit\"} 1"), std::string::npos);
}

}  // namespace
}  // namespace recado
