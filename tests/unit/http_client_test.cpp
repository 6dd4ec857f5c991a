// The async HTTP client against real servers on loopback: recado's own HttpServer on the
// same loop, a raw socket server for broken responses, and openssl s_server for TLS.
#include "src/http_client.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "src/http_server.hpp"
#include "src/process.hpp"
#include "tests/support/child_process.hpp"

namespace recado {
namespace {

using namespace std::chrono_literals;

// Runs `loop` until `done()` holds or `limit` passes; false on the deadline.
bool run_until(EventLoop& loop, const std::function<bool()>& done, Duration limit = 20s) {
  Timer check(loop), deadline(loop);
  bool timed_out = false;
  check.start(1ms, [&] { if (done()) loop.stop(); }, 1ms);
  deadline.start(limit, [&] { timed_out = true; loop.stop(); });
  if (!done()) loop.run();
  return !timed_out && done();
}

class HttpClientTest : public ::testing::Test {
 protected:
  EventLoop loop;
  int requests = 0;
  std::function<void(HttpRequest&, HttpResponder)> handler = [](HttpRequest&, HttpResponder r) {
    r.send(HttpResponse::json(200, "{}"));
  };
  std::unique_ptr<HttpServer> server;
  int port = 0;

  void start_server(HttpLimits limits = {}) {
    server = std::make_unique<HttpServer>(loop, limits, [this](HttpRequest& req, HttpResponder r) {
      ++requests;
      handler(req, std::move(r));
    });
    port = server->listen("127.0.0.1", 0);
  }
  std::string url(const std::string& path) { return "http://127.0.0.1:" + std::to_string(port) + path; }

  HttpReply call(HttpClient& client, HttpCall c) {
    std::optional<HttpReply> reply;
    client.send(std::move(c), [&](HttpReply r) { reply = std::move(r); });
    EXPECT_FALSE(reply) << "done ran inside send()";
    EXPECT_TRUE(run_until(loop, [&] { return reply.has_value(); }));
    return reply.value_or(HttpReply{});
  }
};

TEST_F(HttpClientTest, SendsMethodHeadersAndBodyAndReadsTheResponse) {
  HttpRequest seen;
  handler = [&](HttpRequest& req, HttpResponder r) {
    seen = req;
    HttpResponse resp = HttpResponse::json(201, R"({"ok":true})");
    resp.headers.emplace_back("Retry-After", "7");
    r.send(resp);
  };
  start_server();
  CurlHttpClient client(loop);
  HttpCall c;
  c.url = url("/v1/chat/completions?x=1");
  c.headers = {{"Authorization", "Bearer sk-test"}, {"Content-Type", "application/json"}};
  c.body = R"({"model":"m"})";
  const HttpReply reply = call(client, c);
  ASSERT_TRUE(reply.responded()) << reply.failure_text;
  EXPECT_EQ(reply.status, 201);
  EXPECT_EQ(reply.body, R"({"ok":true})");
  EXPECT_EQ(reply.header("retry-after").value_or(""), "7");
  EXPECT_EQ(reply.header("Retry-After").value_or(""), "7");
  EXPECT_FALSE(reply.header("x-missing"));
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.path, "/v1/chat/completions");
  EXPECT_EQ(seen.query, "x=1");
  EXPECT_EQ(seen.header("authorization"), "Bearer sk-test");
  EXPECT_EQ(seen.header("expect"), "");
  EXPECT_EQ(seen.body, R"({"model":"m"})");

  c.method = "GET";
  c.body.clear();
  EXPECT_EQ(call(client, c).status, 201);
  EXPECT_EQ(seen.method, "GET");
}

TEST_F(HttpClientTest, ReusesTheConnectionBetweenCalls) {
  start_server();
  CurlHttpClient client(loop);
  int most_connections = 0;
  for (int i = 0; i < 10; ++i) {
    HttpCall c;
    c.url = url("/ping");
    EXPECT_EQ(call(client, c).status, 200);
    most_connections = std::max(most_connections, server->connection_count());
  }
  EXPECT_EQ(requests, 10);
  EXPECT_EQ(most_connections, 1);
}

TEST_F(HttpClientTest, HoldsAThousandCallsInFlightOnOneThread) {
  ASSERT_GE(raise_open_file_limit(), 2200) << "needs two descriptors per call in this process";
  // Nothing is answered until all 1,000 requests have arrived.
  std::vector<HttpResponder> waiting;
  handler = [&](HttpRequest&, HttpResponder r) {
    waiting.push_back(std::move(r));
    if (waiting.size() == 1000)
      for (auto& w : waiting) w.send(HttpResponse::json(200, R"({"n":1})"));
  };
  HttpLimits limits;
  limits.max_connections = 2000;
  start_server(limits);
  CurlHttpClient client(loop);
  int answered = 0, peak = 0;
  for (int i = 0; i < 1000; ++i) {
    HttpCall c;
    c.url = url("/slow");
    client.send(c, [&](HttpReply r) { answered += r.status == 200; });
  }
  EXPECT_TRUE(run_until(loop, [&] {
    peak = std::max(peak, client.in_flight());
    return answered == 1000;
  }, 60s));
  EXPECT_EQ(answered, 1000);
  EXPECT_EQ(peak, 1000);
  EXPECT_EQ(client.in_flight(), 0);
}

TEST_F(HttpClientTest, TimesOutACallThatGetsNoAnswer) {
  std::vector<HttpResponder> never;
  handler = [&](HttpRequest&, HttpResponder r) { never.push_back(std::move(r)); };
  start_server();
  CurlHttpClient client(loop);
  HttpCall c;
  c.url = url("/hang");
  c.timeout = 300ms;
  const auto started = std::chrono::steady_clock::now();
  const HttpReply reply = call(client, c);
  EXPECT_EQ(reply.failure, HttpReply::Failure::timeout) << reply.failure_text;
  EXPECT_EQ(reply.status, 0);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 300ms);
}

TEST_F(HttpClientTest, ReportsARefusedConnection) {
  CurlHttpClient client(loop);
  HttpCall c;
  c.url = "http://127.0.0.1:" + std::to_string(test::free_port()) + "/";
  const HttpReply reply = call(client, c);
  EXPECT_EQ(reply.failure, HttpReply::Failure::connect) << reply.failure_text;
  EXPECT_FALSE(reply.failure_text.empty());
}

TEST_F(HttpClientTest, RefusesAResponseOverTheSizeLimit) {
  handler = [](HttpRequest&, HttpResponder r) { r.send(HttpResponse::json(200, std::string(10000, 'x'))); };
  start_server();
  CurlHttpClient client(loop);
  HttpCall c;
  c.url = url("/big");
  c.max_response_bytes = 4096;
  const HttpReply reply = call(client, c);
  EXPECT_EQ(reply.failure, HttpReply::Failure::too_large) << reply.failure_text;
  c.max_response_bytes = 10000;
  EXPECT_EQ(call(client, c).body.size(), 10000u);
}

// A server that reads one request and then answers with `reply` (maybe nothing) and closes.
class RawServer {
 public:
  explicit RawServer(std::string reply) : reply_(std::move(reply)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 4);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      const int conn = accept(fd_, nullptr, nullptr);
      if (conn < 0) return;
      char buf[4096];
      std::string got;
      while (got.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = read(conn, buf, sizeof buf);
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
      }
      if (!reply_.empty()) (void)!write(conn, reply_.data(), reply_.size());
      close(conn);
    });
  }
  ~RawServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  int port() const { return port_; }

 private:
  std::string reply_;
  int fd_ = -1, port_ = 0;
  std::thread thread_;
};

TEST_F(HttpClientTest, TellsAResetFromATruncatedBody) {
  CurlHttpClient client(loop);
  {
    RawServer raw("");
    HttpCall c;
    c.url = "http://127.0.0.1:" + std::to_string(raw.port()) + "/";
    EXPECT_EQ(call(client, c).failure, HttpReply::Failure::reset);
  }
  {
    RawServer raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"partial\":");
    HttpCall c;
    c.url = "http://127.0.0.1:" + std::to_string(raw.port()) + "/";
    const HttpReply reply = call(client, c);
    EXPECT_EQ(reply.failure, HttpReply::Failure::truncated) << reply.failure_text;
  }
}

TEST_F(HttpClientTest, CancelsWhatIsInFlightWhenDestroyed) {
  std::vector<HttpResponder> never;
  handler = [&](HttpRequest&, HttpResponder r) { never.push_back(std::move(r)); };
  start_server();
  std::vector<HttpReply::Failure> failures;
  {
    CurlHttpClient client(loop);
    for (int i = 0; i < 3; ++i) {
      HttpCall c;
      c.url = url("/hang");
      client.send(c, [&](HttpReply r) { failures.push_back(r.failure); });
    }
    ASSERT_TRUE(run_until(loop, [&] { return never.size() == 3; }));
    EXPECT_TRUE(failures.empty());
  }
  EXPECT_EQ(failures, std::vector<HttpReply::Failure>(3, HttpReply::Failure::cancelled));
}

// HTTPS verification is on: a self-signed server is refused unless its certificate is the CA.
TEST_F(HttpClientTest, VerifiesTlsCertificates) {
  const std::string dir = std::filesystem::temp_directory_path() / ("recado-tls-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto made = test::run_command({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                                       "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                                       "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem"});
  ASSERT_EQ(made.code, 0) << made.err;
  const int tls_port = test::free_port();
  test::ChildProcess server({"/usr/bin/openssl", "s_server", "-quiet", "-www", "-accept", std::to_string(tls_port),
                             "-cert", dir + "/cert.pem", "-key", dir + "/key.pem"}, {});
  const std::string https = "https://127.0.0.1:" + std::to_string(tls_port) + "/";
  {
    CurlHttpClient trusting(loop, CurlHttpOptions{dir + "/cert.pem"});
    HttpCall c;
    c.method = "GET";
    c.url = https;
    c.connect_timeout = 2s;
    HttpReply reply;
    // s_server takes a moment to listen: a refused connection means "not yet".
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    do {
      reply = call(trusting, c);
    } while (reply.failure == HttpReply::Failure::connect && std::chrono::steady_clock::now() < deadline);
    ASSERT_TRUE(reply.responded()) << reply.failure_text;
    EXPECT_EQ(reply.status, 200);
  }
  CurlHttpClient verifying(loop);
  HttpCall c;
  c.method = "GET";
  c.url = https;
  const HttpReply refused = call(verifying, c);
  EXPECT_EQ(refused.failure, HttpReply::Failure::tls) << refused.failure_text;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace recado
