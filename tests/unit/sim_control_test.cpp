// The simulator's control API over real HTTP: the request recorder (contents, since,
// endpoint, limit, clearing, its bound), and POST /_sim/webhooks delivering signed webhooks
// to a stand-in ingress that checks them exactly as recado's does (check_webhook_auth, then
// decode_webhook).
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "src/http_server.hpp"
#include "src/sim.hpp"
#include "src/sim_thread.hpp"
#include "src/webhook_auth.hpp"
#include "src/webhook_decode.hpp"
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

int64_t unix_ms_now() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// --- The recorder ---------------------------------------------------------------------------

class SimRecorderHttp : public ::testing::Test {
 protected:
  void start(SimulatorOptions options = {}) {
    sim_ = std::make_unique<SimulatorThread>(std::move(options));
  }
  int port() const { return sim_->port(); }
  json requests(const std::string& query = "") {
    const Reply r = call(port(), "GET", "/_sim/requests" + query);
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body;
  }
  std::unique_ptr<SimulatorThread> sim_;
};

TEST_F(SimRecorderHttp, KeepsEachRequestWithWhatItGot) {
  start();
  const int64_t before = unix_ms_now();
  call(port(), "POST", "/message/sendText/c1", R"({"number":"5511987654321","text":"oi"})",
       {{"apikey", "k1"}, {"X-Trace", "t1"}});
  call(port(), "GET", "/v2/slots?eventTypeId=1&start=2026-01-05&end=2026-01-05", "",
       {{"Authorization", "Bearer c"}});
  call(port(), "POST", "/nowhere", "x");
  const json all = requests();
  ASSERT_EQ(all["requests"].size(), 3u) << all.dump();
  EXPECT_EQ(all["last_seq"], 3);
  const json& first = all["requests"][0];
  EXPECT_EQ(first["seq"], 1);
  EXPECT_GE(first["at_ms"].get<int64_t>(), before);
  EXPECT_LE(first["at_ms"].get<int64_t>(), unix_ms_now());
  EXPECT_EQ(first["endpoint"], "evolution");
  EXPECT_EQ(first["method"], "POST");
  EXPECT_EQ(first["path"], "/message/sendText/c1");
  EXPECT_EQ(first["query"], "");
  EXPECT_EQ(first["headers"]["apikey"], "k1");
  EXPECT_EQ(first["headers"]["x-trace"], "t1");
  EXPECT_EQ(first["body"], R"({"number":"5511987654321","text":"oi"})");
  EXPECT_EQ(first["status"], 201);
  EXPECT_TRUE(first["fault"].is_null());
  const json& second = all["requests"][1];
  EXPECT_EQ(second["endpoint"], "calcom_slots");
  EXPECT_EQ(second["query"], "eventTypeId=1&start=2026-01-05&end=2026-01-05");
  EXPECT_EQ(second["status"], 400);  // no cal-api-version
  const json& third = all["requests"][2];
  EXPECT_EQ(third["endpoint"], "unknown");
  EXPECT_EQ(third["status"], 404);
  // Control calls are not recorded.
  EXPECT_EQ(requests()["requests"].size(), 3u);
}

TEST_F(SimRecorderHttp, SinceEndpointAndLimit) {
  start();
  for (int i = 0; i < 3; ++i) {
    call(port(), "POST", "/api/messages/send", R"({"number":"5511987654321","body":"x"})",
         {{"Authorization", "Bearer t"}});
    call(port(), "POST", "/v1/chat/completions",
         R"({"model":"m","messages":[{"role":"user","content":"x"}]})",
         {{"Authorization", "Bearer t"}});
  }
  EXPECT_EQ(requests("?since=4")["requests"].size(), 2u);
  EXPECT_EQ(requests("?since=4")["requests"][0]["seq"], 5);
  EXPECT_EQ(requests("?since=6")["requests"].size(), 0u);
  EXPECT_EQ(requests("?since=100")["requests"].size(), 0u);
  const json openai = requests("?endpoint=openai");
  ASSERT_EQ(openai["requests"].size(), 3u);
  for (const json& r : openai["requests"]) EXPECT_EQ(r["endpoint"], "openai");
  EXPECT_EQ(requests("?endpoint=openai&since=2")["requests"][0]["seq"], 4);
  EXPECT_EQ(requests("?limit=2")["requests"].size(), 2u);
  EXPECT_EQ(call(port(), "GET", "/_sim/requests?since=abc").status, 400);
  EXPECT_EQ(call(port(), "GET", "/_sim/requests?endpoint=twilio").status, 400);
  EXPECT_EQ(call(port(), "GET", "/_sim/requests?limit=0").status, 400);

  ASSERT_EQ(call(port(), "DELETE", "/_sim/requests").status, 200);
  EXPECT_EQ(requests()["requests"].size(), 0u);
  call(port(), "POST", "/api/messages/send", R"({"number":"5511987654321","body":"x"})",
       {{"Authorization", "Bearer t"}});
  const json after = requests();
  ASSERT_EQ(after["requests"].size(), 1u);
  EXPECT_EQ(after["requests"][0]["seq"], 7);  // numbers go on after a clear
}

TEST_F(SimRecorderHttp, KeepsOnlyTheNewestUpToItsBound) {
  SimulatorOptions options;
  options.max_recorded = 5;
  start(options);
  for (int i = 0; i < 8; ++i) call(port(), "POST", "/nowhere");
  const json all = requests();
  ASSERT_EQ(all["requests"].size(), 5u);
  EXPECT_EQ(all["requests"][0]["seq"], 4);
  EXPECT_EQ(all["requests"][4]["seq"], 8);
  EXPECT_EQ(requests("?since=2")["requests"].size(), 5u);
  EXPECT_EQ(requests("?since=6")["requests"].size(), 2u);
}

// --- Webhooks -----------------------------------------------------------------------------------

constexpr const char* kToken = "evo-token";
constexpr const char* kSecret = "hmac-secret";

// An ingress stand-in on its own loop thread: POST /webhooks/t1/{provider} is checked with
// recado's own auth check and decoder, and answered 200 {"events":N,"ids":[...]} or the refusal.
class Receiver {
 public:
  Receiver() {
    auto ready = std::make_shared<std::promise<int>>();
    auto bound = ready->get_future();
    thread_ = std::thread([this, ready] {
      EventLoop loop;
      HttpServer server(loop, HttpLimits{}, [this](HttpRequest& r, HttpResponder responder) {
        responder.send(answer(r));
      });
      const int p = server.listen("127.0.0.1", 0);
      loop_ = &loop;
      server_ = &server;
      ready->set_value(p);
      loop.run();
    });
    port_ = bound.get();
  }
  ~Receiver() {
    EventLoop* loop = loop_;
    HttpServer* server = server_;
    loop->post([loop, server] { server->close([loop] { loop->stop(); }); });
    thread_.join();
  }
  std::string url(const std::string& provider) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/webhooks/t1/" + provider;
  }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mutex_);
    return bodies_;
  }

 private:
  HttpResponse answer(const HttpRequest& r) {
    {
      std::lock_guard lock(mutex_);
      bodies_.push_back(r.body);
    }
    const std::string name = r.path.substr(r.path.rfind('/') + 1);
    auto provider = parse_provider(name);
    if (!provider) return HttpResponse::error(404, "unknown provider");
    WebhookConfig c;
    c.provider = *provider;
    if (*provider == Provider::evolution || *provider == Provider::whaticket)
      c.token = Secret{kToken, "test"};
    if (*provider == Provider::cloudapi || *provider == Provider::calcom ||
        *provider == Provider::chatwoot)
      c.secret = Secret{kSecret, "test"};
    if (auto failure = check_webhook_auth(c, r, "", system_now()))
      return HttpResponse::error(failure->status, failure->reason);
    auto decoded = decode_webhook(*provider, r.body);
    if (auto* e = std::get_if<WebhookError>(&decoded))
      return HttpResponse::error(e->status, e->reason);
    json ids = json::array();
    for (const InboundEvent& e : std::get<DecodedWebhook>(decoded).events)
      ids.push_back(e.dedup_key);
    return HttpResponse::json(200, json{{"events", ids.size()}, {"ids", ids}}.dump());
  }

  std::thread thread_;
  EventLoop* loop_ = nullptr;
  HttpServer* server_ = nullptr;
  int port_ = 0;
  std::mutex mutex_;
  std::vector<std::string> bodies_;
};

class SimWebhooksHttp : public ::testing::Test {
 protected:
  Reply order(const json& body) { return call(sim_.port(), "POST", "/_sim/webhooks", body.dump()); }
  Receiver receiver_;
  SimulatorThread sim_;
};

TEST_F(SimWebhooksHttp, EachProvidersWebhookIsAcceptedByRecadosChecks) {
  const std::vector<json> orders = {
      {{"url", receiver_.url("evolution")},
       {"provider", "evolution"},
       {"token", kToken},
       {"message", {{"from", "5511987654321"}, {"name", "Ana"}, {"text", "Oi"}}}},
      {{"url", receiver_.url("whaticket")},
       {"provider", "whaticket"},
       {"token", kToken},
       {"message", {{"from", "5511987654321"}, {"text", "Oi"}}}},
      {{"url", receiver_.url("cloudapi")},
       {"provider", "cloudapi"},
       {"secret", kSecret},
       {"message", {{"from", "5511987654321"}, {"text", "Oi"}}}},
      {{"url", receiver_.url("calcom")},
       {"provider", "calcom"},
       {"secret", kSecret},
       {"message", {{"event", "BOOKING_CREATED"}, {"start", "2026-01-05T13:00:00Z"}}}},
      {{"url", receiver_.url("chatwoot")},
       {"provider", "chatwoot"},
       {"secret", kSecret},
       {"message",
        {{"event", "conversation_status_changed"},
         {"status", "open"},
         {"phone", "5511987654321"}}}},
  };
  for (const json& o : orders) {
    const Reply r = order(o);
    ASSERT_EQ(r.status, 200) << o.dump() << " -> " << r.raw;
    EXPECT_EQ(r.body["sent"], 1);
    EXPECT_EQ(r.body["answered"], 1);
    ASSERT_EQ(r.body["statuses"].size(), 1u);
    EXPECT_EQ(r.body["statuses"][0], 200) << o["provider"] << ": " << r.body["bodies"][0];
    EXPECT_EQ(json::parse(r.body["bodies"][0].get<std::string>())["events"], 1);
    EXPECT_FALSE(r.body["request"]["body"].get<std::string>().empty());
  }
  EXPECT_EQ(receiver_.bodies().size(), orders.size());
}

TEST_F(SimWebhooksHttp, RepeatSendsDuplicates) {
  const json o = {{"url", receiver_.url("cloudapi")},
                  {"provider", "cloudapi"},
                  {"secret", kSecret},
                  {"repeat", 3},
                  {"message", {{"from", "5511987654321"}, {"text", "Oi"}}}};
  const Reply r = order(o);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["statuses"], json::array({200, 200, 200}));
  const auto bodies = receiver_.bodies();
  ASSERT_EQ(bodies.size(), 3u);
  EXPECT_EQ(bodies[0], bodies[1]);
  EXPECT_EQ(bodies[1], bodies[2]);
  // Same dedup key every time; a second order makes a new message id.
  EXPECT_EQ(r.body["bodies"][0], r.body["bodies"][2]);
  const Reply again = order(o);
  EXPECT_NE(json::parse(again.body["bodies"][0].get<std::string>())["ids"][0],
            json::parse(r.body["bodies"][0].get<std::string>())["ids"][0]);

  json concurrent = o;
  concurrent["repeat"] = 20;
  concurrent["concurrent"] = true;
  const Reply burst = order(concurrent);
  ASSERT_EQ(burst.status, 200) << burst.raw;
  EXPECT_EQ(burst.body["answered"], 20);
  for (const json& s : burst.body["statuses"]) EXPECT_EQ(s, 200);
}

TEST_F(SimWebhooksHttp, WrongCredentialsAreRefusedByTheReceiver) {
  const Reply r = order({{"url", receiver_.url("cloudapi")},
                         {"provider", "cloudapi"},
                         {"secret", "not-the-secret"},
                         {"message", {{"from", "5511987654321"}, {"text", "Oi"}}}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body["statuses"][0], 403);
  const Reply no_token = order({{"url", receiver_.url("evolution")},
                                {"provider", "evolution"},
                                {"message", {{"from", "5511987654321"}, {"text", "Oi"}}}});
  EXPECT_EQ(no_token.body["statuses"][0], 401);
}

TEST_F(SimWebhooksHttp, UnreachableUrlAndBadOrders) {
  // A port nobody listens on: bind one, close it.
  int dead_port = 0;
  {
    SimulatorThread gone;
    dead_port = gone.port();
  }
  const Reply r =
      order({{"url", "http://127.0.0.1:" + std::to_string(dead_port) + "/webhooks/t1/evolution"},
             {"provider", "evolution"},
             {"token", kToken},
             {"timeout_ms", 2000},
             {"message", {{"from", "5511987654321"}, {"text", "Oi"}}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["statuses"][0], 0);
  EXPECT_EQ(r.body["answered"], 0);
  EXPECT_FALSE(r.body["errors"][0].get<std::string>().empty());

  EXPECT_EQ(call(sim_.port(), "POST", "/_sim/webhooks", "nope").status, 400);
  const Reply bad = order({{"url", receiver_.url("evolution")},
                           {"provider", "evolution"},
                           {"message", {{"text", "x"}}}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body["error"].get<std::string>().find("message.from"), std::string::npos);
  EXPECT_EQ(call(sim_.port(), "GET", "/_sim/webhooks").status, 405);
}

TEST_F(SimWebhooksHttp, BookingsCanBeCleared) {
  const Headers calcom = {{"Authorization", "Bearer c"}, {"cal-api-version", "2024-08-13"}};
  const Reply made = call(
      sim_.port(), "POST", "/v2/bookings",
      R"({"start":"2030-01-07T13:00:00Z","eventTypeId":1,"attendee":{"name":"A","email":"a@b.c","timeZone":"UTC"}})",
      calcom);
  ASSERT_EQ(made.status, 201) << made.raw;
  EXPECT_EQ(call(sim_.port(), "GET", "/v2/bookings", "", calcom).body["data"].size(), 1u);
  EXPECT_EQ(call(sim_.port(), "DELETE", "/_sim/bookings").body["cleared"], 1);
  EXPECT_EQ(call(sim_.port(), "GET", "/v2/bookings", "", calcom).body["data"].size(), 0u);
}

}  // namespace
}  // namespace recado
