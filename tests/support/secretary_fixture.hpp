#pragma once
// The secretary's test fixture: a real ingress, a worker running the four job kinds, the
// simulator playing every provider, one tenant ("clinic": Evolution, OpenAI-compatible LLM,
// Cal.com event type 1, two reminders, America/Sao_Paulo), and the worker's clock that tests
// move forward. Helpers say what happened where it lands: the simulator's record of the LLM
// calls and WhatsApp sends, and the tables.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "jobs/registry.hpp"
#include "src/sim_thread.hpp"
#include "src/sim_webhooks.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/ingress_harness.hpp"
#include "tests/support/pg_harness.hpp"
#include "tests/support/worker_harness.hpp"

namespace recado::test {

using namespace std::chrono_literals;

inline constexpr const char* kTenant = "clinic";
inline constexpr const char* kAna = "5511987654321";
inline constexpr const char* kBia = "5521912345678";

inline std::string jid(const std::string& phone) { return phone + "@s.whatsapp.net"; }

class Secretary : public ::testing::Test {
 protected:
  using json = nlohmann::json;

  test::TestDatabase db;
  test::WorkerHarness harness{db.url()};
  SimulatorThread sim{sim_options(harness.clock())};
  std::unique_ptr<test::IngressServer> ingress;
  test::HttpClient http;
  TenantConfig tenant;
  int message_seq = 0;

  static SimulatorOptions sim_options(const Clock& clock) {
    SimulatorOptions o;
    o.clock = &clock;
    return o;
  }

  void SetUp() override {
    tenant = test::webhook_tenant(kTenant, 300ms);
    tenant.llm.provider = "openai";
    tenant.llm.base_url = sim.url();
    tenant.llm.api_key.value = "sk-test";
    tenant.llm.model = "gpt-sim";
    tenant.llm.system_prompt = "Você é a secretária da clínica.";
    tenant.llm.fallback_message = "Recebemos sua mensagem e já respondemos.";
    tenant.gateway.provider = "evolution";
    tenant.gateway.base_url = sim.url();
    tenant.gateway.token.value = "evo-key";
    tenant.gateway.instance = "clinic1";
    tenant.calcom.base_url = sim.url();
    tenant.calcom.api_key.value = "cal_test";
    tenant.calcom.event_type_ids = {1};
    tenant.calcom.sync_schedule.reset();  // tests that want the periodic sync add it
    tenant.followups = {
        {"reminder_24h", FollowupWhen::before_start, 24h, "Oi {name}, lembrete: {title} {date} às {time}.", false, ""},
        {"reminder_2h", FollowupWhen::before_start, 2h, "{name}, sua consulta é hoje às {time}.", false, ""}};
    tenant.business_hours.time_zone = "America/Sao_Paulo";
  }

  void start(std::vector<PeriodicJob> periodic = {}) { start_with([](WorkerConfig&) {}, std::move(periodic)); }
  void start_with(const std::function<void(WorkerConfig&)>& adjust, std::vector<PeriodicJob> periodic = {}) {
    ingress = std::make_unique<test::IngressServer>(db.url(), test::webhook_ingress_config(),
                                                    std::vector<TenantConfig>{tenant});
    WorkerConfig config = test::fast_worker_config();
    config.queues = {{"llm_reply", 10}, {"whatsapp_send", 10}, {"followup", 10}, {"calcom_sync", 2}};
    adjust(config);
    harness.add_worker(config, jobs::all_kinds(), {tenant}, std::move(periodic));
  }

  // An Evolution message from `phone`; returns the ingress's status.
  int say(const std::string& phone, const std::string& text, std::string id = "") {
    if (id.empty()) id = "MSG" + std::to_string(++message_seq) + phone;
    const auto r = http.post(ingress->url("/webhooks/clinic/evolution"), test::evolution_message(id, jid(phone), text),
                             test::evolution_token_headers());
    return r.status;
  }

  int post(const std::string& provider, const BuiltWebhook& w) {
    std::map<std::string, std::string> headers(w.headers.begin(), w.headers.end());
    return http.post(ingress->url("/webhooks/clinic/" + provider), w.body, headers).status;
  }

  json requests(const std::string& endpoint) {
    return json::parse(http.get(sim.url("/_sim/requests?endpoint=" + endpoint)).body)["requests"];
  }
  size_t llm_calls() { return requests("openai").size(); }
  // The texts the gateway was asked to send, in order.
  std::vector<std::string> sent_texts(const std::string& phone = "") {
    std::vector<std::string> out;
    for (const auto& r : requests("evolution")) {
      const json body = json::parse(r["body"].get<std::string>());
      if (phone.empty() || body["number"] == phone) out.push_back(body["text"]);
    }
    return out;
  }
  // Nothing of these queues is waiting or running.
  bool idle(const std::string& queues = "'llm_reply','whatsapp_send','calcom_sync'") {
    return db.count("SELECT count(*) FROM recado.jobs WHERE queue IN (" + queues +
                    ") AND (state = 'running' OR run_at <= now() + interval '1 hour')") == 0;
  }
  bool until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 20s) {
    return harness.run_until(done, timeout);
  }
  json llm_messages(size_t call) {
    return json::parse(requests("openai").at(call)["body"].get<std::string>())["messages"];
  }
  std::string skipped_reasons() {
    return db.scalar("SELECT coalesce(string_agg(result ->> 'skipped', ' | ' ORDER BY id), '') FROM recado.jobs_finished "
                     "WHERE kind = 'llm_reply'");
  }
};

class SecretaryBookings : public Secretary {
 protected:
  // A Cal.com booking event for Ana, starting `start`.
  int booking_event(const std::string& event, const std::string& uid, Timestamp start_at,
                    const std::string& reschedule_uid = "") {
    CalcomWebhookSpec spec;
    spec.event = event;
    spec.uid = uid;
    spec.booking_id = 91;
    spec.start = start_at;
    spec.name = "Ana";
    spec.phone = kAna;
    spec.title = "Consulta";
    spec.reschedule_uid = reschedule_uid;
    WebhookCredentials cal;
    cal.secret = test::kCalcomSecret;
    return post("calcom", build_calcom_webhook(spec, cal, harness.clock().now()));
  }
  // Lets the worker claim from the follow-up queue once more, by the clock as it is now: a
  // job due now goes through it, and when it is done, so is that claim.
  void one_followup_claim() {
    const long long id = db.count("INSERT INTO recado.jobs (queue, kind) VALUES ('followup', 'noop') RETURNING id");
    ASSERT_TRUE(until([&] { return db.count("SELECT count(*) FROM recado.jobs_finished WHERE id = " + std::to_string(id)) == 1; }));
  }
  long long planned(const std::string& uid) {
    return db.count("SELECT count(*) FROM recado.followups WHERE subject = 'booking:" + uid + "' AND state = 'planned'");
  }
  int64_t run_at_of(const std::string& uid, const std::string& rule) {
    return db.count("SELECT (extract(epoch FROM j.run_at) * 1000000)::bigint FROM recado.followups f "
                    "JOIN recado.jobs j ON j.id = f.job_id WHERE f.subject = 'booking:" + uid + "' AND f.rule = '" + rule + "'");
  }
};


}  // namespace recado::test
