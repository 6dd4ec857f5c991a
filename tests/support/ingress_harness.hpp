#pragma once
// The ingress for tests: an Ingress on its own loop thread on a free port, raw TCP clients
// for what curl will not send, and the tenants, credentials and signatures the webhook
// tests share.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "src/config.hpp"
#include "src/event_loop.hpp"

namespace recado::test {

// An Ingress with its own event loop, database pool, clock and metrics, on a thread of its
// own, listening on 127.0.0.1 on a free port (the configuration's port is ignored).
class IngressServer {
 public:
  IngressServer(const std::string& database_url, IngressConfig config, std::vector<TenantConfig> tenants = {},
                std::set<std::string> job_kinds = {"noop", "sleep", "scripted"});
  ~IngressServer();  // stop()
  IngressServer(const IngressServer&) = delete;
  IngressServer& operator=(const IngressServer&) = delete;

  // Stops the loop and joins the thread; idempotent.
  void stop();
  int port() const { return port_; }
  std::string url(const std::string& path) const;
  // The Prometheus text of GET /metrics (rendered on the loop thread, as a scrape would).
  std::string metrics() const;

 private:
  std::thread thread_;
  EventLoop* loop_ = nullptr;
  int port_ = 0;
};

// The value of one series (name with its labels exactly as rendered, e.g.
// `recado_webhook_requests_total{tenant="a",provider="b",status="200"}`) in a Prometheus
// text; nullopt when it is not there.
std::optional<double> metric_value(const std::string& text, const std::string& series);

// One HTTP response read off a raw stream.
struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::size_t size = 0;  // bytes of the stream it took
};

// The first response in `bytes` (framed by its Content-Length); nullopt when incomplete or
// not HTTP.
std::optional<RawResponse> parse_response(std::string_view bytes);

// A raw TCP connection to 127.0.0.1, for requests no HTTP client would send.
class RawConnection {
 public:
  explicit RawConnection(int port);  // throws when it cannot connect
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Writes all of `bytes`; false when the peer has gone.
  bool send(std::string_view bytes);
  // Waits up to `timeout` for something from the server and reads what is there; true when
  // bytes arrived or the server closed.
  bool read_some(std::chrono::milliseconds timeout);
  // Reads until the server closes or `timeout` passes; true when it closed.
  bool read_until_closed(std::chrono::milliseconds timeout);
  // Reads until a whole response is in or `timeout` passes.
  std::optional<RawResponse> read_response(std::chrono::milliseconds timeout);

  const std::string& received() const { return received_; }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  std::string received_;
  bool closed_ = false;
};

// --- Webhook fixtures -------------------------------------------------------------------

// Credentials of the tenants below.
inline constexpr const char* kEvolutionToken = "evo-token-1";
inline constexpr const char* kEvolutionJwtSecret = "evo-jwt-secret";
inline constexpr const char* kWhaticketToken = "wt-path-token";
inline constexpr const char* kCloudSecret = "meta-app-secret";
inline constexpr const char* kCloudVerifyToken = "meta-verify";
inline constexpr const char* kCalcomSecret = "cal-secret";
inline constexpr const char* kChatwootSecret = "cw-secret";

// A tenant taking all five providers, with the credentials above.
TenantConfig webhook_tenant(const std::string& id, Duration debounce);
// A tenant taking only Evolution webhooks (token kEvolutionToken).
TenantConfig evolution_only_tenant(const std::string& id, Duration debounce);

// An ingress configuration for tests: port 0, small timeouts, 4 KiB bodies.
IngressConfig webhook_ingress_config();

// Headers for each provider's authentication.
std::map<std::string, std::string> evolution_token_headers();
std::map<std::string, std::string> cloudapi_headers(std::string_view body, std::string_view secret = kCloudSecret);
std::map<std::string, std::string> calcom_headers(std::string_view body, std::string_view secret = kCalcomSecret);
std::map<std::string, std::string> chatwoot_headers(std::string_view body, int64_t unix_seconds,
                                                    std::string_view secret = kChatwootSecret);
// An HS256 JWT over `payload_json`.
std::string make_jwt(std::string_view payload_json, std::string_view secret);
// Unix seconds now.
int64_t unix_now();

// An Evolution messages.upsert body.
std::string evolution_message(const std::string& id, const std::string& jid, const std::string& text,
                              bool from_me = false, const std::string& instance = "clinic1");

}  // namespace recado::test
