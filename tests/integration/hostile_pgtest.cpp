// Hostile requests against the webhook ingress: broken HTTP, request smuggling, oversized
// and slow requests, bodies that are not what they claim, and bad credentials. Each must
// get the right 4xx with a reason, and leave the database exactly as it was; and the
// ingress must keep serving the well-behaved.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/http_client.hpp"
#include "tests/support/ingress_harness.hpp"
#include "tests/support/pg_harness.hpp"

namespace recado {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using test::HttpClient;
using test::HttpResult;
using test::IngressServer;
using test::RawConnection;
using test::RawResponse;
using test::TestDatabase;

constexpr const char* kJid = "5511987654321@s.whatsapp.net";

// Request head for a POST to `path` with the Evolution token, without framing headers.
std::string post_head(const std::string& path = "/webhooks/clinic/evolution") {
  return "POST " + path + " HTTP/1.1\r\nHost: ingress.test\r\nX-Recado-Token: " +
         test::evolution_token_headers().begin()->second + "\r\nContent-Type: application/json\r\n";
}

// A complete, valid POST of `body` with Content-Length.
std::string valid_post(const std::string& body) {
  return post_head() + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

class HostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // One event and its job already stored: "unchanged" then means something.
    auto r = http.post(server.url("/webhooks/clinic/evolution"), test::evolution_message("SEED1", kJid, "oi"),
                       test::evolution_token_headers());
    ASSERT_EQ(r.status, 200) << r.body << r.error;
    before_ = counts();
    ASSERT_EQ(before_, (std::pair<long long, long long>{1, 1}));
  }
  void TearDown() override {
    EXPECT_EQ(counts(), before_) << "a refused request changed the database";
  }

  std::pair<long long, long long> counts() {
    return {db.count("SELECT count(*) FROM recado.inbound"), db.count("SELECT count(*) FROM recado.jobs")};
  }
  void expect_unchanged() { EXPECT_EQ(counts(), before_) << "a refused request changed the database"; }

  // Sends `bytes` on a fresh connection and reads until the server closes it.
  struct Exchange {
    std::optional<RawResponse> response;
    std::string received;
    bool closed = false;
    std::string after() const { return response ? received.substr(response->size) : received; }
  };
  Exchange raw(const std::string& bytes) {
    RawConnection conn(server.port());
    conn.send(bytes);  // the server may close before it has read everything
    Exchange e;
    e.closed = conn.read_until_closed(5000ms);
    e.received = conn.received();
    e.response = test::parse_response(e.received);
    return e;
  }
  // A refusal of the stream itself: `status` with a reason, then the connection closed with
  // nothing more (whatever followed the bad request was not served).
  void expect_stream_refused(const std::string& bytes, int status) {
    SCOPED_TRACE(printable(bytes));
    const Exchange e = raw(bytes);
    ASSERT_TRUE(e.response) << "no response: " << printable(e.received);
    EXPECT_EQ(e.response->status, status) << e.received;
    expect_reason(e.response->body);
    EXPECT_EQ(e.response->headers.count("connection") ? e.response->headers.at("connection") : "", "close");
    EXPECT_TRUE(e.closed) << "connection left open";
    EXPECT_EQ(e.after(), "") << "something was served after the refusal";
    expect_unchanged();
  }
  void expect_refused(const HttpResult& r, long status) {
    EXPECT_EQ(r.status, status) << r.body << r.error;
    expect_reason(r.body);
    expect_unchanged();
  }
  static void expect_reason(const std::string& body) {
    const json j = json::parse(body, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("error") && j["error"].is_string()) << body;
    EXPECT_FALSE(j["error"].get<std::string>().empty());
  }
  static std::string printable(const std::string& s) {
    std::string out;
    for (unsigned char c : s.substr(0, 200)) {
      if (c == '\r') out += "\\r";
      else if (c == '\n') out += "\\n";
      else if (c < 0x20 || c >= 0x7f) out += "\\x" + std::string(1, "0123456789abcdef"[c >> 4]) + "0123456789abcdef"[c & 15];
      else out += static_cast<char>(c);
    }
    return out;
  }
  HttpResult evolution(const std::string& body) {
    return http.post(server.url("/webhooks/clinic/evolution"), body, test::evolution_token_headers());
  }
  HttpResult cloudapi(const std::string& body) {
    return http.post(server.url("/webhooks/clinic/cloudapi"), body, test::cloudapi_headers(body));
  }
  // The ingress still serves a well-behaved request (and stores it).
  void expect_still_serving(const std::string& id) {
    auto r = evolution(test::evolution_message(id, kJid, "ainda aí?"));
    ASSERT_EQ(r.status, 200) << r.body << r.error;
    EXPECT_EQ(json::parse(r.body)["accepted"], 1);
    ++before_.first;  // stored on purpose
  }

  TestDatabase db;
  IngressServer server{db.url(), test::webhook_ingress_config(), {test::webhook_tenant("clinic", 30s)}};
  HttpClient http;
  std::pair<long long, long long> before_;
};

// --- Broken HTTP ------------------------------------------------------------------------------

TEST_F(HostileTest, MalformedRequestLines) {
  for (const std::string& bytes : std::vector<std::string>{
           "HELLO\r\n\r\n",
           "POST /webhooks/clinic/evolution HTTP/1.1 extra\r\nHost: x\r\n\r\n",
           "POST /web hooks/clinic/evolution HTTP/1.1\r\nHost: x\r\n\r\n",
           "POST /webhooks/clinic/evolution HTTP/1.x\r\nHost: x\r\n\r\n",
           "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  // a TLS ClientHello on the plain port
       })
    expect_stream_refused(bytes, 400);
  std::string nul = "POST /webhooks/clinic/evolution HTTP/1.1\r\nHost: x\r\n\r\n";
  nul.insert(nul.find("evolution"), 1, '\0');
  expect_stream_refused(nul, 400);
  expect_still_serving("AFTER-LINES");
}

TEST_F(HostileTest, InvalidHeaderSyntax) {
  const std::string body = test::evolution_message("HDR1", kJid, "oi");
  const std::string framing = "Content-Length: " + std::to_string(body.size()) + "\r\n";
  for (const std::string& bad : std::vector<std::string>{
           "Host x\r\n",                 // no colon
           "X-Tab\t: x\r\n",             // tab in the name
           "X-Ctl\x01: x\r\n",           // control byte in the name
           ": no-name\r\n",              // empty name
           "Content-Length: abc\r\n",    // not a number
           "Content-Length: -5\r\n",     // negative
       })
    expect_stream_refused(post_head() + bad + (bad.starts_with("Content-Length") ? "" : framing) + "\r\n" + body, 400);
  expect_still_serving("AFTER-HEADERS");
}

TEST_F(HostileTest, HeadersOverTheByteLimitAre431) {
  const std::string body = test::evolution_message("BIGH1", kJid, "oi");
  auto headers = test::evolution_token_headers();
  headers["X-Padding"] = std::string(5000, 'p');
  expect_refused(http.post(server.url("/webhooks/clinic/evolution"), body, headers), 431);
  // Many small headers adding up, and a huge URL.
  std::string many = post_head();
  for (int i = 0; i < 20; ++i) many += "X-Fill-" + std::to_string(i) + ": " + std::string(250, 'f') + "\r\n";
  expect_stream_refused(many + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body, 431);
  expect_stream_refused("POST /webhooks/clinic/evolution?" + std::string(5000, 'q') + " HTTP/1.1\r\nHost: x\r\n\r\n", 431);
}

TEST_F(HostileTest, TooManyHeadersAre431) {
  const std::string body = test::evolution_message("MANY1", kJid, "oi");
  std::string head = post_head();
  for (int i = 0; i < 40; ++i) head += "X-H" + std::to_string(i) + ": v\r\n";
  expect_stream_refused(head + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body, 431);
  std::map<std::string, std::string> headers = test::evolution_token_headers();
  for (int i = 0; i < 40; ++i) headers["X-H" + std::to_string(i)] = "v";
  expect_refused(http.post(server.url("/webhooks/clinic/evolution"), body, headers), 431);
}

TEST_F(HostileTest, BodyOverTheLimitIs413) {
  json big = json::parse(test::evolution_message("BIG1", kJid, std::string(5000, 'a')));
  expect_refused(evolution(big.dump()), 413);
  // Declared too large: refused on the headers, before any of the body is sent.
  expect_stream_refused(post_head() + "Content-Length: 1000000000\r\n\r\n", 413);
  expect_stream_refused(post_head() + "Content-Length: 99999999999999999999999\r\n\r\n", 400);  // overflows
  // Chunked, adding up past the limit.
  std::string chunked = post_head() + "Transfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; ++i) chunked += "400\r\n" + std::string(1024, 'a') + "\r\n";
  expect_stream_refused(chunked + "0\r\n\r\n", 413);
  expect_still_serving("AFTER-413");
}

// --- Smuggling --------------------------------------------------------------------------------

TEST_F(HostileTest, ContentLengthWithTransferEncodingIsRefusedAndClosed) {
  const std::string smuggled = valid_post(test::evolution_message("SMUGGLED1", kJid, "contrabando"));
  // Whichever framing a front proxy believed, the bytes after it must never be served.
  expect_stream_refused(post_head() + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, 400);
  expect_stream_refused(post_head() + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggled, 400);
  expect_stream_refused(post_head() + "Content-Length: 5\r\nTransfer-Encoding: identity\r\n\r\n" + smuggled, 400);
  expect_stream_refused(post_head() + "Content-Length: 5\r\nTransfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n" + smuggled, 400);
  expect_stream_refused(post_head() + "Content-Length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, 400);
  expect_stream_refused(post_head() + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggled, 400);
  expect_still_serving("AFTER-CLTE");
}

// BUG (src/http_request_parser.cpp:78, on_header_field; and :100, the CL+TE check): header
// names are not held to RFC 9110's token grammar (the system http-parser is built
// non-strict), so "Transfer-Encoding : chunked" (space before the colon, which RFC 9112
// section 5.1 says a server MUST answer 400) is still read as chunked by http-parser,
// while recado stores the name as "transfer-encoding " and its own "both framings" check
// looks it up by the exact name. A front proxy that ignores the malformed header frames
// the request differently: the bytes after the empty chunked body are served here as a
// second request (observed: 400 for the first, then 200 and a webhook stored from the
// smuggled bytes). "Bad Header: x" (a space inside a name) is accepted too. Enable once
// on_header_field refuses names that are not tokens.
TEST_F(HostileTest, WhitespaceInHeaderNamesIs400) {
  const std::string smuggled = valid_post(test::evolution_message("SMUGGLED4", kJid, "contrabando"));
  expect_stream_refused(post_head() + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + smuggled, 400);
  const std::string body = test::evolution_message("SPACE1", kJid, "oi");
  expect_stream_refused(post_head() + "Bad Header: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body,
                        400);
}

// BUG (src/http_request_parser.cpp:17; same cause as above): the protocol name of the
// request line is not checked, so "HTTQ/1.1" is served as HTTP/1.1 (here: 401 from the
// webhook route instead of 400). Enable once the parser is strict about the request line.
TEST_F(HostileTest, UnknownProtocolNameIs400) {
  expect_stream_refused("POST /webhooks/clinic/evolution HTTQ/1.1\r\nHost: x\r\n\r\n", 400);
}

TEST_F(HostileTest, TwoContentLengthsAreRefused) {
  const std::string body = test::evolution_message("TWOCL1", kJid, "oi");
  const std::string smuggled = valid_post(test::evolution_message("SMUGGLED2", kJid, "contrabando"));
  const std::string n = std::to_string(body.size());
  expect_stream_refused(post_head() + "Content-Length: " + n + "\r\nContent-Length: 5\r\n\r\n" + body + smuggled, 400);
  expect_stream_refused(post_head() + "Content-Length: " + n + "\r\nContent-Length: " + n + "\r\n\r\n" + body + smuggled, 400);
  expect_stream_refused(post_head() + "Content-Length: " + n + ", 5\r\n\r\n" + body + smuggled, 400);
  expect_still_serving("AFTER-CLCL");
}

TEST_F(HostileTest, InvalidChunksAre400) {
  const std::string head = post_head() + "Transfer-Encoding: chunked\r\n\r\n";
  const std::string smuggled = valid_post(test::evolution_message("SMUGGLED3", kJid, "contrabando"));
  expect_stream_refused(head + "zz\r\n", 400);
  expect_stream_refused(head + "-5\r\nhello\r\n0\r\n\r\n", 400);
  expect_stream_refused(head + "fffffffffffffffffffff\r\n", 400);              // overflows
  expect_stream_refused(head + "5\r\nhello world\r\n0\r\n\r\n" + smuggled, 400);  // longer than declared
  expect_still_serving("AFTER-CHUNKS");
}

// --- Bodies that lie ---------------------------------------------------------------------------

TEST_F(HostileTest, InvalidJsonIs400) {
  for (const std::string& body : std::vector<std::string>{
           "", "not json", "{", R"({"event":"messages.upsert",})", R"({"event":'messages.upsert'})", "[1,2,",
           R"({"event":"messages.upsert"} {"event":"messages.upsert"})", "\"\\x\"", "NaN"}) {
    SCOPED_TRACE(body);
    expect_refused(evolution(body), 400);
  }
}

TEST_F(HostileTest, DeepNestingIs400BeforeParsing) {
  expect_refused(evolution(std::string(4000, '[')), 400);
  expect_refused(evolution(std::string(2000, '[') + std::string(2000, ']')), 400);
  std::string objects = R"({"event":"messages.upsert","instance":"i","data":)";
  for (int i = 0; i < 600; ++i) objects += R"({"a":)";
  objects += "1" + std::string(600, '}') + "}";
  ASSERT_LT(objects.size(), 4096u);
  expect_refused(evolution(objects), 400);
  // Brackets inside strings are not nesting.
  auto r = evolution(test::evolution_message("BRACKETS1", kJid, std::string(1000, '[')));
  EXPECT_EQ(r.status, 200) << r.body;
  ++before_.first;  // stored on purpose; it joins the seed's reply job
  // A roomier ingress, for the 10,000 levels of the usual attack.
  IngressConfig roomy = test::webhook_ingress_config();
  roomy.max_body_bytes = 1 << 20;
  IngressServer big(db.url(), roomy, {test::webhook_tenant("clinic", 30s)});
  for (const std::string& body : {std::string(10000, '['), std::string(100000, '{')}) {
    expect_refused(http.post(big.url("/webhooks/clinic/evolution"), body, test::evolution_token_headers()), 400);
    expect_refused(http.post(big.url("/webhooks/clinic/cloudapi"), body, test::cloudapi_headers(body)), 400);
  }
}

// BUG (src/webhook_decode.cpp:408-409, decode_webhook): a number too large for a double
// (1e400, or 400 digits) makes json::parse throw json::out_of_range (406 "number overflow"),
// which is not the json::parse_error caught there; nothing above catches it either
// (webhooks.cpp, http_server.cpp), so it reaches the event loop and std::terminate takes
// the whole ingress down (observed: "terminate called after throwing an instance of
// ...out_of_range ... number overflow parsing '1e400'"). Anyone holding one tenant's token
// can kill the ingress for every tenant. Enable once decode_webhook catches json::exception
// around the parse (or parses with allow_exceptions=false). Until then, enabling it aborts
// this test binary.
TEST_F(HostileTest, NumberOverflowIs400AndTheIngressSurvives) {
  for (const std::string& body : {std::string(R"({"event":"messages.upsert","x":1e400})"),
                                  std::string(R"({"event":"messages.upsert","x":-1e400})"),
                                  R"({"event":"messages.upsert","x":1)" + std::string(400, '0') + "}"}) {
    SCOPED_TRACE(body);
    expect_refused(evolution(body), 400);
  }
  expect_still_serving("AFTER-OVERFLOW");
}

TEST_F(HostileTest, InvalidUtf8Is400) {
  for (const std::string& text : std::vector<std::string>{
           "\xff", "caf\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "ok\x80ok"}) {
    const std::string body = R"({"event":"messages.upsert","instance":"clinic1","data":{"key":{"remoteJid":")" +
                             std::string(kJid) + R"(","fromMe":false,"id":"UTF1"},"message":{"conversation":")" + text +
                             R"("}}})";
    SCOPED_TRACE(printable(text));
    const HttpResult r = evolution(body);
    expect_refused(r, 400);
    EXPECT_NE(r.body.find("UTF-8"), std::string::npos) << r.body;
  }
  // A lone surrogate written as an escape is no character either.
  expect_refused(evolution(R"({"event":"messages.upsert","instance":"clinic1","data":{"key":{"remoteJid":"x@s.whatsapp.net","id":"UTF2"},"message":{"conversation":"\ud800"}}})"),
                 400);
}

TEST_F(HostileTest, NulInAStringIs422) {
  for (const std::string& body : std::vector<std::string>{
           test::evolution_message("NUL1", kJid, std::string("a\0b", 3)),
           test::evolution_message(std::string("NUL\0x", 5), kJid, "oi"),
           R"({"event":"messages.upsert","instance":"clinic1","data":{"key":{"remoteJid":"x@s.whatsapp.net","id":"NUL3"},"pushName":"\u0000"}})",
           R"({"event":"messages.upsert","instance":"clinic1","data":{"key":{"remoteJid":"x@s.whatsapp.net","id":"NUL4"},"extra\u0000":1}})",
       }) {
    SCOPED_TRACE(body);
    ASSERT_NE(body.find("\\u0000"), std::string::npos);
    const HttpResult r = evolution(body);
    expect_refused(r, 422);
    EXPECT_NE(r.body.find("NUL"), std::string::npos) << r.body;
  }
  const std::string cloud = R"({"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":
    {"messages":[{"from":"5511","id":"wamid.N","type":"text","text":{"body":"oi\u0000"}}]}}]}]})";
  expect_refused(cloudapi(cloud), 422);
}

TEST_F(HostileTest, WrongTypesAre422) {
  auto evo = [](const std::function<void(json&)>& change) {
    json body = json::parse(test::evolution_message("TYPE1", kJid, "oi"));
    change(body);
    return body.dump();
  };
  for (const std::string& body : std::vector<std::string>{
           evo([](json& b) { b["data"]["key"]["fromMe"] = "yes"; }),
           evo([](json& b) { b["data"]["key"]["fromMe"] = 1; }),
           evo([](json& b) { b["data"] = "text"; }),
           evo([](json& b) { b["data"]["key"] = json::array(); }),
           evo([](json& b) { b["data"]["key"]["id"] = json::object(); }),
           evo([](json& b) { b["data"]["key"]["remoteJid"] = true; }),
           evo([](json& b) { b["data"]["message"] = "oi"; }),
           evo([](json& b) { b["data"]["message"]["conversation"] = json::array({"oi"}); }),
           evo([](json& b) { b["data"]["messageTimestamp"] = "yesterday"; }),
           evo([](json& b) { b["data"]["messageTimestamp"] = -1; }),
           evo([](json& b) { b["data"]["messageTimestamp"] = 1.5e300; }),
           evo([](json& b) { b["event"] = 7.5; }),
           R"(["messages.upsert"])",
           R"("messages.upsert")",
           "42",
       }) {
    SCOPED_TRACE(body);
    expect_refused(evolution(body), 422);
  }
  auto cloud = [](const std::string& message) {
    return R"({"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[)" +
           message + "]}}]}]}";
  };
  for (const std::string& body : std::vector<std::string>{
           R"({"object":"whatsapp_business_account","entry":{}})",
           R"({"object":"whatsapp_business_account","entry":["x"]})",
           R"({"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":[]}]}]})",
           cloud(R"("wamid.X")"),
           cloud(R"({"from":"5511","id":"wamid.X","type":"text","text":"oi"})"),
           cloud(R"({"from":"5511","id":"wamid.X","type":"text","text":{"body":true}})"),
           cloud(R"({"from":"5511","id":"wamid.X","type":"text","text":{"body":{"a":1}}})"),
           cloud(R"({"from":["5511"],"id":"wamid.X","type":"text","text":{"body":"oi"}})"),
           cloud(R"({"from":"5511","id":"wamid.X","type":"text","timestamp":"soon","text":{"body":"oi"}})"),
       }) {
    SCOPED_TRACE(body);
    expect_refused(cloudapi(body), 422);
  }
}

// BUG (src/webhook_decode.cpp:95-97, Obj::as_string): every string field takes a JSON
// integer and stores its digits ("ids sent as numbers"), not only the ids. So a Cloud API
// text whose body is the number 5 is accepted (200), stored as the text "5" and answered by
// the bot, where its shape is wrong (422). Enable once as_string is limited to ids.
TEST_F(HostileTest, NumberWhereTextBelongsIs422) {
  const std::string body = R"({"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":
    {"messages":[{"from":"5511","id":"wamid.N5","type":"text","text":{"body":5}}]}}]}]})";
  expect_refused(cloudapi(body), 422);
  json evo = json::parse(test::evolution_message("NUM1", kJid, "oi"));
  evo["data"]["message"]["conversation"] = 5;
  expect_refused(evolution(evo.dump()), 422);
}

TEST_F(HostileTest, MissingFieldsAre422) {
  auto evo = [](const std::function<void(json&)>& change) {
    json body = json::parse(test::evolution_message("MISS1", kJid, "oi"));
    change(body);
    return body.dump();
  };
  for (const std::string& body : std::vector<std::string>{
           evo([](json& b) { b.erase("event"); }),
           evo([](json& b) { b.erase("data"); }),
           evo([](json& b) { b["data"].erase("key"); }),
           evo([](json& b) { b["data"]["key"].erase("id"); }),
           evo([](json& b) { b["data"]["key"]["id"] = ""; }),
           evo([](json& b) { b["data"]["key"].erase("remoteJid"); }),
           evo([](json& b) { b["data"]["key"]["id"] = nullptr; }),
           R"({"event":"messages.update","instance":"clinic1","data":{"keyId":"X"}})",
           "{}",
       }) {
    SCOPED_TRACE(body);
    expect_refused(evolution(body), 422);
  }
  const std::string cloud_head =
      R"({"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[)";
  for (const std::string& message : std::vector<std::string>{
           R"({"id":"wamid.X","type":"text","text":{"body":"oi"}})",
           R"({"from":"5511","type":"text","text":{"body":"oi"}})",
           R"({"from":"5511","id":"wamid.X","text":{"body":"oi"}})",
           R"({"from":"5511","id":"wamid.X","type":"text"})",
       }) {
    SCOPED_TRACE(message);
    expect_refused(cloudapi(cloud_head + message + "]}}]}]}"), 422);
  }
  expect_refused(cloudapi(R"({"entry":[]})"), 422);
  const std::string cal_no_uid = R"({"triggerEvent":"BOOKING_CREATED","payload":{"title":"Consulta"}})";
  expect_refused(http.post(server.url("/webhooks/clinic/calcom"), cal_no_uid, test::calcom_headers(cal_no_uid)), 422);
  const std::string cal_no_payload = R"({"triggerEvent":"BOOKING_CREATED"})";
  expect_refused(http.post(server.url("/webhooks/clinic/calcom"), cal_no_payload, test::calcom_headers(cal_no_payload)), 422);
  const std::string cw = R"({"event":"message_created","id":1,"message_type":"outgoing","sender":{"type":"user"}})";
  expect_refused(http.post(server.url("/webhooks/clinic/chatwoot"), cw, test::chatwoot_headers(cw, test::unix_now())), 422);
  const std::string cw_nobody = R"({"event":"conversation_status_changed","id":42,"status":"open"})";
  expect_refused(http.post(server.url("/webhooks/clinic/chatwoot"), cw_nobody, test::chatwoot_headers(cw_nobody, test::unix_now())),
                 422);
}

// --- Credentials and names ----------------------------------------------------------------------

TEST_F(HostileTest, WrongOrMissingCredentials) {
  const std::string body = test::evolution_message("CRED1", kJid, "oi");
  const std::string evo = server.url("/webhooks/clinic/evolution");
  expect_refused(http.post(evo, body), 401);
  expect_refused(http.post(evo, body, {{"X-Recado-Token", ""}}), 401);
  expect_refused(http.post(evo, body, {{"X-Recado-Token", "evo-token-"}}), 403);
  expect_refused(http.post(evo, body, {{"X-Recado-Token", "evo-token-11"}}), 403);
  expect_refused(http.post(evo, body, {{"X-Recado-Token", std::string(10000, 'x')}}), 431);
  expect_refused(http.post(evo + "/wrong-path-token", body), 403);
  expect_refused(http.post(evo, body, {{"Authorization", "Bearer " + test::make_jwt(R"({"iat":1})", "guess")}}), 403);
  expect_refused(http.post(evo, body, {{"Authorization", "Bearer " + test::make_jwt("[]", test::kEvolutionJwtSecret)}}), 403);
  // alg "none": a signature is still required.
  expect_refused(http.post(evo, body, {{"Authorization", "Bearer eyJhbGciOiJub25lIn0.eyJpYXQiOjF9."}}), 403);
  expect_refused(http.post(evo, body, {{"Authorization", "Bearer " + test::make_jwt(R"({"exp":"never"})", test::kEvolutionJwtSecret)}}),
                 403);
  const int64_t later = test::unix_now() + 3600;
  expect_refused(http.post(evo, body, {{"Authorization", "Bearer " + test::make_jwt(R"({"iat":)" + std::to_string(later) + "}",
                                                                                       test::kEvolutionJwtSecret)}}),
                 403);  // issued in the future

  const std::string whaticket = server.url("/webhooks/clinic/whaticket");
  expect_refused(http.post(whaticket, body), 401);
  expect_refused(http.post(whaticket + "/" + test::kEvolutionToken, body), 403);  // another provider's token
  const std::string cloud = server.url("/webhooks/clinic/cloudapi");
  expect_refused(http.post(cloud, body), 401);
  expect_refused(http.post(cloud, body, {{"X-Hub-Signature-256", "sha256="}}), 403);
  expect_refused(http.post(cloud, body, {{"X-Hub-Signature-256", "sha256=" + std::string(64, '0')}}), 403);
  expect_refused(http.post(cloud, body, test::cloudapi_headers(body + " ")), 403);
  const std::string cal = server.url("/webhooks/clinic/calcom");
  expect_refused(http.post(cal, body, {{"X-Cal-Signature-256", "no-secret-provided"}}), 403);
  expect_refused(http.post(cal, body, test::calcom_headers(body, test::kCloudSecret)), 403);
  const std::string cw = server.url("/webhooks/clinic/chatwoot");
  expect_refused(http.post(cw, body, test::chatwoot_headers(body, test::unix_now() - 3600)), 403);
  expect_refused(http.post(cw, body, {{"X-Chatwoot-Timestamp", "yesterday"}, {"X-Chatwoot-Signature", "sha256=00"}}), 403);
}

TEST_F(HostileTest, UnknownTenantsAndProviders) {
  const std::string body = test::evolution_message("NAME1", kJid, "oi");
  const auto auth = test::evolution_token_headers();
  for (const std::string& path : std::vector<std::string>{
           "/webhooks/nobody/evolution", "/webhooks/CLINIC/evolution", "/webhooks/clinic/Evolution",
           "/webhooks/clinic/sms", "/webhooks/clinic%00/evolution",
           "/webhooks/clinic/evolution/token/extra", "/webhooks//evolution", "/webhooks/" + std::string(1500, 't') + "/evolution",
           "/webhooks/clinic/"}) {
    SCOPED_TRACE(path);
    expect_refused(http.post(server.url(path), body, auth), 404);
  }
  // Dot segments are names like any other here (curl would have removed them).
  for (const std::string path : {"/webhooks/../clinic/evolution", "/webhooks/clinic/../../v1/jobs",
                                  "/webhooks/clinic/evolution/../whaticket"}) {
    SCOPED_TRACE(path);
    const std::string bytes = "POST " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Recado-Token: " +
                              auth.begin()->second + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    const Exchange e = raw(bytes);
    ASSERT_TRUE(e.response) << e.received;
    EXPECT_EQ(e.response->status, 404) << e.received;
    expect_reason(e.response->body);
    expect_unchanged();
  }
}

// --- Slow clients ------------------------------------------------------------------------------

TEST_F(HostileTest, SlowlorisIsCutOffWithA408) {
  // read_timeout is 300 ms: a header trickling in a byte every 50 ms must not hold the
  // connection past it, however steadily the bytes come.
  RawConnection conn(server.port());
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + 3s;
  ASSERT_TRUE(conn.send("POST /webhooks/clinic/evolution HTTP/1.1\r\nHost: x\r\n"));
  const std::string trickle = "X-Slow: " + std::string(200, 'z');
  size_t sent = 0;
  while (!conn.closed() && conn.received().empty() && std::chrono::steady_clock::now() < deadline) {
    if (conn.read_some(50ms)) continue;  // the server spoke (or closed)
    if (sent < trickle.size() && !conn.send(trickle.substr(sent++, 1))) break;
  }
  auto r = conn.read_response(std::chrono::duration_cast<std::chrono::milliseconds>(
      std::max(deadline - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration{0})));
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r) << "no answer within 3 s; got: " << conn.received();
  EXPECT_EQ(r->status, 408);
  expect_reason(r->body);
  EXPECT_GE(waited, 250ms);
  EXPECT_LT(waited, 2000ms);
  EXPECT_LT(sent, 30u) << "the server kept reading";
  EXPECT_TRUE(conn.read_until_closed(1000ms)) << "the connection stays open";
  expect_unchanged();
  expect_still_serving("AFTER-SLOWLORIS");
}

TEST_F(HostileTest, BodyThatNeverCompletesIs408) {
  const std::string body = test::evolution_message("SLOWBODY1", kJid, "oi");
  RawConnection conn(server.port());
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(conn.send(post_head() + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                        body.substr(0, body.size() / 2)));
  auto r = conn.read_response(3000ms);
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r) << conn.received();
  EXPECT_EQ(r->status, 408);
  expect_reason(r->body);
  EXPECT_LT(waited, 2000ms);
  EXPECT_TRUE(conn.read_until_closed(1000ms));
  expect_unchanged();
  expect_still_serving("AFTER-SLOWBODY");
}

}  // namespace
}  // namespace recado
