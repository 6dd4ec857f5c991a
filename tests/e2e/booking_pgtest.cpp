// Booking through the conversation, end to end: a contact asks on WhatsApp, the model (the
// simulator's secretary, or a scripted one) calls recado's tools, recado calls Cal.com (the
// simulator's, which keeps state), stores what changed as a webhook would, and confirms it to
// the contact in the tenant's language and time zone. The worker's clock is set to a Monday
// 08:00 in São Paulo, so "amanhã" is a Tuesday the simulated calendar has free.
#include <date/date.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "src/time_format.hpp"
#include "tests/support/secretary_fixture.hpp"

namespace recado {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using test::kAna;
using test::kBia;

constexpr const char* kZone = "America/Sao_Paulo";

class Booking : public test::SecretaryBookings {
 protected:
  std::string tuesday;  // YYYY-MM-DD, "amanhã"

  // The next Monday at least a day away, 07:00 local: the worker's and the simulator's now.
  void to_monday_morning() {
    const Timestamp now = harness.clock().now();
    for (int d = 1; d <= 8; ++d) {
      const std::string day = format_local_date(now + d * 24h, kZone);
      const auto ymd = date::year_month_day{date::sys_days{date::floor<date::days>(*parse_local_date(day, "UTC"))}};
      if (date::weekday{date::sys_days{ymd}} != date::Monday) continue;
      const Timestamp monday = *parse_local_minute(day + "T07:00", kZone);
      harness.clock().advance(monday - now);
      tuesday = format_local_date(monday + 24h, kZone);
      return;
    }
    FAIL() << "no Monday in the next 8 days";
  }
  Timestamp tuesday_at(const std::string& hhmm) { return *parse_local_minute(tuesday + "T" + hhmm, kZone); }

  json sim_bookings() {
    const auto r = http.request("GET", sim.url("/v2/bookings?status=upcoming,cancelled,past&take=250"), "",
                                {{"authorization", "Bearer cal_test"}, {"cal-api-version", "2024-08-13"}});
    return json::parse(r.body)["data"];
  }
  std::string last_sent() {
    const auto texts = sent_texts(kAna);
    return texts.empty() ? std::string() : texts.back();
  }
  // The contents of the tool results the model was sent in LLM call `call`.
  std::string tool_results_in(size_t call) {
    std::string out;
    for (const auto& m : llm_messages(call))
      if (m.value("role", "") == "tool") out += m["content"].get<std::string>() + "\n";
    return out;
  }
  void script(const json& turns) {
    ASSERT_EQ(http.post(sim.url("/_sim/llm/script"), json{{"turns", turns}}.dump()).status, 200);
  }

  // "quero marcar amanhã de manhã" → free times offered → "8h" → booked and confirmed.
  void book_tuesday_eight() {
    ASSERT_EQ(say(kAna, "Oi, quero marcar uma consulta amanhã de manhã"), 200);
    ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == 1 && idle(); })) << sent_texts(kAna).size();
    ASSERT_NE(last_sent().find("08:00"), std::string::npos) << last_sent();
    ASSERT_EQ(say(kAna, "8h"), 200);
    ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == 2 && idle(); })) << sent_texts(kAna).size();
  }
  std::string booking_uid() { return db.scalar("SELECT uid FROM recado.bookings WHERE status = 'accepted' ORDER BY start_at LIMIT 1"); }
};

TEST_F(Booking, AContactBooksTomorrowMorningInTheConversation) {
  to_monday_morning();
  start();
  ASSERT_EQ(say(kAna, "Oi, quero marcar uma consulta amanhã de manhã"), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == 1 && idle(); }));
  // The model asked for free times; recado asked Cal.com for that morning, in the tenant's zone.
  const json slots = requests("calcom_slots");
  ASSERT_EQ(slots.size(), 1u);
  EXPECT_NE(slots[0]["query"].get<std::string>().find("timeZone=America%2FSao_Paulo"), std::string::npos)
      << slots[0].dump();
  const std::string offer = last_sent();
  EXPECT_NE(offer.find("terça-feira"), std::string::npos) << offer;
  EXPECT_NE(offer.find("08:00"), std::string::npos) << offer;
  EXPECT_EQ(offer.find("13:00"), std::string::npos) << "afternoon times are not offered for a morning: " << offer;
  EXPECT_NE(tool_results_in(1).find("\"slots\""), std::string::npos);

  ASSERT_EQ(say(kAna, "8h"), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == 2 && idle(); }));
  // Cal.com has the booking, with Ana's name and phone.
  const json booked = sim_bookings();
  ASSERT_EQ(booked.size(), 1u) << booked.dump();
  EXPECT_EQ(parse_rfc3339(booked[0]["start"].get<std::string>()), tuesday_at("08:00"));
  EXPECT_EQ(booked[0]["attendees"][0]["name"], "Ana");
  EXPECT_EQ(booked[0]["attendees"][0]["phoneNumber"], std::string("+") + kAna);
  // recado stored it for Ana and confirmed it in Portuguese, in São Paulo's time.
  EXPECT_EQ(db.scalar("SELECT contact || ' ' || status FROM recado.bookings"), std::string(kAna) + " accepted");
  EXPECT_EQ(last_sent(), "Pronto! Sua consulta está marcada para terça-feira, " +
                             db.scalar("SELECT to_char(start_at AT TIME ZONE 'America/Sao_Paulo', 'DD/MM/YYYY') FROM recado.bookings") +
                             " às 08:00.");
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.messages WHERE origin = 'booking'"), 1);
  // Its reminders are planned exactly as a webhook would plan them.
  const std::string uid = booking_uid();
  EXPECT_EQ(planned(uid), 2);
  EXPECT_EQ(db.scalar("SELECT string_agg(rule || '@' || to_char(due_at AT TIME ZONE 'America/Sao_Paulo', 'Dy HH24:MI'), ' ' "
                      "ORDER BY due_at) FROM recado.followups WHERE subject = 'booking:" + uid + "'"),
            "reminder_24h@Mon 08:00 reminder_2h@Tue 06:00");
  const std::string jobs_before = db.scalar("SELECT string_agg(job_id::text, ',' ORDER BY rule) FROM recado.followups");
  // Cal.com's webhook for the same booking arrives later: nothing changes.
  ASSERT_EQ(booking_event("BOOKING_CREATED", uid, tuesday_at("08:00")), 200);
  ASSERT_TRUE(until([&] { return idle() && db.count("SELECT count(*) FROM recado.jobs_finished WHERE kind = 'calcom_sync'") == 1; }));
  EXPECT_EQ(planned(uid), 2);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.followups"), 2);
  EXPECT_EQ(db.scalar("SELECT string_agg(job_id::text, ',' ORDER BY rule) FROM recado.followups"), jobs_before);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs WHERE queue = 'followup'"), 2);
  EXPECT_EQ(sent_texts(kAna).size(), 2u);
}

TEST_F(Booking, ASlotTakenMeanwhileIsExplainedAndOthersAreOffered) {
  to_monday_morning();
  start();
  ASSERT_EQ(say(kAna, "Oi, quero marcar uma consulta amanhã de manhã"), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == 1 && idle(); }));
  ASSERT_NE(last_sent().find("08:00"), std::string::npos) << last_sent();
  // Someone else books Tuesday 08:00 on the clinic's booking page meanwhile.
  const json other = {{"start", format_rfc3339(tuesday_at("08:00"))},
                      {"eventTypeId", 1},
                      {"attendee", {{"name", "Outra Pessoa"}, {"email", "outra@example.com"}, {"timeZone", kZone}}}};
  ASSERT_EQ(http.post(sim.url("/v2/bookings"), other.dump(),
                      {{"authorization", "Bearer cal_test"}, {"cal-api-version", "2024-08-13"}})
                .status,
            201);
  ASSERT_EQ(say(kAna, "8h"), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == 2 && idle(); }));
  // The model was told the time was taken, with other free times; it said so to Ana.
  const std::string told = tool_results_in(llm_calls() - 1);
  EXPECT_NE(told.find("slot_taken"), std::string::npos) << told;
  EXPECT_NE(told.find("08:30"), std::string::npos) << told;
  EXPECT_NE(last_sent().find("ocupado"), std::string::npos) << last_sent();
  EXPECT_NE(last_sent().find("08:30"), std::string::npos) << last_sent();
  // Nothing was booked for Ana, and no reminder planned.
  EXPECT_EQ(sim_bookings().size(), 1u);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.bookings"), 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.followups"), 0);
}

TEST_F(Booking, ACancellationByMessageCancelsTheBookingAndItsReminders) {
  to_monday_morning();
  start();
  book_tuesday_eight();
  const std::string uid = booking_uid();
  ASSERT_EQ(planned(uid), 2);
  ASSERT_EQ(say(kAna, "Surgiu um imprevisto, quero cancelar minha consulta"), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == 3 && idle(); }));
  EXPECT_NE(last_sent().find("foi cancelada"), std::string::npos) << last_sent();
  EXPECT_NE(last_sent().find("08:00"), std::string::npos) << last_sent();
  EXPECT_EQ(db.scalar("SELECT status FROM recado.bookings WHERE uid = '" + uid + "'"), "cancelled");
  EXPECT_EQ(planned(uid), 0);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs WHERE queue = 'followup'"), 0);
  const json at_calcom = sim_bookings();
  ASSERT_EQ(at_calcom.size(), 1u);
  EXPECT_EQ(at_calcom[0]["status"], "cancelled");
}

TEST_F(Booking, ABookingEndsTheQuietNudgeAndACancellationBringsItBack) {
  tenant.followups.push_back({"nudge", FollowupWhen::quiet, 4h, "Ainda posso ajudar a marcar?", false, ""});
  to_monday_morning();
  start();
  auto nudge = [&] {
    return db.scalar("SELECT coalesce(string_agg(state, ','), '') FROM recado.followups WHERE rule = 'nudge'");
  };
  ASSERT_EQ(say(kAna, "Oi, quero marcar uma consulta amanhã de manhã"), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == 1 && idle(); }));
  EXPECT_EQ(nudge(), "planned");  // the offer may go unanswered
  ASSERT_EQ(say(kAna, "8h"), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == 2 && idle(); }));
  EXPECT_EQ(nudge(), "cancelled");  // booked: nothing to nudge about
  EXPECT_EQ(planned(booking_uid()), 2);
  ASSERT_EQ(say(kAna, "quero cancelar"), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == 3 && idle(); }));
  EXPECT_EQ(nudge(), "planned");  // cancelled: she may want another time
}

TEST_F(Booking, ARescheduleByMessageMovesTheBookingAndItsReminders) {
  to_monday_morning();
  start();
  book_tuesday_eight();
  const std::string old_uid = booking_uid();
  ASSERT_EQ(say(kAna, "Preciso remarcar, pode ser amanhã de manhã mais tarde?"), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == 3 && idle(); }));
  ASSERT_NE(last_sent().find("09:00"), std::string::npos) << last_sent();
  EXPECT_EQ(last_sent().find("08:00"), std::string::npos) << "Ana's own time is not free: " << last_sent();
  ASSERT_EQ(say(kAna, "9h"), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == 4 && idle(); }));
  EXPECT_NE(last_sent().find("remarcada"), std::string::npos) << last_sent();
  EXPECT_NE(last_sent().find("09:00"), std::string::npos) << last_sent();
  const std::string new_uid = booking_uid();
  ASSERT_NE(new_uid, old_uid);
  EXPECT_EQ(db.scalar("SELECT status FROM recado.bookings WHERE uid = '" + old_uid + "'"), "rescheduled");
  EXPECT_EQ(planned(old_uid), 0);
  EXPECT_EQ(planned(new_uid), 2);
  EXPECT_EQ(db.scalar("SELECT to_char(min(due_at) AT TIME ZONE 'America/Sao_Paulo', 'Dy HH24:MI') FROM recado.followups "
                      "WHERE subject = 'booking:" + new_uid + "' AND state = 'planned'"),
            "Mon 09:00");
}

// The same conversation through Anthropic's and Gemini's wire formats (tool_use blocks,
// function calls): one tool interface, three encodings.
class BookingEveryApi : public Booking, public ::testing::WithParamInterface<std::string> {};

TEST_P(BookingEveryApi, AContactBooksTomorrowMorning) {
  const std::string provider = GetParam();
  tenant.llm.provider = provider;
  tenant.llm.model = provider == "gemini" ? "gemini-2.0-flash" : "claude-sim";
  to_monday_morning();
  start();
  book_tuesday_eight();
  EXPECT_NE(last_sent().find("Pronto! Sua consulta está marcada para terça-feira"), std::string::npos) << last_sent();
  // The model asked for slots, wrote the offer, asked to book; recado confirmed.
  EXPECT_EQ(requests(provider).size(), 3u);
  EXPECT_EQ(llm_calls(), 0u);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.bookings WHERE status = 'accepted'"), 1);
  EXPECT_EQ(sim_bookings().size(), 1u);
  // The second call carried the tool round in the API's own shape.
  const std::string second = requests(provider).at(1)["body"].get<std::string>();
  EXPECT_NE(second.find(provider == "gemini" ? "functionResponse" : "tool_result"), std::string::npos) << second;
}

INSTANTIATE_TEST_SUITE_P(Apis, BookingEveryApi, ::testing::Values("anthropic", "gemini"));

TEST_F(Booking, TheToolLoopIsBoundedAndTheLastCallMustAnswer) {
  tenant.llm.max_tool_rounds = 2;
  start();
  script(json::array({{{"tool_calls", {{{"name", "find_slots"}, {"arguments", json::object()}}}}},
                      {{"tool_calls", {{{"name", "find_slots"}, {"arguments", {{"days", 2}}}}}}},
                      {{"text", "Posso ajudar em algo mais?"}}}));
  ASSERT_EQ(say(kAna, "Oi"), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == 1 && idle(); }));
  ASSERT_EQ(llm_calls(), 3u);
  const json calls = requests("openai");
  for (size_t i = 0; i < 2; ++i)
    EXPECT_TRUE(json::parse(calls[i]["body"].get<std::string>()).contains("tools")) << i;
  EXPECT_FALSE(json::parse(calls[2]["body"].get<std::string>()).contains("tools"));
  EXPECT_EQ(last_sent(), "Posso ajudar em algo mais?");
  EXPECT_EQ(db.scalar("SELECT result -> 'tools' FROM recado.jobs_finished WHERE kind = 'llm_reply'"),
            R"([{"name": "find_slots"}, {"name": "find_slots"}])");
}

TEST_F(Booking, TheToolLoopIsBoundedInTimeToo) {
  tenant.llm.tool_time_limit = 200ms;
  start();
  // Cal.com is slow: after the first tool round the time is up.
  ASSERT_EQ(http.request("PUT", sim.url("/_sim/faults/calcom_slots"), R"({"fault":"none","latency_ms":300})").status, 200);
  script(json::array({{{"tool_calls", {{{"name", "find_slots"}, {"arguments", json::object()}}}}},
                      {{"text", "Vou confirmar os horários e já te digo."}}}));
  ASSERT_EQ(say(kAna, "tem horário?"), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == 1 && idle(); }));
  const json calls = requests("openai");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_TRUE(json::parse(calls[0]["body"].get<std::string>()).contains("tools"));
  EXPECT_FALSE(json::parse(calls[1]["body"].get<std::string>()).contains("tools"));
  EXPECT_EQ(last_sent(), "Vou confirmar os horários e já te digo.");
}

TEST_F(Booking, BadToolArgumentsAreToldToTheModelAndChangeNothing) {
  start();
  script(json::array({{{"tool_calls", {{{"name", "book_slot"}, {"arguments", {{"start", "amanhã às 9"}}}},
                                       {{"name", "cancel_booking"}, {"arguments", json::object()}},
                                       {{"name", "drop_tables"}, {"arguments", json::object()}}}}},
                      {{"text", "Desculpe, pode me dizer o dia e a hora?"}}}));
  ASSERT_EQ(say(kAna, "marca pra mim"), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == 1 && idle(); }));
  const std::string told = tool_results_in(1);
  EXPECT_NE(told.find("is not a local time"), std::string::npos) << told;
  EXPECT_NE(told.find("no upcoming booking"), std::string::npos) << told;
  EXPECT_NE(told.find("no tool named 'drop_tables'"), std::string::npos) << told;
  EXPECT_EQ(requests("calcom_bookings").size(), 0u);
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.bookings"), 0);
  EXPECT_EQ(last_sent(), "Desculpe, pode me dizer o dia e a hora?");
}

// A reply retried after its booking was stored (the worker died before the confirmation
// committed) asks to book the same time again: it is confirmed, not booked twice.
TEST_F(Booking, BookingATimeTheContactAlreadyHasConfirmsIt) {
  to_monday_morning();
  start();
  book_tuesday_eight();
  const size_t posts = requests("calcom_bookings").size();
  script(json::array({{{"tool_calls", {{{"name", "book_slot"}, {"arguments", {{"start", tuesday + "T08:00"}}}}}}}}));
  ASSERT_EQ(say(kAna, "8h então"), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kAna).size() == 3 && idle(); }));
  EXPECT_EQ(requests("calcom_bookings").size(), posts);
  EXPECT_EQ(last_sent(), sent_texts(kAna).at(1));
  EXPECT_EQ(sim_bookings().size(), 1u);
  EXPECT_EQ(planned(booking_uid()), 2);
}

TEST_F(Booking, AContactCannotCancelAnotherContactsBooking) {
  to_monday_morning();
  start();
  book_tuesday_eight();
  const std::string anas = booking_uid();
  script(json::array({{{"tool_calls", {{{"name", "cancel_booking"}, {"arguments", {{"booking_uid", anas}}}}}}},
                      {{"text", "Não encontrei uma consulta sua."}}}));
  ASSERT_EQ(say(kBia, "cancela a consulta " + anas), 200);
  ASSERT_TRUE(until([&] { return sent_texts(kBia).size() == 1 && idle(); }));
  EXPECT_NE(tool_results_in(llm_calls() - 1).find("no_booking"), std::string::npos);
  EXPECT_EQ(db.scalar("SELECT status FROM recado.bookings WHERE uid = '" + anas + "'"), "accepted");
  EXPECT_EQ(planned(anas), 2);
}

}  // namespace
}  // namespace recado
