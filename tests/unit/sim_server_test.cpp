// The simulator over real HTTP on loopback (a SimulatorThread): each provider endpoint's
// success shape and refusals (credentials, bad bodies, unknown paths, wrong methods), the
// deterministic LLM replies, the Cal.com bookings and slots, and many requests at once.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "src/sim.hpp"
#include "src/sim_thread.hpp"
#include "src/time_format.hpp"
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

const Headers kBearer = {{"Authorization", "Bearer sk-test"}};
const Headers kAnthropic = {{"x-api-key", "sk-ant"}, {"anthropic-version", "2023-06-01"}};
const Headers kGemini = {{"x-goog-api-key", "AIza-test"}};
const Headers kEvolution = {{"apikey", "evo-key"}};
const Headers kCalcom = {{"Authorization", "Bearer cal_live_x"}, {"cal-api-version", "2024-08-13"}};

const std::string kOpenAiBody =
    R"({"model":"gpt-4o-mini","messages":[{"role":"system","content":"Secretária da Clínica Sol."},{"role":"user","content":"Tem horário amanhã?"}],"max_completion_tokens":300})";

class SimServer : public ::testing::Test {
 protected:
  void SetUp() override {
    SimulatorOptions options;
    options.clock = &clock_;
    sim_ = std::make_unique<SimulatorThread>(options);
  }
  int port() const { return sim_->port(); }

  FakeClock clock_{*parse_rfc3339("2026-01-01T00:00:00Z")};  // a Thursday
  std::unique_ptr<SimulatorThread> sim_;
};

TEST_F(SimServer, OpenAiChatCompletion) {
  const Reply r = call(port(), "POST", "/v1/chat/completions", kOpenAiBody, kBearer);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  EXPECT_EQ(r.body["object"], "chat.completion");
  EXPECT_EQ(r.body["model"], "gpt-4o-mini");
  EXPECT_TRUE(r.body["id"].get<std::string>().starts_with("chatcmpl-"));
  const json& choice = r.body["choices"][0];
  EXPECT_EQ(choice["index"], 0);
  EXPECT_EQ(choice["message"]["role"], "assistant");
  EXPECT_NE(choice["message"]["content"].get<std::string>().find("Tem horário amanhã?"),
            std::string::npos);
  EXPECT_EQ(choice["finish_reason"], "stop");
  const json& usage = r.body["usage"];
  EXPECT_GT(usage["prompt_tokens"].get<int>(), 0);
  EXPECT_GT(usage["completion_tokens"].get<int>(), 0);
  EXPECT_EQ(usage["total_tokens"],
            usage["prompt_tokens"].get<int>() + usage["completion_tokens"].get<int>());
  // Gemini's OpenAI-compatible path is the same endpoint.
  EXPECT_EQ(call(port(), "POST", "/v1beta/openai/chat/completions", kOpenAiBody, kBearer).status,
            200);
}

TEST_F(SimServer, LlmRepliesAreDeterministicAcrossRequestsAndRuns) {
  const Reply a = call(port(), "POST", "/v1/chat/completions", kOpenAiBody, kBearer);
  const Reply b = call(port(), "POST", "/v1/chat/completions", kOpenAiBody, kBearer);
  SimulatorThread other;
  const Reply c = call(other.port(), "POST", "/v1/chat/completions", kOpenAiBody, kBearer);
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.body["choices"][0]["message"]["content"], b.body["choices"][0]["message"]["content"]);
  EXPECT_EQ(a.body["choices"][0]["message"]["content"], c.body["choices"][0]["message"]["content"]);
  EXPECT_NE(a.body["id"], b.body["id"]);  // ids stay unique
  const std::string changed =
      R"({"model":"gpt-4o-mini","messages":[{"role":"system","content":"Secretária da Clínica Lua."},{"role":"user","content":"Tem horário amanhã?"}]})";
  const Reply d = call(port(), "POST", "/v1/chat/completions", changed, kBearer);
  EXPECT_NE(a.body["choices"][0]["message"]["content"], d.body["choices"][0]["message"]["content"]);
}

TEST_F(SimServer, AnthropicMessages) {
  const std::string body =
      R"({"model":"claude-3-5-haiku-latest","max_tokens":256,"system":"Secretária.","messages":[{"role":"user","content":"Oi, bom dia"}]})";
  const Reply r = call(port(), "POST", "/v1/messages", body, kAnthropic);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["type"], "message");
  EXPECT_EQ(r.body["role"], "assistant");
  EXPECT_EQ(r.body["content"][0]["type"], "text");
  EXPECT_NE(r.body["content"][0]["text"].get<std::string>().find("Oi, bom dia"), std::string::npos);
  EXPECT_EQ(r.body["stop_reason"], "end_turn");
  EXPECT_GT(r.body["usage"]["input_tokens"].get<int>(), 0);
  EXPECT_GT(r.body["usage"]["output_tokens"].get<int>(), 0);

  const Reply no_key =
      call(port(), "POST", "/v1/messages", body, {{"anthropic-version", "2023-06-01"}});
  EXPECT_EQ(no_key.status, 401);
  EXPECT_EQ(no_key.body["type"], "error");
  EXPECT_EQ(no_key.body["error"]["type"], "authentication_error");
  const Reply no_version = call(port(), "POST", "/v1/messages", body, {{"x-api-key", "k"}});
  EXPECT_EQ(no_version.status, 400);
  EXPECT_EQ(no_version.body["error"]["type"], "invalid_request_error");
  EXPECT_NE(no_version.body["error"]["message"].get<std::string>().find("anthropic-version"),
            std::string::npos);
}

TEST_F(SimServer, GeminiGenerateContent) {
  const std::string body =
      R"({"contents":[{"role":"user","parts":[{"text":"Quanto custa a consulta?"}]}]})";
  const Reply r =
      call(port(), "POST", "/v1beta/models/gemini-2.0-flash:generateContent", body, kGemini);
  ASSERT_EQ(r.status, 200) << r.raw;
  const json& candidate = r.body["candidates"][0];
  EXPECT_EQ(candidate["content"]["role"], "model");
  EXPECT_NE(
      candidate["content"]["parts"][0]["text"].get<std::string>().find("Quanto custa a consulta?"),
      std::string::npos);
  EXPECT_EQ(candidate["finishReason"], "STOP");
  EXPECT_EQ(r.body["usageMetadata"]["totalTokenCount"],
            r.body["usageMetadata"]["promptTokenCount"].get<int>() +
                r.body["usageMetadata"]["candidatesTokenCount"].get<int>());
  EXPECT_EQ(r.body["modelVersion"], "gemini-2.0-flash");
  // The key may come in the query instead.
  EXPECT_EQ(
      call(port(), "POST", "/v1beta/models/gemini-2.0-flash:generateContent?key=AIza", body).status,
      200);
  const Reply none = call(port(), "POST", "/v1beta/models/gemini-2.0-flash:generateContent", body);
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.body["error"]["status"], "UNAUTHENTICATED");
  const Reply bad = call(port(), "POST", "/v1beta/models/gemini-2.0-flash:generateContent",
                         R"({"contents":[]})", kGemini);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body["error"]["status"], "INVALID_ARGUMENT");
}

TEST_F(SimServer, EvolutionSendText) {
  const Reply r =
      call(port(), "POST", "/message/sendText/clinic1",
           R"({"number":"5511987654321","text":"Sua consulta está confirmada.","delay":1200})",
           kEvolution);
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.body["key"]["remoteJid"], "5511987654321@s.whatsapp.net");
  EXPECT_EQ(r.body["key"]["fromMe"], true);
  EXPECT_EQ(r.body["status"], "PENDING");
  EXPECT_EQ(r.body["message"]["conversation"], "Sua consulta está confirmada.");
  EXPECT_TRUE(r.body["messageTimestamp"].is_string());
  const Reply again = call(port(), "POST", "/message/sendText/clinic1",
                           R"({"number":"5511987654321","text":"x"})", kEvolution);
  EXPECT_NE(r.body["key"]["id"], again.body["key"]["id"]);

  const Reply absent = call(port(), "POST", "/message/sendText/clinic1",
                            R"({"number":"5500123456789","text":"x"})", kEvolution);
  EXPECT_EQ(absent.status, 400);
  EXPECT_EQ(absent.body["status"], 400);
  EXPECT_EQ(absent.body["error"], "Bad Request");
  EXPECT_EQ(absent.body["response"]["message"][0]["exists"], false);
  EXPECT_EQ(absent.body["response"]["message"][0]["number"], "5500123456789");
  EXPECT_EQ(absent.body["response"]["message"][0]["jid"], "5500123456789@s.whatsapp.net");

  const Reply no_key =
      call(port(), "POST", "/message/sendText/clinic1", R"({"number":"5511987654321","text":"x"})");
  EXPECT_EQ(no_key.status, 401);
  EXPECT_EQ(no_key.body["status"], 401);
  const Reply no_text = call(port(), "POST", "/message/sendText/clinic1",
                             R"({"number":"5511987654321"})", kEvolution);
  EXPECT_EQ(no_text.status, 400);
}

TEST_F(SimServer, WhaticketSend) {
  const Reply r = call(port(), "POST", "/api/messages/send",
                       R"({"number":"5511987654321","body":"Olá!"})", kBearer);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["mensagem"], "Mensagem enviada");
  const Reply no_auth =
      call(port(), "POST", "/api/messages/send", R"({"number":"5511987654321","body":"Olá!"})");
  EXPECT_EQ(no_auth.status, 401);
  EXPECT_TRUE(no_auth.body["error"].is_string());
  const Reply absent = call(port(), "POST", "/api/messages/send",
                            R"({"number":"5500987654321","body":"Olá!"})", kBearer);
  EXPECT_EQ(absent.status, 400);
  EXPECT_EQ(absent.body["error"], "ERR_WAPP_INVALID_CONTACT");
}

TEST_F(SimServer, CloudApiMessages) {
  const Reply text = call(
      port(), "POST", "/v21.0/106540352242922/messages",
      R"({"messaging_product":"whatsapp","to":"+5511987654321","type":"text","text":{"body":"Oi"}})",
      kBearer);
  ASSERT_EQ(text.status, 200) << text.raw;
  EXPECT_EQ(text.body["messaging_product"], "whatsapp");
  EXPECT_EQ(text.body["contacts"][0]["input"], "+5511987654321");
  EXPECT_EQ(text.body["contacts"][0]["wa_id"], "5511987654321");
  EXPECT_TRUE(text.body["messages"][0]["id"].get<std::string>().starts_with("wamid."));
  const Reply tmpl = call(
      port(), "POST", "/v19/106540352242922/messages",
      R"({"messaging_product":"whatsapp","to":"5511987654321","type":"template","template":{"name":"lembrete","language":{"code":"pt_BR"}}})",
      kBearer);
  ASSERT_EQ(tmpl.status, 200) << tmpl.raw;
  EXPECT_NE(tmpl.body["messages"][0]["id"], text.body["messages"][0]["id"]);

  const Reply no_product = call(port(), "POST", "/v21.0/1/messages",
                                R"({"to":"1","type":"text","text":{"body":"Oi"}})", kBearer);
  EXPECT_EQ(no_product.status, 400);
  EXPECT_EQ(no_product.body["error"]["type"], "OAuthException");
  EXPECT_EQ(no_product.body["error"]["code"], 100);
  EXPECT_TRUE(no_product.body["error"]["fbtrace_id"].is_string());
  const Reply no_auth = call(port(), "POST", "/v21.0/1/messages",
                             R"({"messaging_product":"whatsapp","to":"1","text":{"body":"x"}})");
  EXPECT_EQ(no_auth.status, 401);
  EXPECT_EQ(no_auth.body["error"]["code"], 190);
}

TEST_F(SimServer, CalcomSlotsBookAndCancel) {
  const std::string slots_path =
      "/v2/slots?eventTypeId=7&start=2026-01-05&end=2026-01-06&timeZone=America%2FSao_Paulo";
  const Reply slots = call(port(), "GET", slots_path, "", kCalcom);
  ASSERT_EQ(slots.status, 200) << slots.raw;
  EXPECT_EQ(slots.body["status"], "success");
  ASSERT_EQ(slots.body["data"].size(), 2u);
  ASSERT_EQ(slots.body["data"]["2026-01-05"].size(), 16u);
  EXPECT_EQ(slots.body["data"]["2026-01-05"][0]["start"], "2026-01-05T06:00:00.000-03:00");  // in the zone asked for
  EXPECT_EQ(slots.body["data"]["2026-01-05"][15]["start"], "2026-01-05T13:30:00.000-03:00");
  // The weekend has none.
  const Reply weekend =
      call(port(), "GET", "/v2/slots?eventTypeId=7&start=2026-01-03&end=2026-01-04", "", kCalcom);
  EXPECT_TRUE(weekend.body["data"].empty()) << weekend.raw;

  const std::string booking =
      R"({"start":"2026-01-05T13:00:00Z","eventTypeId":7,"attendee":{"name":"Ana","email":"ana@example.com","timeZone":"America/Sao_Paulo","phoneNumber":"+5511987654321"}})";
  const Reply created = call(port(), "POST", "/v2/bookings", booking, kCalcom);
  ASSERT_EQ(created.status, 201) << created.raw;
  const json& data = created.body["data"];
  EXPECT_EQ(data["status"], "accepted");
  EXPECT_EQ(data["start"], "2026-01-05T13:00:00.000Z");
  EXPECT_EQ(data["end"], "2026-01-05T13:30:00.000Z");
  EXPECT_EQ(data["attendees"][0]["name"], "Ana");
  EXPECT_EQ(data["attendees"][0]["phoneNumber"], "+5511987654321");
  const std::string uid = data["uid"];
  EXPECT_FALSE(uid.empty());
  EXPECT_TRUE(data["id"].is_number_integer());

  const Reply after = call(port(), "GET", slots_path, "", kCalcom);
  EXPECT_EQ(after.body["data"]["2026-01-05"].size(), 15u);
  EXPECT_EQ(call(port(), "POST", "/v2/bookings", booking, kCalcom).status, 400);  // taken

  const Reply upcoming = call(port(), "GET", "/v2/bookings?status=upcoming", "", kCalcom);
  ASSERT_EQ(upcoming.status, 200);
  ASSERT_EQ(upcoming.body["data"].size(), 1u);
  EXPECT_EQ(upcoming.body["data"][0]["uid"], uid);

  const Reply cancelled = call(port(), "POST", "/v2/bookings/" + uid + "/cancel",
                               R"({"cancellationReason":"imprevisto"})", kCalcom);
  ASSERT_EQ(cancelled.status, 200) << cancelled.raw;
  EXPECT_EQ(cancelled.body["data"]["status"], "cancelled");
  EXPECT_EQ(call(port(), "GET", slots_path, "", kCalcom).body["data"]["2026-01-05"].size(), 16u);
  EXPECT_TRUE(
      call(port(), "GET", "/v2/bookings?status=upcoming", "", kCalcom).body["data"].empty());
  EXPECT_EQ(call(port(), "GET", "/v2/bookings?status=cancelled", "", kCalcom).body["data"].size(),
            1u);
  EXPECT_EQ(call(port(), "POST", "/v2/bookings/" + uid + "/cancel", "", kCalcom).status,
            400);  // already
  const Reply missing = call(port(), "POST", "/v2/bookings/nope/cancel", "", kCalcom);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body["status"], "error");
  EXPECT_EQ(missing.body["error"]["code"], "NOT_FOUND");
}

TEST_F(SimServer, CalcomRefusals) {
  const std::string attendee =
      R"("attendee":{"name":"Ana","email":"ana@example.com","timeZone":"UTC"})";
  auto book = [&](const std::string& start) {
    return call(port(), "POST", "/v2/bookings",
                R"({"start":")" + start + R"(","eventTypeId":7,)" + attendee + "}", kCalcom);
  };
  EXPECT_EQ(book("2025-12-29T13:00:00Z").status, 400);  // the past
  EXPECT_EQ(book("2026-01-05T13:15:00Z").status, 400);  // not on the grid
  EXPECT_EQ(book("2026-01-05T18:00:00Z").status, 400);  // after hours
  EXPECT_EQ(book("2026-01-03T13:00:00Z").status, 400);  // Saturday
  const Reply no_type = call(port(), "POST", "/v2/bookings",
                             R"({"start":"2026-01-05T13:00:00Z",)" + attendee + "}", kCalcom);
  EXPECT_EQ(no_type.status, 400);
  EXPECT_EQ(no_type.body["status"], "error");
  EXPECT_EQ(no_type.body["error"]["code"], "BAD_REQUEST");
  EXPECT_NE(no_type.body["error"]["message"].get<std::string>().find("eventTypeId"),
            std::string::npos);
  EXPECT_EQ(call(port(), "GET", "/v2/slots?start=2026-01-05&end=2026-01-06", "", kCalcom).status,
            400);
  EXPECT_EQ(
      call(port(), "GET", "/v2/slots?eventTypeId=7&start=2026-01-05&end=2026-06-06", "", kCalcom)
          .status,
      400);
  EXPECT_EQ(call(port(), "GET", "/v2/bookings?status=someday", "", kCalcom).status, 400);
  const Reply no_version = call(port(), "GET", "/v2/bookings", "", kBearer);
  EXPECT_EQ(no_version.status, 400);
  const Reply no_auth =
      call(port(), "GET", "/v2/bookings", "", {{"cal-api-version", "2024-08-13"}});
  EXPECT_EQ(no_auth.status, 401);
  EXPECT_EQ(no_auth.body["error"]["code"], "UNAUTHORIZED");
}

TEST_F(SimServer, UnknownPathsAndWrongMethods) {
  const Reply unknown = call(port(), "POST", "/v1/embeddings", "{}", kBearer);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_TRUE(unknown.body["error"].is_string());
  const Reply get_openai = call(port(), "GET", "/v1/chat/completions", "", kBearer);
  EXPECT_EQ(get_openai.status, 405);
  EXPECT_EQ(get_openai.headers.at("allow"), "POST");
  EXPECT_TRUE(get_openai.body["error"]["message"].is_string());  // OpenAI's error shape
  EXPECT_EQ(call(port(), "DELETE", "/v2/bookings", "", kCalcom).status, 405);
  EXPECT_EQ(call(port(), "GET", "/_sim/nothing").status, 404);
  EXPECT_EQ(call(port(), "POST", "/_sim/healthz").status, 405);
  const Reply health = call(port(), "GET", "/_sim/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body["status"], "ok");
}

TEST_F(SimServer, BadBodiesGetReasonsNotCrashes) {
  for (const std::string& body :
       {std::string("not json"), std::string("[1,2]"), std::string(64, '['), std::string(""),
        std::string("{\"model\":\"m\",\"messages\":\"hi\"}"),
        std::string("{\"a\":\"\xff\xfe\"}")}) {
    const Reply r = call(port(), "POST", "/v1/chat/completions", body, kBearer);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_TRUE(r.body["error"]["message"].is_string()) << r.raw;
  }
  EXPECT_EQ(call(port(), "GET", "/_sim/healthz").status, 200);
}

TEST_F(SimServer, ManyRequestsWaitOnLatencyAtOnce) {
  // 1,000 connections each held by a 500 ms latency: timers, not a queue, so all of them
  // are answered in about 500 ms rather than 500 s.
  ASSERT_EQ(call(port(), "PUT", "/_sim/faults/evolution", R"({"latency_ms":500})").status, 200);
  const std::string body = R"({"number":"5511987654321","text":"x"})";
  const std::string req =
      "POST /message/sendText/c1 HTTP/1.1\r\nHost: x\r\napikey: k\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  constexpr int kCalls = 1000;
  std::vector<std::unique_ptr<test::RawConnection>> conns;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kCalls; ++i) {
    conns.push_back(std::make_unique<test::RawConnection>(port()));
    ASSERT_TRUE(conns.back()->send(req));
  }
  int answered = 0;
  for (auto& c : conns) {
    auto r = c->read_response(milliseconds{20000});
    if (r && r->status == 201) ++answered;
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(answered, kCalls);
  EXPECT_GE(elapsed, milliseconds{500});
  EXPECT_LT(elapsed, milliseconds{15000});
}

}  // namespace
}  // namespace recado
