#pragma once
// A small HTTP/1.1 server on libuv and http-parser: keep-alive, pipelining (answered in
// order), limits on header size, header count, body size and connections, an idle timeout
// and a read timeout (a request trickling in is cut off), and graceful close. It knows nothing of jobs: it hands each request to one handler, which
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
#include "src/http_request_parser.hpp"

namespace recado {

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

// Answers one request, once. Answering a request whose connection has gone, or that was
// answered already (say, by a timeout), is a no-op.
class HttpResponder {
 public:
  HttpResponder(std::weak_ptr<HttpConnection> conn, uint64_t serial) : conn_(std::move(conn)), serial_(serial) {}
  void send(HttpResponse response);
  // Fault injection (the provider simulator): closes the connection at once with no answer,
  // by a TCP reset (RST) where the platform allows, else a plain close.
  void abort();
  // Fault injection: writes `response`'s head announcing its whole body (Content-Length) but
  // only the first `body_bytes` bytes of the body, then closes the connection.
  void send_truncated(HttpResponse response, std::size_t body_bytes);
  // Whether this request still waits for its answer and its client is still connected (a
  // client that closes its end while a request is held shows here).
  bool waiting() const;

 private:
  std::weak_ptr<HttpConnection> conn_;
  uint64_t serial_;  // which of the connection's requests this answers
};

using HttpHandler = std::function<void(HttpRequest&, HttpResponder)>;

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
  // Open connections, including those being closed.
  int connection_count() const { return static_cast<int>(connections_.size()); }

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
