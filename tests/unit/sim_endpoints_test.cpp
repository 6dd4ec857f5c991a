// Which path belongs to which simulated endpoint, query parameters, and the `recado sim`
// command itself (started as a real process: banner, start-time faults, clean stop on
// SIGTERM, bad --faults refused).
#include "src/sim_endpoints.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tests/support/child_process.hpp"
#include "tests/support/http_client.hpp"

namespace recado {
namespace {

using std::chrono::milliseconds;

TEST(SimEndpoints, RoutesEachProvidersPaths) {
  struct Case {
    const char* path;
    SimEndpoint endpoint;
    const char* param;
    bool cancel;
  };
  const Case cases[] = {
      {"/v1/chat/completions", SimEndpoint::openai, "", false},
      {"/v1beta/openai/chat/completions", SimEndpoint::openai, "", false},
      {"/v1/messages", SimEndpoint::anthropic, "", false},
      {"/v1beta/models/gemini-2.0-flash:generateContent", SimEndpoint::gemini, "gemini-2.0-flash",
       false},
      {"/message/sendText/clinic1", SimEndpoint::evolution, "clinic1", false},
      {"/api/messages/send", SimEndpoint::whaticket, "", false},
      {"/v21.0/106540352242922/messages", SimEndpoint::cloudapi, "106540352242922", false},
      {"/v19/1/messages", SimEndpoint::cloudapi, "1", false},
      {"/v2/bookings", SimEndpoint::calcom_bookings, "", false},
      {"/v2/bookings/abc123/cancel", SimEndpoint::calcom_bookings, "abc123", true},
      {"/v2/slots", SimEndpoint::calcom_slots, "", false},
      {"/v2/slots/", SimEndpoint::calcom_slots, "", false},
  };
  for (const Case& c : cases) {
    const auto r = route_sim_path(c.path);
    ASSERT_TRUE(r.has_value()) << c.path;
    EXPECT_EQ(r->endpoint, c.endpoint) << c.path;
    EXPECT_EQ(r->param, c.param) << c.path;
    EXPECT_EQ(r->cancel, c.cancel) << c.path;
  }
  for (const char* path : {"/", "/v1/embeddings", "/v1beta/models/x:streamGenerateContent",
                           "/v1beta/models/:generateContent", "/message/sendText/",
                           "/message/sendText/a/b", "/vX/1/messages", "/v21.0//messages",
                           "/v2/bookings/abc", "/v2/bookings//cancel", "/api/messages"})
    EXPECT_FALSE(route_sim_path(path).has_value()) << path;
}

TEST(SimEndpoints, RoutesCalcomReschedule) {
  const auto r = route_sim_path("/v2/bookings/abc123/reschedule");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->endpoint, SimEndpoint::calcom_bookings);
  EXPECT_EQ(r->param, "abc123");
  EXPECT_TRUE(r->reschedule);
  EXPECT_FALSE(r->cancel);
  EXPECT_FALSE(route_sim_path("/v2/bookings/abc123/cancel")->reschedule);
  EXPECT_FALSE(route_sim_path("/v2/bookings")->reschedule);
  for (const char* path : {"/v2/bookings//reschedule", "/v2/bookings/a/b/reschedule",
                           "/v2/bookings/reschedule", "/v2/bookings/a/reschedules"})
    EXPECT_FALSE(route_sim_path(path).has_value()) << path;
}

TEST(SimEndpoints, NamesRoundTrip) {
  for (SimEndpoint e : kSimEndpoints) EXPECT_EQ(parse_sim_endpoint(to_string(e)), e);
  EXPECT_FALSE(parse_sim_endpoint("calcom").has_value());
  EXPECT_TRUE(is_llm(SimEndpoint::gemini));
  EXPECT_FALSE(is_llm(SimEndpoint::cloudapi));
}

TEST(SimEndpoints, QueryParams) {
  EXPECT_EQ(sim_query_param("a=1&b=two", "b"), "two");
  EXPECT_EQ(sim_query_param("a=1&a=2", "a"), "1");
  EXPECT_EQ(sim_query_param("start=2026-01-05T13%3A00%3A00Z&tz=America%2FSao_Paulo", "start"),
            "2026-01-05T13:00:00Z");
  EXPECT_EQ(sim_query_param("tz=America%2FSao_Paulo", "tz"), "America/Sao_Paulo");
  EXPECT_EQ(sim_query_param("q=a+b", "q"), "a b");
  EXPECT_EQ(sim_query_param("flag&x=1", "flag"), "");
  EXPECT_FALSE(sim_query_param("a=1", "b").has_value());
  EXPECT_FALSE(sim_query_param("", "b").has_value());
  EXPECT_FALSE(sim_query_param("a=%zz", "a").has_value());
  EXPECT_FALSE(sim_query_param("a=%4", "a").has_value());
}

// --- The command -------------------------------------------------------------------------------

bool have_binary() {
  return std::filesystem::exists(RECADO_BIN);
}

TEST(SimCommand, ServesStartTimeFaultsAndStopsOnSigterm) {
  if (!have_binary()) GTEST_SKIP() << RECADO_BIN << " is not built";
  const int port = test::free_port();
  test::ChildProcess sim({RECADO_BIN, "sim", "--port", std::to_string(port), "--seed", "5",
                          "--faults", R"({"whaticket":{"fault":"status","status":503}})"},
                         {});
  test::HttpClient http;
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  test::HttpResult health;
  const auto deadline = std::chrono::steady_clock::now() + milliseconds{10000};
  while (std::chrono::steady_clock::now() < deadline && sim.running()) {
    health = http.get(base + "/_sim/healthz");
    if (health.status == 200) break;
    std::this_thread::sleep_for(
        milliseconds{20});  // polling the child's readiness, not a test delay
  }
  ASSERT_EQ(health.status, 200) << sim.output();
  const auto faults = nlohmann::json::parse(http.get(base + "/_sim/faults").body);
  EXPECT_EQ(faults["seed"], 5);
  EXPECT_EQ(faults["faults"]["whaticket"]["status"], 503);
  EXPECT_EQ(http.post(base + "/api/messages/send", R"({"number":"5511987654321","body":"x"})",
                      {{"Authorization", "Bearer t"}})
                .status,
            503);
  const std::string out = sim.output();
  EXPECT_NE(out.find(base + "/v1/chat/completions"), std::string::npos) << out;
  EXPECT_NE(out.find("/_sim/faults"), std::string::npos) << out;
  sim.signal(SIGTERM);
  const auto status = sim.wait(milliseconds{10000});
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->code, 0);
  EXPECT_FALSE(status->crashed());
}

TEST(SimCommand, RefusesBadFaults) {
  if (!have_binary()) GTEST_SKIP() << RECADO_BIN << " is not built";
  const auto r = test::run_command(
      {RECADO_BIN, "sim", "--port", "0", "--faults", R"({"openai":{"fault":"status","rate":3}})"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("faults.openai.rate"), std::string::npos) << r.err;
  const auto missing = test::run_command(
      {RECADO_BIN, "sim", "--port", "0", "--faults", "@/nonexistent/faults.json"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("/nonexistent/faults.json"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace recado
