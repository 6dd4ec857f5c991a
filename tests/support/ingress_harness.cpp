#include "tests/support/ingress_harness.hpp"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <future>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "src/clock.hpp"
#include "src/db_pool.hpp"
#include "src/hmac.hpp"
#include "src/ingress.hpp"
#include "src/metrics.hpp"
#include "tests/support/http_client.hpp"

namespace recado::test {

// --- IngressServer ------------------------------------------------------------------------

IngressServer::IngressServer(const std::string& database_url, IngressConfig config, std::vector<TenantConfig> tenants,
                             std::set<std::string> job_kinds) {
  config.port = 0;
  // Shared with the thread: the constructor may return (and the promise die) while
  // set_value is still finishing on the other side.
  auto ready = std::make_shared<std::promise<int>>();
  auto port = ready->get_future();
  thread_ = std::thread([this, database_url, config, tenants = std::move(tenants), job_kinds = std::move(job_kinds),
                         ready]() mutable {
    EventLoop loop;
    SystemClock clock;
    Metrics metrics;
    DbPool pool(loop, database_url, 3);
    Ingress ingress(loop, pool, config, std::move(tenants), std::move(job_kinds), clock, metrics);
    try {
      const int bound = ingress.start();
      loop_ = &loop;
      ready->set_value(bound);
    } catch (...) {
      ready->set_exception(std::current_exception());
      return;
    }
    loop.run();
  });
  try {
    port_ = port.get();
  } catch (...) {
    thread_.join();
    throw;
  }
}

IngressServer::~IngressServer() { stop(); }

void IngressServer::stop() {
  if (!thread_.joinable()) return;
  EventLoop* loop = loop_;
  loop->post([loop] { loop->stop(); });
  thread_.join();
}

std::string IngressServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::string IngressServer::metrics() const {
  HttpClient http;
  auto r = http.get(url("/metrics"));
  if (r.status != 200) throw std::runtime_error("GET /metrics answered " + std::to_string(r.status) + ": " + r.error);
  return r.body;
}

std::optional<double> metric_value(const std::string& text, const std::string& series) {
  size_t at = 0;
  while (at < text.size()) {
    const size_t end = std::min(text.find('\n', at), text.size());
    const std::string_view line(text.data() + at, end - at);
    at = end + 1;
    if (line.size() > series.size() + 1 && line.substr(0, series.size()) == series && line[series.size()] == ' ')
      return std::stod(std::string(line.substr(series.size() + 1)));
  }
  return std::nullopt;
}

// --- Raw HTTP -------------------------------------------------------------------------------

std::optional<RawResponse> parse_response(std::string_view bytes) {
  const auto head_end = bytes.find("\r\n\r\n");
  if (head_end == std::string_view::npos || !bytes.starts_with("HTTP/1.1 ")) return std::nullopt;
  RawResponse r;
  const std::string_view status = bytes.substr(9, 3);
  if (std::from_chars(status.data(), status.data() + status.size(), r.status).ec != std::errc{}) return std::nullopt;
  size_t line = bytes.find("\r\n") + 2;
  while (line < head_end) {
    const size_t eol = bytes.find("\r\n", line);
    const std::string_view h = bytes.substr(line, eol - line);
    const size_t colon = h.find(':');
    if (colon != std::string_view::npos) {
      std::string name(h.substr(0, colon));
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string_view value = h.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      r.headers[name] = std::string(value);
    }
    line = eol + 2;
  }
  size_t length = 0;
  if (auto it = r.headers.find("content-length"); it != r.headers.end()) length = std::stoul(it->second);
  const size_t body_at = head_end + 4;
  if (bytes.size() < body_at + length) return std::nullopt;
  r.body = std::string(bytes.substr(body_at, length));
  r.size = body_at + length;
  return r;
}

RawConnection::RawConnection(int port) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd_);
    throw std::runtime_error("cannot connect to port " + std::to_string(port));
  }
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) close(fd_);
}

bool RawConnection::send(std::string_view bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

bool RawConnection::read_some(std::chrono::milliseconds timeout) {
  if (closed_) return true;
  pollfd p{fd_, POLLIN, 0};
  const int ready = poll(&p, 1, static_cast<int>(timeout.count()));
  if (ready <= 0) return false;
  char buf[16384];
  const ssize_t n = recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    closed_ = true;  // EOF, or reset: either way the server is done with us
    return true;
  }
  received_.append(buf, static_cast<size_t>(n));
  return true;
}

bool RawConnection::read_until_closed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!closed_) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    read_some(left);
  }
  return true;
}

std::optional<RawResponse> RawConnection::read_response(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto r = parse_response(received_)) return r;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (closed_ || left.count() <= 0) return std::nullopt;
    read_some(left);
  }
}

// --- Webhook fixtures -------------------------------------------------------------------------

namespace {
Secret secret(const char* value) { return Secret{value, "config"}; }
}  // namespace

TenantConfig evolution_only_tenant(const std::string& id, Duration debounce) {
  TenantConfig t;
  t.id = id;
  t.debounce = debounce;
  WebhookConfig evolution;
  evolution.provider = Provider::evolution;
  evolution.token = secret(kEvolutionToken);
  t.webhooks = {evolution};
  return t;
}

TenantConfig webhook_tenant(const std::string& id, Duration debounce) {
  TenantConfig t = evolution_only_tenant(id, debounce);
  t.webhooks[0].jwt_secret = secret(kEvolutionJwtSecret);
  WebhookConfig whaticket;
  whaticket.provider = Provider::whaticket;
  whaticket.token = secret(kWhaticketToken);
  WebhookConfig cloudapi;
  cloudapi.provider = Provider::cloudapi;
  cloudapi.secret = secret(kCloudSecret);
  cloudapi.verify_token = secret(kCloudVerifyToken);
  WebhookConfig calcom;
  calcom.provider = Provider::calcom;
  calcom.secret = secret(kCalcomSecret);
  WebhookConfig chatwoot;
  chatwoot.provider = Provider::chatwoot;
  chatwoot.secret = secret(kChatwootSecret);
  t.webhooks.insert(t.webhooks.end(), {whaticket, cloudapi, calcom, chatwoot});
  return t;
}

IngressConfig webhook_ingress_config() {
  IngressConfig c;
  c.port = 0;
  c.max_connections = 256;
  c.max_body_bytes = 4096;
  c.max_header_bytes = 4096;
  c.max_headers = 32;
  c.idle_timeout = std::chrono::seconds{1};
  c.read_timeout = std::chrono::milliseconds{300};
  c.commit_timeout = std::chrono::seconds{5};
  c.api_token = Secret{"api-token", "config"};
  return c;
}

std::map<std::string, std::string> evolution_token_headers() { return {{"X-Recado-Token", kEvolutionToken}}; }

std::map<std::string, std::string> cloudapi_headers(std::string_view body, std::string_view key) {
  return {{"X-Hub-Signature-256", "sha256=" + hmac_sha256_hex(key, body)}};
}

std::map<std::string, std::string> calcom_headers(std::string_view body, std::string_view key) {
  return {{"X-Cal-Signature-256", hmac_sha256_hex(key, body)}};
}

std::map<std::string, std::string> chatwoot_headers(std::string_view body, int64_t unix_seconds, std::string_view key) {
  const std::string stamp = std::to_string(unix_seconds);
  return {{"X-Chatwoot-Timestamp", stamp},
          {"X-Chatwoot-Signature", "sha256=" + hmac_sha256_hex(key, stamp + "." + std::string(body))}};
}

std::string make_jwt(std::string_view payload_json, std::string_view key) {
  const std::string signing = base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url_encode(payload_json);
  return signing + "." + base64url_encode(hmac_sha256(key, signing));
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string evolution_message(const std::string& id, const std::string& jid, const std::string& text, bool from_me,
                              const std::string& instance) {
  nlohmann::json body = {
      {"event", "messages.upsert"},
      {"instance", instance},
      {"data",
       {{"key", {{"remoteJid", jid}, {"fromMe", from_me}, {"id", id}}},
        {"pushName", "Ana"},
        {"message", {{"conversation", text}}},
        {"messageType", "conversation"},
        {"messageTimestamp", 1767225600}}},
      {"date_time", "2026-01-01T00:00:00.000Z"},
      {"sender", "5511900000000@s.whatsapp.net"},
      {"server_url", "http://evolution.local"},
      {"apikey", "evo-instance-key"}};
  return body.dump();
}

}  // namespace recado::test
