// The ingress over real HTTP against a real PostgreSQL: auth, validation, group commit,
// dedup, health, and the HTTP server's limits.
#include <gtest/gtest.h>

#include <set>
#include <nlohmann/json.hpp>
#include <thread>

#include "src/ingress.hpp"
#include "src/migrations.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/ingress_harness.hpp"
#include "tests/support/pg_harness.hpp"

namespace recado {
namespace {

using json = nlohmann::json;
using test::HttpClient;
using test::IngressServer;
using test::TestDatabase;

IngressConfig test_config() {
  IngressConfig c;
  c.idle_timeout = std::chrono::milliseconds{300};
  c.read_timeout = std::chrono::milliseconds{300};
  c.max_connections = 64;
  c.port = 0;
  c.api_token = {"s3cret-token", "config"};
  c.max_body_bytes = 4096;
  c.max_header_bytes = 2048;
  c.max_headers = 20;
  return c;
}

const std::map<std::string, std::string> kAuth = {{"Authorization", "Bearer s3cret-token"}};

class IngressTest : public ::testing::Test {
 protected:
  TestDatabase db;
  IngressServer server{db.url(), test_config()};
  HttpClient http;
  long long jobs() { return db.count("SELECT count(*) FROM recado.jobs"); }
};

TEST_F(IngressTest, HealthAndReadiness) {
  auto h = http.get(server.url("/healthz"));
  EXPECT_EQ(h.status, 200);
  auto r = http.get(server.url("/readyz"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["schema_version"], latest_migration_version());
}

TEST_F(IngressTest, NotReadyWhenTheSchemaIsMissing) {
  db.scalar("DROP SCHEMA recado CASCADE");
  auto r = http.get(server.url("/readyz"));
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(json::parse(r.body)["error"].get<std::string>().find("recado migrate"), std::string::npos);
}

TEST_F(IngressTest, EnqueuesAJobAndAnswersWithItsId) {
  auto r = http.post(server.url("/v1/jobs"),
                     R"({"queue":"llm_reply","kind":"noop","payload":{"conversation":"c1"},"priority":3,
                         "run_in":"1h","sequence_key":"conv-c1","max_attempts":7})", kAuth);
  ASSERT_EQ(r.status, 202) << r.body;
  const auto id = json::parse(r.body)["id"].get<int64_t>();
  EXPECT_EQ(db.scalar("SELECT queue || ' ' || kind || ' ' || (payload->>'conversation') || ' ' || priority || ' ' || "
                      "sequence_key || ' ' || max_attempts || ' ' || (run_at > now() + interval '59 minutes') "
                      "FROM recado.jobs WHERE id = " + std::to_string(id)),
            "llm_reply noop c1 3 conv-c1 7 true");
}

TEST_F(IngressTest, AcceptedJobsWakeListeningWorkers) {
  test::WakeupListener wakeups(db.url());
  ASSERT_EQ(http.post(server.url("/v1/jobs"), R"({"kind":"noop","queue":"whatsapp_send"})", kAuth).status, 202);
  ASSERT_TRUE(wakeups.woken("whatsapp_send"));
}

TEST_F(IngressTest, DuplicateDedupKeyReturnsTheSameJob) {
  const std::string body = R"({"kind":"noop","dedup_key":"evolution:clinic1:3A55"})";
  auto a = http.post(server.url("/v1/jobs"), body, kAuth);
  auto b = http.post(server.url("/v1/jobs"), body, kAuth);
  ASSERT_EQ(a.status, 202);
  ASSERT_EQ(b.status, 200);
  EXPECT_EQ(json::parse(a.body)["id"], json::parse(b.body)["id"]);
  EXPECT_TRUE(json::parse(b.body)["duplicate"].get<bool>());
  EXPECT_EQ(jobs(), 1);
}

TEST_F(IngressTest, RefusesMissingOrWrongToken) {
  EXPECT_EQ(http.post(server.url("/v1/jobs"), R"({"kind":"noop"})").status, 401);
  EXPECT_EQ(http.post(server.url("/v1/jobs"), R"({"kind":"noop"})", {{"Authorization", "Bearer wrong"}}).status, 401);
  EXPECT_EQ(http.post(server.url("/v1/jobs"), R"({"kind":"noop"})", {{"Authorization", "s3cret-token"}}).status, 401);
  EXPECT_EQ(jobs(), 0);
}

TEST_F(IngressTest, BadBodiesGetAReasonAndEnqueueNothing) {
  struct Case {
    std::string body;
    long status;
    std::string mention;
  };
  for (const Case& c : std::vector<Case>{
           {"not json", 400, "JSON"},
           {"[1,2]", 400, "object"},
           {R"({"queue":"default"})", 400, "kind"},
           {R"({"kind":"noop","colour":"red"})", 400, "colour"},
           {R"({"kind":"noop","payload":"text"})", 400, "payload"},
           {R"({"kind":"noop","priority":"high"})", 400, "priority"},
           {R"({"kind":"noop","run_at":"tomorrow"})", 400, "run_at"},
           {R"({"kind":"noop","payload":{"text":"a\u0000b"}})", 400, "NUL"},
           {R"({"kind":"noop","dedup_key":"a\u0000b"})", 400, "dedup_key"},
           {R"({"kind":"launch_rockets"})", 422, "launch_rockets"},
       }) {
    auto r = http.post(server.url("/v1/jobs"), c.body, kAuth);
    EXPECT_EQ(r.status, c.status) << c.body;
    auto reason = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(reason.is_object()) << r.body;
    EXPECT_NE(reason["error"].get<std::string>().find(c.mention), std::string::npos) << r.body;
  }
  EXPECT_EQ(jobs(), 0);
}

TEST_F(IngressTest, UnknownRoutesAndMethods) {
  EXPECT_EQ(http.get(server.url("/nope")).status, 404);
  EXPECT_EQ(http.get(server.url("/v1/jobs")).status, 405);
  EXPECT_EQ(http.post(server.url("/healthz"), "{}").status, 405);
}

TEST_F(IngressTest, ConcurrentRequestsShareCommits) {
  constexpr int kClients = 32, kEach = 25;
  std::vector<std::thread> clients;
  std::atomic<int> accepted{0};
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      HttpClient mine;
      for (int i = 0; i < kEach; ++i)
        if (mine.post(server.url("/v1/jobs"), R"({"kind":"noop"})", kAuth).status == 202) ++accepted;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(accepted, kClients * kEach);
  EXPECT_EQ(jobs(), kClients * kEach);
  // Rows inserted by one transaction share its xmin: fewer transactions than jobs.
  const auto transactions = db.count("SELECT count(DISTINCT xmin::text) FROM recado.jobs");
  EXPECT_LT(transactions, kClients * kEach * 3 / 4) << transactions << " transactions";
}

TEST_F(IngressTest, DatabaseDownMeans503NotAccepted) {
  IngressServer broken("postgresql:///nowhere?host=/nonexistent-socket-dir", test_config());
  auto r = http.post(broken.url("/v1/jobs"), R"({"kind":"noop"})", kAuth);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(http.get(broken.url("/readyz")).status, 503);
  EXPECT_EQ(http.get(broken.url("/healthz")).status, 200);
}

TEST_F(IngressTest, BodyOverTheLimitIs413) {
  const std::string big = R"({"kind":"noop","payload":{"x":")" + std::string(5000, 'a') + "\"}}";
  EXPECT_EQ(http.post(server.url("/v1/jobs"), big, kAuth).status, 413);
  const std::string chunked = "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "1388\r\n" + std::string(5000, 'a') + "\r\n0\r\n\r\n";
  EXPECT_NE(test::raw_exchange(server.port(), chunked).find("HTTP/1.1 413"), std::string::npos);
  EXPECT_EQ(jobs(), 0);
}

TEST_F(IngressTest, HeadersOverTheLimitAre431) {
  std::map<std::string, std::string> headers = kAuth;
  headers["X-Padding"] = std::string(3000, 'p');
  EXPECT_EQ(http.post(server.url("/v1/jobs"), R"({"kind":"noop"})", headers).status, 431);
  std::string many = "GET /healthz HTTP/1.1\r\n";
  for (int i = 0; i < 30; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  EXPECT_NE(test::raw_exchange(server.port(), many + "\r\n").find("HTTP/1.1 431"), std::string::npos);
}

TEST_F(IngressTest, MalformedHttpIs400AndClosed) {
  auto both = test::raw_exchange(server.port(),
      "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_NE(both.find("HTTP/1.1 400"), std::string::npos) << both;
  EXPECT_NE(both.find("Connection: close"), std::string::npos);
  auto garbage = test::raw_exchange(server.port(), "HELLO\r\n\r\n");
  EXPECT_NE(garbage.find("HTTP/1.1 400"), std::string::npos) << garbage;
  auto bad_chunk = test::raw_exchange(server.port(),
      "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  EXPECT_NE(bad_chunk.find("HTTP/1.1 400"), std::string::npos) << bad_chunk;
}

TEST_F(IngressTest, PipelinedRequestsAreAnsweredInOrder) {
  const std::string body = R"({"kind":"noop"})";
  const std::string post = "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret-token\r\n"
                           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  const std::string last = "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  auto out = test::raw_exchange(server.port(), post + post + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + last);
  const auto a = out.find("HTTP/1.1 202"), b = out.find("HTTP/1.1 202", a + 1),
             c = out.find("HTTP/1.1 200"), d = out.find("HTTP/1.1 404");
  ASSERT_NE(a, std::string::npos) << out;
  ASSERT_NE(b, std::string::npos) << out;
  ASSERT_NE(c, std::string::npos) << out;
  ASSERT_NE(d, std::string::npos) << out;
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(c, d);
  EXPECT_EQ(jobs(), 2);
}

TEST_F(IngressTest, IdleAndHalfSentRequestsAreCutOff) {
  // A slow client that never finishes its headers is answered 408 and disconnected after
  // the read timeout (300 ms here) rather than holding a connection for ever.
  const auto start = std::chrono::steady_clock::now();
  auto out = test::raw_exchange(server.port(), "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nX-Slow:", 10000);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(out.rfind("HTTP/1.1 408", 0), 0u) << out;
  // One that sends nothing at all is closed after the idle timeout, without an answer.
  EXPECT_EQ(test::raw_exchange(server.port(), "", 10000), "");
  EXPECT_LT(waited, std::chrono::seconds{5});
}

TEST_F(IngressTest, ConnectionsOverTheLimitAreRefused) {
  IngressConfig config = test_config();
  config.max_connections = 2;
  IngressServer small(db.url(), config);
  HttpClient a, b;
  ASSERT_EQ(a.get(small.url("/healthz")).status, 200);  // a and b stay connected (keep-alive)
  ASSERT_EQ(b.get(small.url("/healthz")).status, 200);
  EXPECT_EQ(test::raw_exchange(small.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 2000), "");
  EXPECT_EQ(a.get(small.url("/healthz")).status, 200);  // the ones inside are still served
}

TEST_F(IngressTest, ExpectContinueGetsTheGoAhead) {
  const std::string body = R"({"kind":"noop"})";
  auto out = test::raw_exchange(server.port(),
      "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret-token\r\nExpect: 100-continue\r\n"
      "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  const auto cont = out.find("HTTP/1.1 100 Continue"), accepted = out.find("HTTP/1.1 202");
  ASSERT_NE(cont, std::string::npos) << out;
  ASSERT_NE(accepted, std::string::npos) << out;
  EXPECT_LT(cont, accepted);
}

}  // namespace
}  // namespace recado
