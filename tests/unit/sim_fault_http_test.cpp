// Fault injection over real HTTP: each fault class's exact status, headers and body in each
// provider's format; count and rate; latency; hang, reset and truncate as a client sees
// them; faults set at start; and invalid specs refused with a reason.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "src/sim.hpp"
#include "src/sim_thread.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/ingress_harness.hpp"
#include "tests/support/sim_client.hpp"

namespace recado {
namespace {

using json = nlohmann::json;
using Headers = std::map<std::string, std::string>;
using std::chrono::milliseconds;

using Reply = test::RawReply;

Reply call(int port, const std::string& method, const std::string& path, const std::string& body = "",
           const Headers& headers = {}) {
  return test::raw_call(port, method, path, body, headers);
}

// A valid request to each endpoint.
struct Request {
  std::string method, path, body;
  Headers headers;
};

Request good_request(SimEndpoint e) {
  const Headers bearer = {{"Authorization", "Bearer k"}};
  const Headers calcom = {{"Authorization", "Bearer cal_x"}, {"cal-api-version", "2024-08-13"}};
  switch (e) {
    case SimEndpoint::openai:
      return {"POST", "/v1/chat/completions",
              R"({"model":"m","messages":[{"role":"user","content":"oi"}]})", bearer};
    case SimEndpoint::anthropic:
      return {"POST",
              "/v1/messages",
              R"({"model":"m","max_tokens":50,"messages":[{"role":"user","content":"oi"}]})",
              {{"x-api-key", "k"}, {"anthropic-version", "2023-06-01"}}};
    case SimEndpoint::gemini:
      return {"POST",
              "/v1beta/models/g:generateContent",
              R"({"contents":[{"parts":[{"text":"oi"}]}]})",
              {{"x-goog-api-key", "k"}}};
    case SimEndpoint::evolution:
      return {"POST",
              "/message/sendText/c1",
              R"({"number":"5511987654321","text":"oi"})",
              {{"apikey", "k"}}};
    case SimEndpoint::whaticket:
      return {"POST", "/api/messages/send", R"({"number":"5511987654321","body":"oi"})", bearer};
    case SimEndpoint::cloudapi:
      return {
          "POST", "/v21.0/1/messages",
          R"({"messaging_product":"whatsapp","to":"5511987654321","type":"text","text":{"body":"oi"}})",
          bearer};
    case SimEndpoint::calcom_bookings:
      return {"GET", "/v2/bookings", "", calcom};
    case SimEndpoint::calcom_slots:
      return {"GET", "/v2/slots?eventTypeId=1&start=2026-01-05&end=2026-01-06", "", calcom};
  }
  return {};
}

// Whether `body` is an error in `e`'s own format.
::testing::AssertionResult provider_error_shape(SimEndpoint e, const json& b) {
  bool ok = false;
  switch (e) {
    case SimEndpoint::openai:
      ok = b["error"]["message"].is_string() && b["error"]["type"].is_string() &&
           b["error"].contains("code");
      break;
    case SimEndpoint::anthropic:
      ok = b["type"] == "error" && b["error"]["type"].is_string() &&
           b["error"]["message"].is_string();
      break;
    case SimEndpoint::gemini:
      ok = b["error"]["code"].is_number_integer() && b["error"]["status"].is_string() &&
           b["error"]["message"].is_string();
      break;
    case SimEndpoint::evolution:
      ok = b["status"].is_number_integer() && b["error"].is_string() &&
           b["response"].contains("message");
      break;
    case SimEndpoint::whaticket:
      ok = b["error"].is_string();
      break;
    case SimEndpoint::cloudapi:
      ok = b["error"]["type"] == "OAuthException" && b["error"]["code"].is_number_integer() &&
           b["error"]["fbtrace_id"].is_string() && b["error"]["message"].is_string();
      break;
    case SimEndpoint::calcom_bookings:
    case SimEndpoint::calcom_slots:
      ok = b["status"] == "error" && b["error"]["code"].is_string() &&
           b["error"]["message"].is_string();
      break;
  }
  if (ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << to_string(e) << " error shape expected, got " << b.dump();
}

class SimFaults : public ::testing::Test {
 protected:
  void SetUp() override { sim_ = std::make_unique<SimulatorThread>(); }
  int port() const { return sim_->port(); }
  void put_fault(SimEndpoint e, const std::string& spec) {
    const Reply r = call(port(), "PUT", "/_sim/faults/" + std::string(to_string(e)), spec);
    ASSERT_EQ(r.status, 200) << spec << " -> " << r.raw;
  }
  Reply send(SimEndpoint e) {
    const Request q = good_request(e);
    return call(port(), q.method, q.path, q.body, q.headers);
  }
  json recorded(SimEndpoint e) {
    return call(port(), "GET", "/_sim/requests?endpoint=" + std::string(to_string(e)))
        .body["requests"];
  }
  std::unique_ptr<SimulatorThread> sim_;
};

TEST_F(SimFaults, EveryEndpointAnswersNormallyWithoutFaults) {
  for (SimEndpoint e : kSimEndpoints) {
    const Reply r = send(e);
    EXPECT_TRUE(r.status == 200 || r.status == 201)
        << to_string(e) << ": " << r.status << " " << r.raw;
  }
}

TEST_F(SimFaults, StatusFaultUsesEachProvidersErrorFormat) {
  for (SimEndpoint e : kSimEndpoints) {
    put_fault(e, R"({"fault":"status","status":502})");
    const Reply r = send(e);
    EXPECT_EQ(r.status, 502) << to_string(e);
    EXPECT_TRUE(provider_error_shape(e, r.body));
    EXPECT_EQ(recorded(e).back()["fault"], "status");
    EXPECT_EQ(recorded(e).back()["status"], 502);
  }
}

TEST_F(SimFaults, RateLimitPerProvider) {
  put_fault(SimEndpoint::openai,
            R"({"fault":"rate_limit","retry_after":"2","retry_after_ms":1500})");
  Reply r = send(SimEndpoint::openai);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.body["error"]["code"], "rate_limit_exceeded");
  EXPECT_EQ(r.body["error"]["type"], "rate_limit_exceeded");
  EXPECT_EQ(r.headers["retry-after"], "2");
  EXPECT_EQ(r.headers["retry-after-ms"], "1500");

  put_fault(SimEndpoint::anthropic,
            R"({"fault":"rate_limit","retry_after":"Wed, 21 Oct 2015 07:28:00 GMT"})");
  r = send(SimEndpoint::anthropic);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.body["type"], "error");
  EXPECT_EQ(r.body["error"]["type"], "rate_limit_error");
  EXPECT_EQ(r.headers["retry-after"], "Wed, 21 Oct 2015 07:28:00 GMT");
  EXPECT_EQ(r.headers.count("retry-after-ms"), 0u);

  put_fault(SimEndpoint::gemini, R"({"fault":"rate_limit","retry_delay":"7s"})");
  r = send(SimEndpoint::gemini);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.body["error"]["code"], 429);
  EXPECT_EQ(r.body["error"]["status"], "RESOURCE_EXHAUSTED");
  EXPECT_EQ(r.body["error"]["details"][0]["@type"], "type.googleapis.com/google.rpc.RetryInfo");
  EXPECT_EQ(r.body["error"]["details"][0]["retryDelay"], "7s");
  EXPECT_EQ(r.headers.count("retry-after"), 0u);  // Gemini says it in the body
  put_fault(SimEndpoint::gemini, R"({"fault":"rate_limit"})");
  EXPECT_EQ(send(SimEndpoint::gemini).body["error"]["details"][0]["retryDelay"], "5s");

  put_fault(SimEndpoint::cloudapi, R"({"fault":"rate_limit"})");
  r = send(SimEndpoint::cloudapi);
  EXPECT_EQ(r.status, 400);  // the Cloud API says throughput limits with a 400
  EXPECT_EQ(r.body["error"]["code"], 130429);
  EXPECT_TRUE(provider_error_shape(SimEndpoint::cloudapi, r.body));

  put_fault(SimEndpoint::calcom_bookings, R"({"fault":"rate_limit","retry_after":"30"})");
  r = send(SimEndpoint::calcom_bookings);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.body["status"], "error");
  EXPECT_EQ(r.headers["x-ratelimit-limit-default"], "120");
  EXPECT_EQ(r.headers["x-ratelimit-remaining-default"], "0");
  EXPECT_EQ(r.headers["x-ratelimit-reset-default"], "30");

  for (SimEndpoint e : {SimEndpoint::evolution, SimEndpoint::whaticket}) {
    put_fault(e, R"({"fault":"rate_limit"})");
    r = send(e);
    EXPECT_EQ(r.status, 429) << to_string(e);
    EXPECT_TRUE(provider_error_shape(e, r.body));
  }
}

TEST_F(SimFaults, QuotaPerLlm) {
  put_fault(SimEndpoint::openai, R"({"fault":"quota"})");
  Reply r = send(SimEndpoint::openai);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.body["error"]["code"], "insufficient_quota");
  EXPECT_EQ(r.body["error"]["type"], "insufficient_quota");

  put_fault(SimEndpoint::anthropic, R"({"fault":"quota"})");
  r = send(SimEndpoint::anthropic);
  EXPECT_EQ(r.status, 402);
  EXPECT_EQ(r.body["error"]["type"], "billing_error");

  put_fault(SimEndpoint::gemini, R"({"fault":"quota"})");
  r = send(SimEndpoint::gemini);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.body["error"]["status"], "RESOURCE_EXHAUSTED");
  EXPECT_EQ(r.body["error"]["details"][0]["@type"], "type.googleapis.com/google.rpc.QuotaFailure");
}

TEST_F(SimFaults, OverloadedAndCloudApiCodes) {
  put_fault(SimEndpoint::anthropic, R"({"fault":"overloaded"})");
  Reply r = send(SimEndpoint::anthropic);
  EXPECT_EQ(r.status, 529);
  EXPECT_EQ(r.body["error"]["type"], "overloaded_error");
  for (SimEndpoint e : {SimEndpoint::openai, SimEndpoint::gemini, SimEndpoint::evolution,
                        SimEndpoint::calcom_slots}) {
    put_fault(e, R"({"fault":"overloaded"})");
    r = send(e);
    EXPECT_EQ(r.status, 503) << to_string(e);
    EXPECT_TRUE(provider_error_shape(e, r.body));
  }
  EXPECT_EQ(send(SimEndpoint::gemini).body["error"]["status"], "UNAVAILABLE");

  for (int code : {131056, 131047, 130429, 131048}) {
    put_fault(SimEndpoint::cloudapi,
              R"({"fault":"cloudapi_code","code":)" + std::to_string(code) + "}");
    r = send(SimEndpoint::cloudapi);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.body["error"]["code"], code);
    EXPECT_EQ(r.body["error"]["type"], "OAuthException");
    EXPECT_NE(r.body["error"]["message"].get<std::string>().find(std::to_string(code)),
              std::string::npos);
  }
}

TEST_F(SimFaults, CountHitsTheNextRequestsThenClears) {
  put_fault(SimEndpoint::whaticket, R"({"fault":"status","status":500,"count":2})");
  EXPECT_EQ(send(SimEndpoint::whaticket).status, 500);
  EXPECT_EQ(call(port(), "GET", "/_sim/faults").body["faults"]["whaticket"]["remaining"], 1);
  EXPECT_EQ(send(SimEndpoint::whaticket).status, 500);
  EXPECT_EQ(send(SimEndpoint::whaticket).status, 200);
  EXPECT_EQ(send(SimEndpoint::whaticket).status, 200);
  EXPECT_FALSE(call(port(), "GET", "/_sim/faults").body["faults"].contains("whaticket"));
}

TEST_F(SimFaults, RateIsRepeatableForASeed) {
  auto pattern = [](uint64_t seed) {
    SimulatorOptions options;
    options.seed = seed;
    SimulatorThread sim(options);
    call(sim.port(), "PUT", "/_sim/faults/evolution",
         R"({"fault":"status","status":503,"rate":0.5})");
    std::string out;
    const Request q = good_request(SimEndpoint::evolution);
    for (int i = 0; i < 60; ++i)
      out += call(sim.port(), q.method, q.path, q.body, q.headers).status == 503 ? '1' : '0';
    return out;
  };
  const std::string a = pattern(11);
  EXPECT_EQ(pattern(11), a);
  EXPECT_NE(pattern(12), a);
  const auto hits = std::count(a.begin(), a.end(), '1');
  EXPECT_GT(hits, 10);
  EXPECT_LT(hits, 50);
}

TEST_F(SimFaults, LatencyDelaysEveryRequestOfTheEndpoint) {
  put_fault(SimEndpoint::openai, R"({"latency_ms":300})");
  test::HttpClient http;
  const Request q = good_request(SimEndpoint::openai);
  auto start = std::chrono::steady_clock::now();
  const auto r = http.post(sim_->url(q.path), q.body, q.headers);
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds{300});
  // Other endpoints are not delayed: one answers while an OpenAI call is still waiting.
  put_fault(SimEndpoint::openai, R"({"latency_ms":3000})");
  test::RawConnection waiting(port());
  waiting.send(q.method + " " + q.path +
               " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nContent-Length: " +
               std::to_string(q.body.size()) + "\r\n\r\n" + q.body);
  const auto poll_deadline = std::chrono::steady_clock::now() + milliseconds{2000};
  while (call(port(), "GET", "/_sim/healthz").body["delayed"] != 1 &&
         std::chrono::steady_clock::now() < poll_deadline) {
  }
  EXPECT_EQ(send(SimEndpoint::whaticket).status, 200);
  EXPECT_EQ(call(port(), "GET", "/_sim/healthz").body["delayed"],
            1);  // the OpenAI call still waits
  EXPECT_TRUE(waiting.received().empty());
  // A faulted answer waits too.
  put_fault(SimEndpoint::openai,
            R"({"fault":"status","status":500,"latency_ms":{"min":200,"max":250}})");
  start = std::chrono::steady_clock::now();
  EXPECT_EQ(send(SimEndpoint::openai).status, 500);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds{200});
}

TEST_F(SimFaults, HangHoldsUntilTheClientGoes) {
  put_fault(SimEndpoint::openai, R"({"fault":"hang"})");
  const Request q = good_request(SimEndpoint::openai);
  {
    test::RawConnection c(port());
    c.send(q.method + " " + q.path +
           " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nContent-Length: " +
           std::to_string(q.body.size()) + "\r\n\r\n" + q.body);
    // The client's own timeout is what ends the wait.
    EXPECT_FALSE(c.read_response(milliseconds{400}).has_value());
    EXPECT_FALSE(c.closed());
    EXPECT_EQ(call(port(), "GET", "/_sim/healthz").body["hung"], 1);
  }  // the client gives up and closes
  const auto deadline = std::chrono::steady_clock::now() + milliseconds{5000};
  int hung = 1;
  while (hung != 0 && std::chrono::steady_clock::now() < deadline)
    hung = call(port(), "GET", "/_sim/healthz").body["hung"].get<int>();
  EXPECT_EQ(hung, 0);
  const json rec = recorded(SimEndpoint::openai).back();
  EXPECT_EQ(rec["fault"], "hang");
  EXPECT_EQ(rec["status"], 0);
}

TEST_F(SimFaults, HangIsReleasedAtClose) {
  put_fault(SimEndpoint::evolution, R"({"fault":"hang"})");
  const Request q = good_request(SimEndpoint::evolution);
  test::RawConnection c(port());
  c.send(q.method + " " + q.path + " HTTP/1.1\r\nHost: x\r\napikey: k\r\nContent-Length: " +
         std::to_string(q.body.size()) + "\r\n\r\n" + q.body);
  EXPECT_FALSE(c.read_response(milliseconds{200}).has_value());
  sim_->stop();
  EXPECT_TRUE(c.read_until_closed(milliseconds{5000}));
  EXPECT_TRUE(c.received().empty());
}

TEST_F(SimFaults, ResetClosesWithNoAnswer) {
  put_fault(SimEndpoint::cloudapi, R"({"fault":"reset"})");
  test::HttpClient http;
  const Request q = good_request(SimEndpoint::cloudapi);
  const auto r = http.post(sim_->url(q.path), q.body, q.headers);
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error.empty());
  const json rec = recorded(SimEndpoint::cloudapi).back();
  EXPECT_EQ(rec["fault"], "reset");
  EXPECT_EQ(rec["status"], 0);
}

TEST_F(SimFaults, TruncateSendsLessThanItAnnounces) {
  put_fault(SimEndpoint::anthropic, R"({"fault":"truncate"})");
  const Request q = good_request(SimEndpoint::anthropic);
  test::HttpClient http;
  const auto r = http.post(sim_->url(q.path), q.body, q.headers);
  EXPECT_FALSE(r.error.empty()) << "status " << r.status << " body " << r.body;

  test::RawConnection c(port());
  std::string req = q.method + " " + q.path + " HTTP/1.1\r\nHost: x\r\n";
  for (const auto& [k, v] : q.headers) req += k + ": " + v + "\r\n";
  c.send(req + "Content-Length: " + std::to_string(q.body.size()) + "\r\n\r\n" + q.body);
  ASSERT_TRUE(c.read_until_closed(milliseconds{5000}));
  const std::string& got = c.received();
  const size_t head_end = got.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << got;
  EXPECT_TRUE(got.starts_with("HTTP/1.1 200 "));
  const size_t cl = got.find("Content-Length: ");
  ASSERT_NE(cl, std::string::npos);
  const size_t announced = std::stoul(got.substr(cl + 16));
  EXPECT_GT(announced, 0u);
  EXPECT_LT(got.size() - head_end - 4, announced);
  EXPECT_EQ(recorded(SimEndpoint::anthropic).back()["fault"], "truncate");
}

TEST_F(SimFaults, FaultsSetAtStart) {
  SimulatorOptions options;
  auto map = parse_fault_map(json::parse(
      R"({"gemini":{"fault":"overloaded"},"whaticket":{"fault":"status","status":418}})"));
  ASSERT_TRUE(std::holds_alternative<FaultMap>(map));
  options.faults = std::get<FaultMap>(map);
  SimulatorThread sim(options);
  const Request g = good_request(SimEndpoint::gemini);
  EXPECT_EQ(call(sim.port(), g.method, g.path, g.body, g.headers).status, 503);
  const Request w = good_request(SimEndpoint::whaticket);
  EXPECT_EQ(call(sim.port(), w.method, w.path, w.body, w.headers).status, 418);
  const json faults = call(sim.port(), "GET", "/_sim/faults").body["faults"];
  EXPECT_EQ(faults["gemini"]["fault"], "overloaded");
  EXPECT_EQ(faults["whaticket"]["status"], 418);
}

TEST_F(SimFaults, ControlApiRefusesBadSpecsWithReasons) {
  struct Case {
    std::string path, body;
    int status;
    std::string names;
  };
  const std::vector<Case> cases = {
      {"/_sim/faults/openai", R"({"fault":"status","rate":7})", 400, "rate"},
      {"/_sim/faults/openai", R"({"fault":"boom"})", 400, "fault"},
      {"/_sim/faults/openai", R"({"fault":"status","status":"500"})", 400, "status"},
      {"/_sim/faults/evolution", R"({"fault":"quota"})", 400, "quota"},
      {"/_sim/faults/openai", R"({"latency_ms":{"min":9,"max":1}})", 400, "latency_ms"},
      {"/_sim/faults/openai", R"({"fault":"status","extra":true})", 400, "extra"},
      {"/_sim/faults/openai", "not json", 400, "JSON"},
      {"/_sim/faults/openai", "", 400, "empty"},
      {"/_sim/faults/twilio", R"({"fault":"reset"})", 404, "twilio"},
      {"/_sim/faults", R"({"openai":{"fault":"reset"},"x":{}})", 400, "'x'"},
      {"/_sim/faults", R"({"openai":{"count":-1,"fault":"reset"}})", 400, "body.openai.count"},
  };
  for (const Case& c : cases) {
    const Reply r = call(port(), "PUT", c.path, c.body);
    EXPECT_EQ(r.status, c.status) << c.path << " " << c.body;
    ASSERT_TRUE(r.body["error"].is_string()) << r.raw;
    EXPECT_NE(r.body["error"].get<std::string>().find(c.names), std::string::npos)
        << r.body["error"];
  }
  EXPECT_TRUE(call(port(), "GET", "/_sim/faults").body["faults"].empty());  // nothing half-set
  EXPECT_EQ(call(port(), "POST", "/_sim/faults/openai", "{}").status, 405);
}

TEST_F(SimFaults, PutGetAndDeleteFaults) {
  const Reply set = call(port(), "PUT", "/_sim/faults/openai",
                         R"({"fault":"rate_limit","rate":0.5,"retry_after":"3"})");
  ASSERT_EQ(set.status, 200);
  EXPECT_EQ(set.body["fault"]["fault"], "rate_limit");
  EXPECT_EQ(set.body["fault"]["rate"], 0.5);
  EXPECT_EQ(call(port(), "GET", "/_sim/faults/openai").body["fault"]["retry_after"], "3");
  put_fault(SimEndpoint::evolution, R"({"fault":"reset"})");
  EXPECT_EQ(call(port(), "GET", "/_sim/faults").body["faults"].size(), 2u);
  EXPECT_EQ(call(port(), "DELETE", "/_sim/faults/openai").body["cleared"], true);
  EXPECT_EQ(call(port(), "DELETE", "/_sim/faults/openai").body["cleared"], false);
  EXPECT_EQ(call(port(), "GET", "/_sim/faults").body["faults"].size(), 1u);
  // The whole table at once replaces every spec.
  ASSERT_EQ(call(port(), "PUT", "/_sim/faults",
                 R"({"gemini":{"latency_ms":5},"cloudapi":{"fault":"hang"}})")
                .status,
            200);
  const json all = call(port(), "GET", "/_sim/faults").body["faults"];
  EXPECT_EQ(all.size(), 2u);
  EXPECT_FALSE(all.contains("evolution"));
  EXPECT_EQ(call(port(), "DELETE", "/_sim/faults").body["cleared"], 2);
  EXPECT_TRUE(call(port(), "GET", "/_sim/faults").body["faults"].empty());
  EXPECT_EQ(send(SimEndpoint::evolution).status, 201);
}

}  // namespace
}  // namespace recado
