// Provider calls from a real worker to the provider simulator: each fault class ends the job
// the way the shared classifier says, Retry-After is honoured, and a circuit breaker opens
// under a failing provider, snoozes its jobs without using attempts, probes and closes.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "jobs/registry.hpp"
#include "src/breaker_store.hpp"
#include "src/business_hours.hpp"
#include "src/job_store.hpp"
#include "src/sim_thread.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/pg_harness.hpp"
#include "tests/support/worker_harness.hpp"

namespace recado {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using test::TestDatabase;

class ProviderCallsTest : public ::testing::Test {
 protected:
  TestDatabase db;
  pqxx::connection conn{db.url()};
  SimulatorThread sim;
  test::HttpClient control;

  void set_fault(const std::string& endpoint, const json& spec) {
    const auto r = control.request("PUT", sim.url("/_sim/faults/" + endpoint), spec.dump());
    ASSERT_EQ(r.status, 200) << r.body;
  }
  void clear_faults() { ASSERT_EQ(control.request("DELETE", sim.url("/_sim/faults")).status, 200); }
  long requests_to(const std::string& endpoint) {
    const auto r = control.get(sim.url("/_sim/requests?endpoint=" + endpoint));
    return static_cast<long>(json::parse(r.body)["requests"].size());
  }

  // An http_call job against the simulator's endpoint for `api`.
  int64_t enqueue_call(Api api, const std::string& breaker = "", json extra = json::object()) {
    json payload = {{"api", to_string(api)}, {"breaker", breaker.empty() ? std::string(to_string(api)) + ":test" : breaker}};
    switch (api) {
      case Api::openai:
        payload["url"] = sim.url("/v1/chat/completions");
        payload["headers"] = {{"authorization", "Bearer sk-test"}, {"content-type", "application/json"}};
        payload["body"] = {{"model", "gpt-test"}, {"messages", {{{"role", "user"}, {"content", "Oi"}}}}};
        break;
      case Api::anthropic:
        payload["url"] = sim.url("/v1/messages");
        payload["headers"] = {{"x-api-key", "k"}, {"anthropic-version", "2023-06-01"}, {"content-type", "application/json"}};
        payload["body"] = {{"model", "claude-test"}, {"max_tokens", 100}, {"messages", {{{"role", "user"}, {"content", "Oi"}}}}};
        break;
      case Api::gemini:
        payload["url"] = sim.url("/v1beta/models/gemini-test:generateContent");
        payload["headers"] = {{"x-goog-api-key", "k"}, {"content-type", "application/json"}};
        payload["body"] = {{"contents", {{{"role", "user"}, {"parts", {{{"text", "Oi"}}}}}}}};
        break;
      case Api::cloudapi:
        payload["url"] = sim.url("/v21.0/1234/messages");
        payload["headers"] = {{"authorization", "Bearer t"}, {"content-type", "application/json"}};
        payload["body"] = {{"messaging_product", "whatsapp"}, {"to", "+5511987654321"}, {"type", "text"}, {"text", {{"body", "Oi"}}}};
        break;
      case Api::evolution:
        payload["url"] = sim.url("/message/sendText/clinic1");
        payload["headers"] = {{"apikey", "k"}, {"content-type", "application/json"}};
        payload["body"] = {{"number", "5511987654321"}, {"text", "Oi"}};
        break;
      default: ADD_FAILURE() << "no payload for " << to_string(api);
    }
    payload.update(extra);
    NewJob j;
    j.kind = "http_call";
    j.payload_json = payload.dump();
    j.max_attempts = 25;
    return job_store::enqueue(conn, {j})[0].id;
  }

  // "state attempt last_error" of a job, wherever it is.
  json job(int64_t id) {
    const std::string sid = std::to_string(id);
    return json::parse(db.scalar(
        "SELECT row_to_json(x) FROM (SELECT state::text, attempt, errors, run_at, attempted_at FROM recado.jobs WHERE id = " + sid +
        " UNION ALL SELECT state::text, attempt, errors, run_at, attempted_at FROM recado.jobs_finished WHERE id = " + sid + ") x"));
  }
  std::string last_error(int64_t id) {
    const json j = job(id);
    return j["errors"].empty() ? "" : j["errors"].back()["error"].get<std::string>();
  }
};

TEST_F(ProviderCallsTest, EachFaultClassEndsTheJobAsTheClassifierSays) {
  test::WorkerHarness h(db.url());
  WorkerConfig config = test::fast_worker_config(20);
  config.backoff.base = 1h;  // a retried job stays retryable for the assertions
  config.backoff.cap = 1h;
  config.breakers.failures_to_open = 1000;
  h.add_worker(config, jobs::all_kinds());

  struct Case {
    Api api;
    json fault;
    std::string state;
    std::string error_has;
    json extra = json::object();
  };
  const std::vector<Case> cases = {
      {Api::openai, nullptr, "completed", ""},
      {Api::evolution, nullptr, "completed", ""},
      {Api::openai, {{"fault", "status"}, {"status", 500}}, "retryable", "answered 500"},
      {Api::openai, {{"fault", "quota"}}, "discarded", "insufficient_quota"},
      {Api::anthropic, {{"fault", "overloaded"}}, "retryable", "529"},
      {Api::anthropic, {{"fault", "quota"}}, "discarded", "402"},
      {Api::cloudapi, {{"fault", "cloudapi_code"}, {"code", 131047}}, "discarded", "131047"},
      {Api::cloudapi, {{"fault", "cloudapi_code"}, {"code", 131056}}, "retryable", "131056"},
      {Api::evolution, {{"fault", "status"}, {"status", 401}}, "discarded", "401"},
      {Api::gemini, {{"fault", "hang"}}, "retryable", "timeout", {{"timeout_ms", 300}}},
      {Api::gemini, {{"fault", "reset"}}, "retryable", "reset"},
      {Api::gemini, {{"fault", "truncate"}}, "retryable", "truncated"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(to_string(c.api)) + " " + c.fault.dump());
    clear_faults();
    if (!c.fault.is_null()) set_fault(std::string(to_string(c.api)), c.fault);
    const int64_t id = enqueue_call(c.api, "", c.extra);
    ASSERT_TRUE(h.run_until([&] { return job(id)["state"] != "available" && job(id)["state"] != "running"; }));
    const json j = job(id);
    EXPECT_EQ(j["state"], c.state);
    EXPECT_EQ(j["attempt"], 1);
    if (!c.error_has.empty()) {
      EXPECT_NE(last_error(id).find(c.error_has), std::string::npos) << last_error(id);
    }
  }
}

TEST_F(ProviderCallsTest, RetryAfterIsHonoured) {
  test::WorkerHarness h(db.url());
  WorkerConfig config = test::fast_worker_config();
  config.breakers.failures_to_open = 1000;
  h.add_worker(config, jobs::all_kinds());
  set_fault("openai", {{"fault", "rate_limit"}, {"retry_after", "30"}});
  const int64_t a = enqueue_call(Api::openai);
  set_fault("gemini", {{"fault", "rate_limit"}, {"retry_delay", "45s"}});
  const int64_t b = enqueue_call(Api::gemini);
  ASSERT_TRUE(h.run_until([&] { return job(a)["state"] == "retryable" && job(b)["state"] == "retryable"; }));
  // The backoff alone (10-50 ms here) would bring them back at once.
  const std::string wait_a = db.scalar("SELECT extract(epoch FROM run_at - attempted_at) FROM recado.jobs WHERE id = " + std::to_string(a));
  const std::string wait_b = db.scalar("SELECT extract(epoch FROM run_at - attempted_at) FROM recado.jobs WHERE id = " + std::to_string(b));
  EXPECT_GE(std::stod(wait_a), 29.9);
  EXPECT_LT(std::stod(wait_a), 40.0);
  EXPECT_GE(std::stod(wait_b), 44.9);
  EXPECT_LT(std::stod(wait_b), 55.0);
}

TEST_F(ProviderCallsTest, AnOpenBreakerSnoozesJobsWithoutAttemptsThenProbesAndCloses) {
  test::WorkerHarness h(db.url());
  WorkerConfig config = test::fast_worker_config(1);  // one call at a time: the order is known
  config.breakers.failures_to_open = 3;
  config.breakers.cool_down = 3s;  // long enough to watch the open breaker hold
  config.breakers.refresh = 100ms;
  Worker& w = h.add_worker(config, jobs::all_kinds());
  set_fault("evolution", {{"fault", "status"}, {"status", 503}});
  std::vector<int64_t> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(enqueue_call(Api::evolution, "evolution:clinic"));
  ASSERT_TRUE(h.run_until([&] {  // open, and this worker knows it
    auto b = breaker_store::load(conn, "evolution:clinic");
    const Breaker* seen = w.breakers().view("evolution:clinic");
    return b && b->state == BreakerState::open && seen && seen->state == BreakerState::open;
  }));
  // While it is open nothing reaches the provider, and the waiting jobs snooze.
  const long calls_when_opened = requests_to("evolution");
  EXPECT_GE(calls_when_opened, 3);
  ASSERT_TRUE(h.run_until([&] { return w.stats().snoozed >= 3; }));
  EXPECT_EQ(requests_to("evolution"), calls_when_opened);

  clear_faults();  // the provider recovers: the next probe succeeds and the jobs go through
  ASSERT_TRUE(h.run_until([&] {
    return db.count("SELECT count(*) FROM recado.jobs_finished WHERE state = 'completed'") == 6;
  }, 30s));
  const Breaker b = *breaker_store::load(conn, "evolution:clinic");
  EXPECT_EQ(b.state, BreakerState::closed);
  EXPECT_GE(b.transitions, 3);  // open, half-open, closed
  // A snooze uses no attempt: every attempt the jobs used is one call the provider received.
  EXPECT_EQ(db.count("SELECT sum(attempt) FROM recado.jobs_finished"), requests_to("evolution"));
}

TEST_F(ProviderCallsTest, TenantsBusinessHoursAndSendLimitsComeFromConfig) {
  // "closed" opens only two days from now, 09:00-10:00 UTC; "shop" is always open and may
  // send twice an hour.
  const Timestamp now = system_now();
  const auto day = std::chrono::floor<std::chrono::days>(now + std::chrono::days{2});
  const unsigned weekday = std::chrono::weekday(std::chrono::sys_days(day)).iso_encoding() - 1;  // 0 = Monday
  TenantConfig closed;
  closed.id = "closed";
  closed.business_hours.always_open = false;
  closed.business_hours.time_zone = "UTC";
  closed.business_hours.days[weekday] = {OpenInterval{9 * 60, 10 * 60}};
  TenantConfig shop;
  shop.id = "shop";
  shop.send_limits.per_hour = 2;

  test::WorkerHarness h(db.url());
  h.add_worker(test::fast_worker_config(), jobs::all_kinds(), {closed, shop});
  const int64_t waiting = enqueue_call(Api::evolution, "", {{"tenant", "closed"}});
  std::vector<int64_t> paced;
  for (int i = 0; i < 4; ++i)
    paced.push_back(enqueue_call(Api::evolution, "", {{"tenant", "shop"}, {"pace", {{"sender", "shop:1"}, {"recipient", "5511"}}}}));
  const int64_t unknown = enqueue_call(Api::evolution, "", {{"tenant", "nobody"}});

  ASSERT_TRUE(h.run_until([&] {
    return db.count("SELECT count(*) FROM recado.jobs_finished") == 3 &&
           db.count("SELECT count(*) FROM recado.jobs WHERE state = 'available' AND attempt = 0 AND run_at > now() + interval '30 minutes'") == 3;
  })) << db.scalar("SELECT json_agg(j) FROM recado.jobs j");
  EXPECT_EQ(job(unknown)["state"], "discarded");
  EXPECT_NE(last_error(unknown).find("no configured tenant"), std::string::npos);
  // The closed tenant's call waits for its opening, exactly.
  const std::string opens = db.scalar("SELECT extract(epoch FROM run_at) FROM recado.jobs WHERE id = " + std::to_string(waiting));
  const auto expected = std::chrono::duration_cast<std::chrono::seconds>((day + std::chrono::hours{9}).time_since_epoch()).count();
  EXPECT_EQ(std::stoll(opens), expected);
  // Two of the shop's four sends went out; the provider saw exactly those.
  EXPECT_EQ(db.count("SELECT count(*) FROM recado.jobs_finished WHERE state = 'completed'"), 2);
  EXPECT_EQ(requests_to("evolution"), 2);
  EXPECT_NE(h.metrics().render().find(R"(recado_job_snoozes_total{queue="default",cause="business_hours"})"),
            std::string::npos);
}

}  // namespace
}  // namespace recado
