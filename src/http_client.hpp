#pragma once
// The outbound HTTP seam. Business logic and the worker call providers through HttpClient;
// CurlHttpClient drives libcurl's multi interface from the libuv loop (its socket and timer
// callbacks), so thousands of calls wait at once on one thread. Tests may substitute their
// own HttpClient.
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/clock.hpp"
#include "src/event_loop.hpp"

namespace recado {

struct HttpCall {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Zero means the default: the worker's configuration (worker.http), else 5 s, 60 s, 4 MiB.
  Duration connect_timeout{0};
  Duration timeout{0};  // the whole call, connect included
  std::size_t max_response_bytes = 0;
};

struct HttpReply {
  // What went wrong below HTTP; `none` means a complete response arrived (any status).
  enum class Failure { none, connect, timeout, reset, truncated, too_large, tls, cancelled, other };
  Failure failure = Failure::none;
  std::string failure_text;  // libcurl's words, for logs and job errors
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  Duration elapsed{0};

  bool responded() const { return failure == Failure::none; }
  // The first header called `name` (any case), if any.
  std::optional<std::string_view> header(std::string_view name) const;
};

std::string_view to_string(HttpReply::Failure f);

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Starts `call`; `done` runs later on the loop thread, exactly once, with the response or
  // the failure (never from inside send()). Loop thread only.
  virtual void send(HttpCall call, std::function<void(HttpReply)> done) = 0;
};

struct CurlHttpOptions {
  std::string ca_file;  // extra CA bundle for HTTPS; empty: the system's. Verification is always on.
  int max_connections_per_host = 0;  // 0: no limit
};

class CurlHttpClient final : public HttpClient {
 public:
  CurlHttpClient(EventLoop& loop, CurlHttpOptions options = {});
  // Calls still in flight end with Failure::cancelled (their `done` runs from here).
  ~CurlHttpClient() override;
  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  void send(HttpCall call, std::function<void(HttpReply)> done) override;
  int in_flight() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace recado
