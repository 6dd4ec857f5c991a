#pragma once
// A small HTTP/1.1 server on libuv and http-parser: keep-alive, pipelining (answered in
// order), limits on header size, header count, body size and connections, an idle timeout,
// and graceful close. It knows nothing of jobs: it hands each request to one handler, which
// answers through an HttpResponder now or later. Loop thread only.
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "src/clock.hpp"
#include "src/event_loop.hpp"

namespace recado {

struct HttpRequest {
  std::string method;
  std::string path;   // without the query
  std::string query;  // after '?', undecoded
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string remote;  // peer address

  // The first header named `name` (lower case), or "".
  std::string_view header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;

  // {"error": reason} with `status`.
  static HttpResponse error(int status, std::string_view reason);
  static HttpResponse json(int status, std::string body);
};

class HttpConnection;

// Answers one request, once. Answering a request whose connection has gone is a no-op.
class HttpResponder {
 public:
  explicit HttpResponder(std::weak_ptr<HttpConnection> conn) : conn_(std::move(conn)) {}
  void send(HttpResponse response);

 private:
  std::weak_ptr<HttpConnection> conn_;
};

using HttpHandler = std::function<void(HttpRequest&, HttpResponder)>;

struct HttpLimits {
  std::size_t max_header_bytes = 16 << 10;
  std::size_t max_body_bytes = 1 << 20;
  int max_headers = 64;
  int max_connections = 4096;
  Duration idle_timeout = std::chrono::seconds{30};
};

class HttpServer {
 public:
  HttpServer(EventLoop& loop, HttpLimits limits, HttpHandler handler);
  // Closes what is left at once; connections finish closing on the loop (which must
  // outlive this server and run or be destroyed afterwards).
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens; returns the port (useful with port 0). Throws on failure.
  int listen(const std::string& host, int port);
  // Stops accepting, lets in-flight requests be answered, closes every connection, then
  // calls `closed`.
  void close(std::function<void()> closed);


 private:
  friend class HttpConnection;
  void on_connection();
  void forget(HttpConnection* conn);
  void maybe_closed();

  EventLoop& loop_;
  HttpLimits limits_;
  HttpHandler handler_;
  uv_tcp_t* listener_ = nullptr;
  std::unordered_set<HttpConnection*> connections_;  // each owns itself until closed
  bool closing_ = false;
  std::function<void()> closed_;
};

std::string_view http_status_text(int status);

}  // namespace recado
