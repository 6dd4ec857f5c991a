// Two real `recado worker` processes calling the provider simulator: a breaker tripped by a
// failing provider stops the calls of both, probes and closes after recovery; send limits
// hold exactly across both processes, counted in the simulator's own record of requests.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>

#include "src/breaker_store.hpp"
#include "src/sim_thread.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/pg_harness.hpp"

namespace recado {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using test::ChildProcess;
using test::TestDatabase;

const std::string kTestConfig = std::string(RECADO_SOURCE_DIR) + "/config/test.yaml";

class OutboundTest : public ::testing::Test {
 protected:
  TestDatabase db;
  SimulatorThread sim;
  test::HttpClient control;

  std::unique_ptr<ChildProcess> worker(std::map<std::string, std::string> extra = {}) {
    std::map<std::string, std::string> env = {{"RECADO_DATABASE_URL", db.url()},
                                              {"RECADO_WORKER_QUEUES_DEFAULT_CONCURRENCY", "10"}};
    for (auto& [k, v] : extra) env[k] = v;
    return std::make_unique<ChildProcess>(std::vector<std::string>{RECADO_BIN, "-c", kTestConfig, "worker"}, env);
  }
  void stop(ChildProcess& p) {
    p.signal(SIGTERM);
    auto status = p.wait(20s);
    ASSERT_TRUE(status) << "did not exit after SIGTERM\n" << p.output();
    EXPECT_FALSE(status->crashed()) << p.output();
    EXPECT_EQ(status->code, 0) << p.output();
  }
  void set_fault(const std::string& endpoint, const json& spec) {
    const auto r = control.request("PUT", sim.url("/_sim/faults/" + endpoint), spec.dump());
    ASSERT_EQ(r.status, 200) << r.body;
  }
  json requests(const std::string& endpoint) {
    return json::parse(control.get(sim.url("/_sim/requests?endpoint=" + endpoint)).body)["requests"];
  }
  // `n` Evolution sends through the breaker "evolution:clinic".
  void enqueue_sends(int n, const json& pace = nullptr, const std::string& recipient = "5511987654321") {
    json payload = {{"api", "evolution"},
                    {"breaker", "evolution:clinic"},
                    {"url", sim.url("/message/sendText/clinic1")},
                    {"headers", {{"apikey", "k"}, {"content-type", "application/json"}}},
                    {"body", {{"number", recipient}, {"text", "Oi"}}}};
    if (!pace.is_null()) payload["pace"] = pace;
    pqxx::connection conn(db.url());
    pqxx::work tx(conn);
    tx.exec_params("INSERT INTO recado.jobs (queue, kind, payload, max_attempts) "
                   "SELECT 'default', 'http_call', $1::jsonb, 50 FROM generate_series(1, $2)",
                   payload.dump(), n);
    tx.exec("NOTIFY recado_jobs, 'default'");
    tx.commit();
  }
  long long finished(const std::string& state) {
    return db.count("SELECT count(*) FROM recado.jobs_finished WHERE state = '" + state + "'");
  }
};

TEST_F(OutboundTest, ATrippedBreakerStopsEveryWorkerThenProbesAndCloses) {
  // test.yaml: 3 failures in a row open a breaker; it probes after 500 ms; views refresh every 100 ms.
  const std::map<std::string, std::string> slow_probe = {{"RECADO_WORKER_BREAKERS_COOL_DOWN", "3s"}};
  const int port_a = test::free_port(), port_b = test::free_port();
  auto env_a = slow_probe, env_b = slow_probe;
  env_a["RECADO_WORKER_METRICS_PORT"] = std::to_string(port_a);
  env_b["RECADO_WORKER_METRICS_PORT"] = std::to_string(port_b);
  auto a = worker(env_a);
  auto b = worker(env_b);
  ASSERT_TRUE(test::poll_until([&] { return db.count("SELECT count(*) FROM recado.workers") == 2; })) << a->output() << b->output();
  set_fault("evolution", {{"fault", "status"}, {"status", 503}, {"latency_ms", 100}});
  enqueue_sends(200);
  pqxx::connection conn(db.url());
  ASSERT_TRUE(test::poll_until([&] {
    auto breaker = breaker_store::load(conn, "evolution:clinic");
    return breaker && breaker->state == BreakerState::open;
  })) << a->output();
  // Within a refresh or two both workers know; from then on the provider hears nothing
  // until the probe, however many jobs wait.
  ASSERT_TRUE(test::poll_until([&] {
    return db.count("SELECT count(*) FROM recado.jobs WHERE state = 'available' AND run_at > now() + interval '1 second'") >= 100;
  })) << a->output();
  const size_t calls = requests("evolution").size();
  const auto opened = breaker_store::load(conn, "evolution:clinic");
  ASSERT_TRUE(opened && opened->probe_at);
  ASSERT_TRUE(test::poll_until([&] {
    return db.count("SELECT count(*) FROM recado.jobs WHERE state = 'running'") == 0;
  }));
  EXPECT_EQ(requests("evolution").size(), calls);
  EXPECT_GE(calls, 3u);
  EXPECT_LT(calls, 150u);

  ASSERT_EQ(control.request("DELETE", sim.url("/_sim/faults")).status, 200);  // the provider recovers
  ASSERT_TRUE(test::poll_until([&] { return finished("completed") == 200; }, 60s)) << a->output();
  EXPECT_EQ(breaker_store::load(conn, "evolution:clinic")->state, BreakerState::closed);
  // Every attempt used is a call the provider received: snoozes used none.
  EXPECT_EQ(db.count("SELECT sum(attempt) FROM recado.jobs_finished"),
            static_cast<long long>(requests("evolution").size()));
  // What the two workers counted, each on its own metrics port, adds up to what happened.
  auto counter = [&](const std::string& series) {
    long long total = 0;
    for (int port : {port_a, port_b}) {
      const std::string text = control.get("http://127.0.0.1:" + std::to_string(port) + "/metrics").body;
      const size_t at = text.find(series + " ");
      if (at != std::string::npos) total += std::stoll(text.substr(at + series.size() + 1));
    }
    return total;
  };
  const std::string series = R"(recado_provider_calls_total{provider="evolution",endpoint="evolution:clinic",outcome=)";
  EXPECT_EQ(counter(series + R"("success"})"), 200);
  EXPECT_EQ(counter(series + R"("retry"})") + 200, static_cast<long long>(requests("evolution").size()));
  EXPECT_EQ(counter(series + R"("refused"})"), counter(R"(recado_job_snoozes_total{queue="default",cause="breaker_open"})"));
  EXPECT_GT(counter(series + R"("refused"})"), 0);
  stop(*a);
  stop(*b);
}

TEST_F(OutboundTest, SendLimitsHoldExactlyAcrossWorkers) {
  auto a = worker();
  auto b = worker();
  // One number: at most 5 sends an hour, 250 ms apart; one recipient at most every 400 ms.
  const json pace = {{"sender", "clinic1:5511900000000"}, {"min_spacing_ms", 250}, {"per_hour", 5},
                     {"per_recipient_spacing_ms", 400}};
  enqueue_sends(12, pace, "5511911111111");
  enqueue_sends(12, pace, "5511922222222");
  ASSERT_TRUE(test::poll_until([&] { return finished("completed") == 5; }, 30s)) << a->output() << b->output();
  // The other 19 wait for the hour to turn, without having used an attempt.
  ASSERT_TRUE(test::poll_until([&] {
    return db.count("SELECT count(*) FROM recado.jobs WHERE state = 'available' AND attempt = 0 "
                    "AND run_at > now() + interval '50 minutes'") == 19;
  })) << a->output();
  const json sent = requests("evolution");
  ASSERT_EQ(sent.size(), 5u);
  // Exact spacing as granted (the reservations), and as the provider saw it give or take
  // the network's jitter.
  const auto gaps = db.scalar(
      "SELECT min(gap) FROM (SELECT extract(epoch FROM sent_at - lag(sent_at) OVER (ORDER BY sent_at)) AS gap "
      "FROM recado.sends WHERE sender = 'clinic1:5511900000000') g");
  EXPECT_GE(std::stod(gaps), 0.25);
  const auto pair_gaps = db.scalar(
      "SELECT min(gap) FROM (SELECT extract(epoch FROM sent_at - lag(sent_at) OVER (PARTITION BY recipient ORDER BY sent_at)) AS gap "
      "FROM recado.sends WHERE sender = 'clinic1:5511900000000') g");
  ASSERT_FALSE(pair_gaps.empty());
  EXPECT_GE(std::stod(pair_gaps), 0.4);
  for (size_t i = 1; i < sent.size(); ++i)
    EXPECT_GE(sent[i]["at_ms"].get<int64_t>() - sent[i - 1]["at_ms"].get<int64_t>(), 200) << sent.dump();
  stop(*a);
  stop(*b);
}

}  // namespace
}  // namespace recado
