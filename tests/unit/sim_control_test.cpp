// The simulator's control API over real HTTP: the request recorder (contents, since,
// endpoint, limit, clearing, its bound), POST /_sim/webhooks delivering signed webhooks
// to a stand-in ingress that checks them exactly as recado's does (check_webhook_auth, then
// decode_webhook), and the LLM script (/_sim/llm/script) answered by every LLM API.
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

Reply call(int port, const std::string& method, const std::string& path,
           const std::string& body = "", const Headers& headers = {}) {
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

// --- The LLM script -------------------------------------------------------------------------

class SimLlmScriptHttp : public ::testing::Test {
 protected:
  Reply script(const std::string& method, const std::string& body = "") {
    return call(sim_.port(), method, "/_sim/llm/script", body);
  }
  Reply openai(const json& extra = json::object()) {
    json body = {{"model", "gpt-4o-mini"},
                 {"messages", {{{"role", "user"}, {"content", "quero marcar amanhã"}}}}};
    body.update(extra);
    return call(sim_.port(), "POST", "/v1/chat/completions", body.dump(),
                {{"Authorization", "Bearer sk"}});
  }
  Reply anthropic() {
    const json body = {{"model", "claude-3-5-haiku-latest"},
                       {"max_tokens", 300},
                       {"messages", {{{"role", "user"}, {"content", "oi"}}}}};
    return call(sim_.port(), "POST", "/v1/messages", body.dump(),
                {{"x-api-key", "k"}, {"anthropic-version", "2023-06-01"}});
  }
  Reply gemini() {
    const json body = {{"contents", {{{"role", "user"}, {"parts", {{{"text", "oi"}}}}}}}};
    return call(sim_.port(), "POST", "/v1beta/models/gemini-2.0-flash:generateContent", body.dump(),
                {{"x-goog-api-key", "k"}});
  }
  SimulatorThread sim_;
};

const char* kThreeTurns = R"({"turns":[
    {"tool_calls":[{"name":"find_slots","arguments":{"date":"2026-11-27","days":1}}]},
    {"text":"Tenho às 9h e às 10h."},
    {"tool_calls":[{"name":"book_slot","arguments":{"start":"2026-11-27T09:00"}},
                   {"name":"cancel_booking"}]}]})";

TEST_F(SimLlmScriptHttp, EachRequestTakesTheNextTurnInItsApisFormat) {
  const Reply queued = script("POST", kThreeTurns);
  ASSERT_EQ(queued.status, 200) << queued.raw;
  EXPECT_EQ(queued.body["appended"], 3);
  EXPECT_EQ(queued.body["remaining"], 3);
  const Reply shown = script("GET");
  ASSERT_EQ(shown.status, 200);
  EXPECT_EQ(shown.body["remaining"], 3);
  EXPECT_EQ(
      shown.body["turns"][0],
      json::parse(
          R"({"tool_calls":[{"name":"find_slots","arguments":{"date":"2026-11-27","days":1}}]})"));
  EXPECT_EQ(shown.body["turns"][2]["tool_calls"][1],
            json::parse(R"({"name":"cancel_booking","arguments":{}})"));

  // OpenAI, without tools in the request, gets the first: a tool call.
  const Reply first = openai();
  ASSERT_EQ(first.status, 200) << first.raw;
  const json& choice = first.body["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "tool_calls");
  EXPECT_TRUE(choice["message"]["content"].is_null());
  const json& call0 = choice["message"]["tool_calls"][0];
  EXPECT_TRUE(call0["id"].get<std::string>().starts_with("call_")) << call0;
  EXPECT_EQ(call0["type"], "function");
  EXPECT_EQ(call0["function"]["name"], "find_slots");
  EXPECT_EQ(json::parse(call0["function"]["arguments"].get<std::string>()),
            json({{"date", "2026-11-27"}, {"days", 1}}));
  EXPECT_GT(first.body["usage"]["completion_tokens"].get<int>(), 0);

  // Anthropic gets the text.
  const Reply second = anthropic();
  ASSERT_EQ(second.status, 200) << second.raw;
  EXPECT_EQ(second.body["content"],
            json::parse(R"([{"type":"text","text":"Tenho às 9h e às 10h."}])"));
  EXPECT_EQ(second.body["stop_reason"], "end_turn");

  // Gemini gets the two calls.
  const Reply third = gemini();
  ASSERT_EQ(third.status, 200) << third.raw;
  const json& parts = third.body["candidates"][0]["content"]["parts"];
  ASSERT_EQ(parts.size(), 2u) << third.raw;
  EXPECT_EQ(parts[0]["functionCall"]["name"], "book_slot");
  EXPECT_EQ(parts[0]["functionCall"]["args"], json({{"start", "2026-11-27T09:00"}}));
  EXPECT_EQ(parts[1]["functionCall"], json::parse(R"({"name":"cancel_booking","args":{}})"));
  EXPECT_EQ(third.body["candidates"][0]["finishReason"], "STOP");

  // Empty again: the deterministic answer.
  EXPECT_EQ(script("GET").body["remaining"], 0);
  const Reply after = openai();
  EXPECT_EQ(after.body["choices"][0]["finish_reason"], "stop");
  EXPECT_NE(after.body["choices"][0]["message"]["content"].get<std::string>().find("[sim "),
            std::string::npos);

  // Every answer is in the recorder as usual.
  const Reply recorded = call(sim_.port(), "GET", "/_sim/requests");
  ASSERT_EQ(recorded.body["requests"].size(), 4u);
  EXPECT_EQ(recorded.body["requests"][0]["endpoint"], "openai");
  EXPECT_EQ(recorded.body["requests"][1]["endpoint"], "anthropic");
  EXPECT_EQ(recorded.body["requests"][2]["endpoint"], "gemini");
  for (const json& r : recorded.body["requests"]) EXPECT_EQ(r["status"], 200);
}

TEST_F(SimLlmScriptHttp, ToolCallIdsAreUniquePerAnswer) {
  ASSERT_EQ(script("POST", R"({"turns":[{"tool_calls":[{"name":"a"},{"name":"b"}]},
                                        {"tool_calls":[{"name":"a"}]}]})")
                .status,
            200);
  const Reply one = openai();
  const json& calls = one.body["choices"][0]["message"]["tool_calls"];
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_NE(calls[0]["id"], calls[1]["id"]);
  const std::string later =
      call(sim_.port(), "POST", "/v1/messages",
           R"({"model":"c","max_tokens":9,"messages":[{"role":"user","content":"x"}]})",
           {{"x-api-key", "k"}, {"anthropic-version", "2023-06-01"}})
          .body["content"][0]["id"];
  EXPECT_TRUE(later.starts_with("toolu_")) << later;
  // The same run, another response: another number.
  EXPECT_NE(later.substr(6), calls[0]["id"].get<std::string>().substr(5));
}

TEST_F(SimLlmScriptHttp, RefusedAndFaultedRequestsTakeNoTurn) {
  ASSERT_EQ(script("POST", R"({"turns":[{"text":"primeiro"},{"text":"segundo"}]})").status, 200);
  // A bad body: 400, no turn taken.
  EXPECT_EQ(call(sim_.port(), "POST", "/v1/chat/completions", R"({"model":"m"})",
                 {{"Authorization", "Bearer sk"}})
                .status,
            400);
  // A fault that answers: no turn taken either.
  ASSERT_EQ(
      call(sim_.port(), "PUT", "/_sim/faults/openai", R"({"fault":"status","status":503})").status,
      200);
  EXPECT_EQ(openai().status, 503);
  ASSERT_EQ(call(sim_.port(), "DELETE", "/_sim/faults/openai").status, 200);
  EXPECT_EQ(script("GET").body["remaining"], 2);
  EXPECT_EQ(openai().body["choices"][0]["message"]["content"], "primeiro");
  // Clearing drops the rest.
  const Reply cleared = script("DELETE");
  ASSERT_EQ(cleared.status, 200);
  EXPECT_EQ(cleared.body["cleared"], 1);
  EXPECT_EQ(script("GET").body["turns"], json::array());
}

TEST_F(SimLlmScriptHttp, BadScriptsAreRefusedNamingTheField) {
  struct Case {
    std::string body;
    std::string names;
  };
  const std::vector<Case> cases = {
      {"not json", "JSON"},
      {"", "empty"},
      {R"({"turns":[]})", "turns"},
      {R"({"turns":[{"text":"ok"},{"tool_calls":[{"arguments":{}}]}]})",
       "turns[1].tool_calls[0].name"},
      {R"({"turns":[{"tool_calls":[{"name":"x","arguments":[1]}]}]})",
       "turns[0].tool_calls[0].arguments"},
      {R"({"turns":[{"texto":"oi"}]})", "texto"},
  };
  for (const Case& c : cases) {
    const Reply r = script("POST", c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    EXPECT_NE(r.body["error"].get<std::string>().find(c.names), std::string::npos)
        << c.body << " -> " << r.raw;
  }
  EXPECT_EQ(script("GET").body["remaining"], 0);  // nothing half-appended
  const Reply put = script("PUT", "{}");
  EXPECT_EQ(put.status, 405);
  EXPECT_EQ(put.headers.at("allow"), "GET, POST, DELETE");
}

TEST_F(SimLlmScriptHttp, WithoutAScriptToolsGetTheSecretary) {
  const json tools =
      json::parse(R"([{"type":"function","function":{"name":"find_slots","parameters":{}}},
                                     {"type":"function","function":{"name":"book_slot","parameters":{}}}])");
  const Reply r =
      openai({{"tools", tools},
              {"messages",
               {{{"role", "system"}, {"content", "Clínica Sol. local time 2026-11-26T14:05"}},
                {{"role", "user"}, {"content", "quero marcar amanhã de manhã"}}}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  const json& message = r.body["choices"][0]["message"];
  ASSERT_EQ(message["tool_calls"].size(), 1u) << r.raw;
  EXPECT_EQ(message["tool_calls"][0]["function"]["name"], "find_slots");
  EXPECT_EQ(json::parse(message["tool_calls"][0]["function"]["arguments"].get<std::string>()),
            json({{"date", "2026-11-27"}, {"days", 1}, {"part_of_day", "morning"}}));
  // The script still comes first.
  ASSERT_EQ(script("POST", R"({"turns":[{"text":"roteiro"}]})").status, 200);
  EXPECT_EQ(openai({{"tools", tools}}).body["choices"][0]["message"]["content"], "roteiro");
}

TEST(SimLlmScript, InProcessAccess) {
  SimulatorThread sim;
  sim.run([](Simulator& s) {
    LlmScriptTurn turn;
    turn.text = "direto";
    ASSERT_TRUE(s.llm_script().append({turn}));
  });
  const Reply r = call(sim.port(), "POST", "/v1/chat/completions",
                       R"({"model":"m","messages":[{"role":"user","content":"x"}]})",
                       {{"Authorization", "Bearer sk"}});
  EXPECT_EQ(r.body["choices"][0]["message"]["content"], "direto");
  size_t left = 1;
  sim.run([&](Simulator& s) { left = s.llm_script().size(); });
  EXPECT_EQ(left, 0u);
}

}  // namespace
}  // namespace recado
