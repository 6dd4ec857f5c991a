// The secretary end to end: webhooks into the real ingress, the four job kinds in a real
// worker, the providers played by the simulator, and the worker's clock moved forward for
// what is hours away. Each test reads the outcome where it lands: the simulator's record of
// the LLM calls and WhatsApp sends, and the tables.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "jobs/registry.hpp"
#include "src/conversation_store.hpp"
#include "src/message_store.hpp"
#include "src/periodic.hpp"
#include "src/sim_thread.hpp"
#include "src/sim_webhooks.hpp"
#include "src/time_format.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/ingress_harness.hpp"
#include "tests/support/pg_harness.hpp"
#include "tests/support/secretary_fixture.hpp"
#include "tests/support/worker_harness.hpp"

namespace recado {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using test::Secretary;
using test::SecretaryBookings;
using test::jid;
using test::kAna;
using test::kBia;
using test::kTenant;

TEST_F(Secretary, AThreeMessageBurstGetsExactlyOneReply) {
  start();
  ASSERT_EQ(say(kAna, "Oi"), 200);
  ASSERT_EQ(say(kAna, "tudo bem?"), 200);
  ASSERT_EQ(say(kAna, "queria saber o preço da limpeza"), 200);
  ASSERT_TRUE(until([&] { return sent_texts().size() == 1 && idle(); })) << sent_texts().size();
  ASSERT_EQ(llm_calls(), 1u);
  // The one call saw all three, as the user's turn.
  const json messages = llm_messages(0);
  const std::string asked = messages.dump();
  EXPECT_NE(asked.find("tudo bem?"), std::string::npos) << asked;
  EXPECT_NE(asked.find("preço da limpeza"), std::string::npos) << asked;
  EXPECT_EQ(messages.front()["role"], "system");
  // History: three in, one out, sent under the gateway's id.
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.messages WHERE direction = 'in'"), 3);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.messages WHERE direction = 'out' AND status = 'sent' "
                     "AND provider_id IS NOT NULL AND origin = 'llm_reply'"), 1);
  EXPECT_EQ(db.scalar("SELECT result ->> 'model' FROM recado.jobs_finished WHERE kind = 'llm_reply'"), "gpt-sim");
  EXPECT_GT(db.count("SELECT (result ->> 'input_tokens')::int FROM recado.jobs_finished WHERE kind = 'llm_reply'"), 0);
  EXPECT_EQ(db.count("SELECT replied_through FROM recado.conversations"),
            db.count("SELECT max(id) FROM recado.messages WHERE direction = 'in'"));
}

TEST_F(Secretary, ADuplicateWebhookNeverMakesASecondReply) {
  start();
  ASSERT_EQ(say(kAna, "Oi, bom dia", "DUP1"), 200);
  ASSERT_EQ(say(kAna, "Oi, bom dia", "DUP1"), 200);  // the gateway delivered it twice
  ASSERT_TRUE(until([&] { return sent_texts().size() == 1 && idle(); }));
  ASSERT_EQ(say(kAna, "Oi, bom dia", "DUP1"), 200);  // and once more, after the reply
  ASSERT_TRUE(until([&] { return idle(); }));
  EXPECT_EQ(llm_calls(), 1u);
  EXPECT_EQ(sent_texts().size(), 1u);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.messages WHERE direction = 'in'"), 1);
}

TEST_F(Secretary, TwoConversationsRunTogetherWhileEachStaysInOrder) {
  start();
  // Every LLM answer takes 400 ms: two conversations overlap, one conversation cannot.
  ASSERT_EQ(http.request("PUT", sim.url("/_sim/faults/openai"), R"({"fault":"none","latency_ms":400})").status, 200);
  ASSERT_EQ(say(kAna, "primeira da Ana"), 200);
  ASSERT_EQ(say(kBia, "primeira da Bia"), 200);
  // Ana's second message comes while her first reply is being written.
  ASSERT_TRUE(until([&] { return llm_calls() >= 1; }));
  ASSERT_EQ(say(kAna, "segunda da Ana"), 200);
  ASSERT_TRUE(until([&] { return sent_texts().size() == 3 && idle(); }));
  const json calls = requests("openai");
  ASSERT_EQ(calls.size(), 3u);
  // Ana's and Bia's first calls were both under way at once.
  EXPECT_LT(std::abs(calls[0]["at_ms"].get<int64_t>() - calls[1]["at_ms"].get<int64_t>()), 400);
  // Ana's second call came after her first answer and carries it as the assistant's turn.
  const json second = json::parse(calls[2]["body"].get<std::string>())["messages"];
  EXPECT_NE(second.dump().find("segunda da Ana"), std::string::npos);
  EXPECT_NE(second.dump().find("primeira da Ana"), std::string::npos);
  EXPECT_EQ(second.dump().find("Bia"), std::string::npos) << "conversations do not mix";
  bool has_assistant = false;
  for (const auto& m : second) has_assistant = has_assistant || m["role"] == "assistant";
  EXPECT_TRUE(has_assistant) << second.dump();
  EXPECT_EQ(sent_texts(kAna).size(), 2u);
  EXPECT_EQ(sent_texts(kBia).size(), 1u);
  // Ana's history alternates in, out, in, out.
  EXPECT_EQ(db.scalar("SELECT string_agg(direction, ',' ORDER BY id) FROM recado.messages WHERE contact = '" +
                      std::string(kAna) + "'"),
            "in,out,in,out");
}

TEST_F(Secretary, AHandedOffConversationGetsNoBotReplyUntilGivenBack) {
  start();
  ChatwootWebhookSpec open;
  open.phone = kAna;
  WebhookCredentials chatwoot;
  chatwoot.secret = test::kChatwootSecret;
  ASSERT_EQ(post("chatwoot", build_chatwoot_webhook(open, chatwoot, harness.clock().now())), 200);
  ASSERT_EQ(say(kAna, "preciso falar com alguém"), 200);
  ASSERT_TRUE(until([&] { return idle() && db.count("SELECT count(*) FROM recado.jobs_finished WHERE kind = 'llm_reply'") == 1; }));
  EXPECT_EQ(llm_calls(), 0u);
  EXPECT_EQ(sent_texts().size(), 0u);
  EXPECT_EQ(skipped_reasons(), "a human has this conversation");
  // The agent resolves it: the bot answers the next message.
  ChatwootWebhookSpec resolved = open;
  resolved.status = "resolved";
  ASSERT_EQ(post("chatwoot", build_chatwoot_webhook(resolved, chatwoot, harness.clock().now())), 200);
  ASSERT_EQ(say(kAna, "obrigada!"), 200);
  ASSERT_TRUE(until([&] { return sent_texts().size() == 1 && idle(); }));
  EXPECT_EQ(llm_calls(), 1u);
}

TEST_F(Secretary, APausedTenantSendsNothingAndResumesCleanly) {
  start();
  {
    pqxx::connection c(db.url());
    conversation_store::pause(c, kTenant, "bot misbehaving");
  }
  ASSERT_EQ(say(kAna, "alguém aí?"), 200);
  ASSERT_TRUE(until([&] { return idle() && db.count("SELECT count(*) FROM recado.jobs_finished WHERE kind = 'llm_reply'") == 1; }));
  EXPECT_EQ(llm_calls(), 0u);
  EXPECT_EQ(sent_texts().size(), 0u);
  EXPECT_EQ(skipped_reasons(), "paused (clinic)");
  {
    pqxx::connection c(db.url());
    ASSERT_TRUE(conversation_store::resume(c, kTenant));
  }
  ASSERT_EQ(say(kAna, "oi de novo"), 200);
  ASSERT_TRUE(until([&] { return sent_texts().size() == 1 && idle(); }));
  ASSERT_EQ(llm_calls(), 1u);
  // The one reply after the pause answers what came during it too.
  const std::string asked = llm_messages(0).dump();
  EXPECT_NE(asked.find("alguém aí?"), std::string::npos) << asked;
  EXPECT_NE(asked.find("oi de novo"), std::string::npos) << asked;
}

TEST_F(Secretary, TheLlmFailingSendsTheFallbackOnceThenTheRealReply) {
  start();
  // insufficient_quota: no retry will help.
  ASSERT_EQ(http.request("PUT", sim.url("/_sim/faults/openai"), R"({"fault":"quota"})").status, 200);
  ASSERT_EQ(say(kAna, "oi"), 200);
  ASSERT_TRUE(until([&] { return sent_texts().size() == 1 && idle(); }));
  EXPECT_EQ(sent_texts()[0], tenant.llm.fallback_message);
  ASSERT_EQ(say(kAna, "oi??"), 200);
  ASSERT_TRUE(until([&] { return llm_calls() == 2 && idle(); }));
  EXPECT_EQ(sent_texts().size(), 1u) << "the fallback goes once, not for every message";
  // The provider is back: one real reply to everything.
  ASSERT_EQ(http.request("PUT", sim.url("/_sim/faults/openai"), R"({"fault":"none"})").status, 200);
  ASSERT_EQ(say(kAna, "e agora?"), 200);
  ASSERT_TRUE(until([&] { return sent_texts().size() == 2 && idle(); }));
  EXPECT_NE(sent_texts()[1], tenant.llm.fallback_message);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.messages WHERE origin = 'fallback'"), 1);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs_finished WHERE kind = 'llm_reply' AND state = 'discarded'"), 2);
}

TEST_F(Secretary, DeliveryStatusesOnlyMoveForward) {
  start();
  ASSERT_EQ(say(kAna, "Oi"), 200);
  ASSERT_TRUE(until([&] { return sent_texts().size() == 1 && idle(); }));
  const std::string wamid = db.scalar("SELECT provider_id FROM recado.messages WHERE direction = 'out'");
  ASSERT_FALSE(wamid.empty());
  auto status = [&](const std::string& word) {
    ChatWebhookSpec spec;
    spec.from = kAna;
    spec.id = wamid;
    spec.status = word;
    spec.from_me = true;
    spec.instance = "clinic1";
    WebhookCredentials evo;
    evo.token = test::kEvolutionToken;
    return post("evolution", build_evolution_webhook(spec, evo, harness.clock().now()));
  };
  auto current = [&] { return db.scalar("SELECT status FROM recado.messages WHERE direction = 'out'"); };
  ASSERT_EQ(status("DELIVERY_ACK"), 200);
  EXPECT_EQ(current(), "delivered");
  ASSERT_EQ(status("SERVER_ACK"), 200);  // late and out of order: ignored
  EXPECT_EQ(current(), "delivered");
  ASSERT_EQ(status("READ"), 200);
  EXPECT_EQ(current(), "read");
}

TEST_F(Secretary, ASendWhoseAnswerWasLostIsRetriedAndCountedAsAPossibleDuplicate) {
  start_with([](WorkerConfig& c) { c.http.timeout = 300ms; });
  // The gateway takes the first send and never answers.
  ASSERT_EQ(http.request("PUT", sim.url("/_sim/faults/evolution"), R"({"fault":"hang","count":1})").status, 200);
  ASSERT_EQ(say(kAna, "Oi"), 200);
  ASSERT_TRUE(until([&] { return db.scalar("SELECT status FROM recado.messages WHERE direction = 'out'") == "sent" && idle(); }));
  EXPECT_EQ(requests("evolution").size(), 2u);
  EXPECT_EQ(db.scalar("SELECT outcome_unknown FROM recado.messages WHERE direction = 'out'"), "t");
  EXPECT_EQ(test::metric_value(harness.metrics().render(),
                               "recado_sends_possible_duplicates_total{tenant=\"clinic\"}"), 1.0);
  EXPECT_EQ(db.count("SELECT attempt FROM recado.jobs_finished WHERE kind = 'whatsapp_send'"), 2);
}

TEST_F(Secretary, ASendRecordedBeforeItsJobCompletedIsNeverSentAgain) {
  start();
  // What a worker that died between the send's record and its job's completion leaves: the
  // message sent, its job back in the queue.
  pqxx::connection c(db.url());
  {
    pqxx::work tx(c);
    const int64_t id = message_store::queue_outbound(tx, {kTenant, kAna, "evolution", "llm_reply", "Olá"});
    message_store::record_sent(tx, id, "3EB0SENT", harness.clock().now());
    tx.commit();
  }
  ASSERT_TRUE(until([&] { return idle(); }));
  EXPECT_EQ(requests("evolution").size(), 0u);
  EXPECT_EQ(db.scalar("SELECT result ->> 'skipped' FROM recado.jobs_finished WHERE kind = 'whatsapp_send'"), "already sent");
}

TEST_F(Secretary, AQuietContactIsNudgedOnceAfterTheRuleSilence) {
  tenant.followups.push_back({"nudge", FollowupWhen::quiet, 4h, "Ainda posso ajudar, {name}?", false, ""});
  start();
  ASSERT_EQ(say(kAna, "quanto custa?"), 200);
  ASSERT_TRUE(until([&] { return sent_texts().size() == 1 && idle(); }));
  EXPECT_EQ(db.scalar("SELECT state FROM recado.followups WHERE subject = 'contact:" + std::string(kAna) + "'"), "planned");
  harness.clock().advance(4h + 1s);
  ASSERT_TRUE(until([&] { return sent_texts().size() == 2 && idle("'followup','whatsapp_send'"); }));
  EXPECT_EQ(sent_texts()[1], "Ainda posso ajudar, Ana?");
  EXPECT_EQ(db.scalar("SELECT origin FROM recado.messages WHERE direction = 'out' ORDER BY id DESC LIMIT 1"), "nudge:nudge");
}

TEST_F(Secretary, CloudApiOutsideTheWindowSendsTheTemplateOrNothing) {
  tenant.gateway.provider = "cloudapi";
  tenant.gateway.phone_number_id = "100000000000001";
  tenant.gateway.token.value = "EAAG-test";
  tenant.gateway.template_name = "lembrete";
  start();
  pqxx::connection c(db.url());
  {  // A reminder to a contact who never wrote: outside the 24-hour window.
    pqxx::work tx(c);
    message_store::queue_outbound(tx, {kTenant, kBia, "cloudapi", "followup:reminder_24h", "Lembrete da consulta"});
    tx.commit();
  }
  ASSERT_TRUE(until([&] { return requests("cloudapi").size() == 1 && idle(); }));
  const json body = json::parse(requests("cloudapi")[0]["body"].get<std::string>());
  EXPECT_EQ(body["type"], "template") << body.dump();
  EXPECT_EQ(body["template"]["name"], "lembrete");
  EXPECT_EQ(db.scalar("SELECT status FROM recado.messages"), "sent");
}

TEST_F(Secretary, TheModelIsOfferedTheBookingToolsAndTheLocalTime) {
  start();
  ASSERT_EQ(say(kAna, "Oi, tudo bem?"), 200);
  ASSERT_TRUE(until([&] { return sent_texts().size() == 1 && idle(); }));
  const json body = json::parse(requests("openai").at(0)["body"].get<std::string>());
  std::vector<std::string> tools;
  for (const auto& t : body["tools"]) tools.push_back(t["function"]["name"]);
  EXPECT_EQ(tools, (std::vector<std::string>{"find_slots", "book_slot", "cancel_booking", "reschedule_booking"}));
  const std::string system = body["messages"].front()["content"];
  EXPECT_NE(system.find("local time " + format_local_minute(harness.clock().now(), "America/Sao_Paulo").substr(0, 13)),
            std::string::npos)
      << system;
  // Nothing asked Cal.com: the model looks up free times when it needs them.
  EXPECT_EQ(requests("calcom_slots").size(), 0u);
}

TEST_F(SecretaryBookings, ABookingSchedulesRemindersAtTheirInstantsAndACancellationRemovesThem) {
  start();
  const Timestamp start_at = std::chrono::floor<std::chrono::seconds>(harness.clock().now()) + 48h;
  ASSERT_EQ(booking_event("BOOKING_CREATED", "bk-1", start_at), 200);
  ASSERT_TRUE(until([&] { return planned("bk-1") == 2 && idle(); }));
  EXPECT_EQ(run_at_of("bk-1", "reminder_24h"), epoch_micros(start_at - 24h));
  EXPECT_EQ(run_at_of("bk-1", "reminder_2h"), epoch_micros(start_at - 2h));
  EXPECT_EQ(db.scalar("SELECT status || ' ' || contact FROM recado.bookings WHERE uid = 'bk-1'"),
            std::string("accepted ") + kAna);
  // The same webhook again plans nothing new.
  ASSERT_EQ(booking_event("BOOKING_CREATED", "bk-1", start_at), 200);
  ASSERT_TRUE(until([&] { return idle(); }));
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs WHERE queue = 'followup'"), 2);

  // A second before the first reminder nothing goes; at its instant it does.
  harness.clock().advance(std::chrono::duration_cast<Duration>(start_at - 24h - harness.clock().now()) - 1s);
  one_followup_claim();
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs WHERE queue = 'followup' AND state = 'available'"), 2);
  EXPECT_TRUE(sent_texts().empty());
  harness.clock().advance(1s);
  ASSERT_TRUE(until([&] { return sent_texts().size() == 1; }));
  EXPECT_NE(sent_texts()[0].find("Oi Ana, lembrete: Consulta"), std::string::npos) << sent_texts()[0];
  EXPECT_EQ(db.scalar("SELECT state FROM recado.followups WHERE rule = 'reminder_24h'"), "sent");

  // Cancelled: the 2 h reminder goes away with its job, and never fires.
  ASSERT_EQ(booking_event("BOOKING_CANCELLED", "bk-1", start_at), 200);
  ASSERT_TRUE(until([&] { return planned("bk-1") == 0 && idle(); }));
  EXPECT_EQ(db.scalar("SELECT state FROM recado.followups WHERE rule = 'reminder_2h'"), "cancelled");
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs WHERE queue = 'followup'"), 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs_finished WHERE kind = 'followup' AND state = 'cancelled'"), 1);
  harness.clock().advance(23h);
  one_followup_claim();
  ASSERT_TRUE(until([&] { return idle("'followup','whatsapp_send'"); }));
  EXPECT_EQ(sent_texts().size(), 1u);
}

TEST_F(SecretaryBookings, AFollowUpTheRuleAsksTheLlmToWriteIsWrittenByIt) {
  tenant.followups = {{"thanks", FollowupWhen::after_end, 1h, "Obrigado pela visita, {name}!", true,
                       "Agradeça a visita e pergunte como a pessoa está."}};
  start();
  const Timestamp start_at = std::chrono::floor<std::chrono::seconds>(harness.clock().now()) + 3h;
  ASSERT_EQ(booking_event("BOOKING_CREATED", "bk-llm", start_at), 200);
  ASSERT_TRUE(until([&] { return planned("bk-llm") == 1 && idle(); }));
  EXPECT_EQ(run_at_of("bk-llm", "thanks"), epoch_micros(start_at + 30min + 1h));
  harness.clock().advance(std::chrono::duration_cast<Duration>(start_at + 30min + 1h - harness.clock().now()));
  ASSERT_TRUE(until([&] { return sent_texts().size() == 1; }));
  ASSERT_EQ(llm_calls(), 1u);
  const std::string system = llm_messages(0).front()["content"];
  EXPECT_NE(system.find("Agradeça a visita"), std::string::npos) << system;
  EXPECT_NE(sent_texts()[0], "Obrigado pela visita, Ana!") << "the model wrote it, not the template";
  EXPECT_FALSE(sent_texts()[0].empty());
}

TEST_F(SecretaryBookings, ARescheduleMovesTheReminders) {
  start();
  const Timestamp first = std::chrono::floor<std::chrono::seconds>(harness.clock().now()) + 48h;
  ASSERT_EQ(booking_event("BOOKING_CREATED", "bk-old", first), 200);
  ASSERT_TRUE(until([&] { return planned("bk-old") == 2 && idle(); }));
  const Timestamp later = first + 72h;
  ASSERT_EQ(booking_event("BOOKING_RESCHEDULED", "bk-new", later, "bk-old"), 200);
  ASSERT_TRUE(until([&] { return planned("bk-new") == 2 && idle(); }));
  EXPECT_EQ(planned("bk-old"), 0);
  EXPECT_EQ(db.scalar("SELECT status FROM recado.bookings WHERE uid = 'bk-old'"), "rescheduled");
  EXPECT_EQ(run_at_of("bk-new", "reminder_24h"), epoch_micros(later - 24h));
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs WHERE queue = 'followup'"), 2);
}

TEST_F(SecretaryBookings, AMissedWebhookIsRecoveredByThePeriodicSync) {
  tenant.calcom.sync = "* * * * *";
  tenant.calcom.sync_schedule = std::get<CronSchedule>(parse_cron("* * * * *", "America/Sao_Paulo"));
  Config config;
  config.tenants = {tenant};
  start(periodic_jobs(config));
  // The first sync (the current minute's slot) finds nothing.
  ASSERT_TRUE(until([&] { return db.count("SELECT count(*) FROM recado.jobs_finished WHERE kind = 'calcom_sync'") == 1; }));
  // A booking made on Cal.com whose webhook never came.
  // The simulator books weekdays, 09:00 to 16:30 UTC: 10:00 on a weekday three or more days on.
  auto day = std::chrono::floor<std::chrono::days>(harness.clock().now()) + std::chrono::days{3};
  while (std::chrono::weekday(std::chrono::sys_days(day)).c_encoding() % 6 == 0) day += std::chrono::days{1};
  const Timestamp start_at = std::chrono::time_point_cast<Duration>(day) + 10h;
  const json booking = {{"start", format_rfc3339(start_at)},
                        {"eventTypeId", 1},
                        {"attendee", {{"name", "Bia"}, {"email", "bia@example.com"}, {"timeZone", "America/Sao_Paulo"},
                                      {"phoneNumber", std::string("+") + kBia}}}};
  const auto made = http.post(sim.url("/v2/bookings"), booking.dump(),
                              {{"authorization", "Bearer cal_test"}, {"cal-api-version", "2024-08-13"},
                               {"content-type", "application/json"}});
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string uid = json::parse(made.body)["data"]["uid"];
  // The next minute's sync finds it and plans its reminders.
  harness.clock().advance(60s);
  ASSERT_TRUE(until([&] { return planned(uid) == 2; })) << db.scalar("SELECT count(*) FROM recado.bookings");
  EXPECT_EQ(db.scalar("SELECT source || ' ' || contact FROM recado.bookings WHERE uid = '" + uid + "'"),
            std::string("sync ") + kBia);
  EXPECT_EQ(run_at_of(uid, "reminder_2h"), epoch_micros(start_at - 2h));
}

}  // namespace
}  // namespace recado
