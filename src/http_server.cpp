#include "src/http_server.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <optional>
#include <stdexcept>

#include "src/log.hpp"

namespace recado {

HttpResponse HttpResponse::error(int status, std::string_view reason) {
  return json(status, "{\"error\":\"" + log::json_escape(reason) + "\"}");
}

HttpResponse HttpResponse::json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::string_view http_status_text(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 529: return "Overloaded";
    default: return "Unknown";
  }
}

// One client connection. Owns itself from start() until its socket is closed; responders
// hold weak references.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  explicit HttpConnection(HttpServer& server)
      : server_(&server),
        limits_(server.limits_),
        parser_(server.limits_, [this] { send_raw("HTTP/1.1 100 Continue\r\n\r\n", false); }),
        timer_(server.loop_) {
    tcp_ = new uv_tcp_t;
    uv_tcp_init(server.loop_.raw(), tcp_);
    tcp_->data = this;
  }

  uv_tcp_t* tcp() { return tcp_; }

  void start() {
    sockaddr_storage addr{};
    int len = sizeof addr;
    if (uv_tcp_getpeername(tcp_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      char ip[64] = {0};
      if (addr.ss_family == AF_INET)
        uv_ip4_name(reinterpret_cast<sockaddr_in*>(&addr), ip, sizeof ip);
      else
        uv_ip6_name(reinterpret_cast<sockaddr_in6*>(&addr), ip, sizeof ip);
      remote_ = ip;
    }
    uv_tcp_nodelay(tcp_, 1);
    arm_timer();
    start_reading();
  }

  void start_reading() {
    reading_ = true;
    uv_read_start(reinterpret_cast<uv_stream_t*>(tcp_),
                  [](uv_handle_t*, size_t, uv_buf_t* buf) {
                    // One buffer per loop thread, not per connection: on_read copies what
                    // arrived before the next read can start, so thousands of idle
                    // connections hold no read buffer at all.
                    static thread_local std::vector<char> shared(64 << 10);
                    *buf = uv_buf_init(shared.data(), static_cast<unsigned>(shared.size()));
                  },
                  [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
                    static_cast<HttpConnection*>(s->data)->on_read(n, buf);
                  });
  }

  // Sends the answer to request `serial` if it is the one being served; then serves the
  // next pipelined one.
  void respond(uint64_t serial, HttpResponse response) {
    if (closed_ || !awaiting_ || serial != serial_) return;
    awaiting_ = false;
    const bool keep = keep_alive_ && server_ && !server_->closing_;
    write(response, keep);
    if (!keep) {
      shutting_down_ = true;
      return;
    }
    arm_timer();
    if (!reading_ && !peer_gone_) start_reading();
    process();
  }

  // Fault injection: drops request `serial` with no answer, resetting the connection.
  void abort(uint64_t serial) {
    if (closed_ || !awaiting_ || serial != serial_) return;
    awaiting_ = false;
    closed_ = true;
    timer_.stop();
    uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp_));
    if (uv_tcp_close_reset(tcp_, &HttpConnection::on_closed) != 0)
      uv_close(reinterpret_cast<uv_handle_t*>(tcp_), &HttpConnection::on_closed);
  }

  // Fault injection: answers request `serial` with a body cut after `body_bytes`, then closes.
  void respond_truncated(uint64_t serial, const HttpResponse& response, size_t body_bytes) {
    if (closed_ || !awaiting_ || serial != serial_) return;
    awaiting_ = false;
    shutting_down_ = true;
    write(response, false, body_bytes);
  }

  bool waiting(uint64_t serial) const { return !closed_ && awaiting_ && serial == serial_ && !peer_gone_; }

  // Closes now if nothing is in flight; otherwise after the current answer.
  void close_when_idle() {
    if (!awaiting_) close();
  }

  // The connection owns itself from start() until its socket is closed.
  void keep_alive_until_closed(std::shared_ptr<HttpConnection> self) { self_ = std::move(self); }
  // The server is going away: never call it again.
  void detach() { server_ = nullptr; }

  void close() {
    if (closed_) return;
    closed_ = true;
    timer_.stop();
    uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp_));
    uv_close(reinterpret_cast<uv_handle_t*>(tcp_), &HttpConnection::on_closed);
  }

 private:
  static void on_closed(uv_handle_t* h) {
    auto* self = static_cast<HttpConnection*>(h->data);
    std::shared_ptr<HttpConnection> last = std::move(self->self_);
    delete reinterpret_cast<uv_tcp_t*>(h);
    if (self->server_) self->server_->forget(self);
  }  // `last` frees the connection unless a responder still holds it

  // One timer per connection. While a request is arriving it must be complete by its read
  // deadline (a client trickling bytes holds nothing for long); between requests the
  // connection may stay silent for the idle timeout; while the handler works, neither.
  void arm_timer() {
    const auto now = std::chrono::steady_clock::now();
    Duration wait = limits_.idle_timeout;
    if (parser_.mid_request() || offset_ < inbuf_.size()) {
      if (!request_deadline_) request_deadline_ = now + limits_.read_timeout;
      wait = std::chrono::duration_cast<Duration>(*request_deadline_ - now);
      if (wait.count() < 0) wait = Duration{0};
    }
    timer_.start(wait, [this] {
      if (awaiting_) {
        arm_timer();  // the handler is still working; that is not the client's delay
      } else if (request_deadline_) {
        fail(408, "the request did not arrive in full within " +
                      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(limits_.read_timeout).count()) +
                      " ms");
      } else {
        close();
      }
    });
  }

  void on_read(ssize_t n, const uv_buf_t* buf) {
    if (n < 0) {
      // EOF or error: a request in flight is still answered if the peer only half-closed,
      // but we cannot know; drop the connection.
      if (awaiting_) {
        peer_gone_ = true;
        uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp_));
        return;
      }
      close();
      return;
    }
    if (n == 0) return;
    inbuf_.append(buf->base, static_cast<size_t>(n));
    process();
    if (closed_ || shutting_down_) return;
    if (!awaiting_) arm_timer();
    // While a request is being answered, pipelined bytes wait unparsed: hold at most one
    // more request's worth, then stop reading until the answer is out.
    if (awaiting_ && inbuf_.size() - offset_ > limits_.max_header_bytes + limits_.max_body_bytes) {
      uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp_));
      reading_ = false;
    }
  }

  // Parses what is buffered until a request is complete, then hands it to the handler.
  void process() {
    if (processing_) return;
    processing_ = true;
    while (!closed_ && !awaiting_ && !shutting_down_ && offset_ < inbuf_.size()) {
      size_t consumed = 0;
      const auto status = parser_.feed(inbuf_.data() + offset_, inbuf_.size() - offset_, consumed);
      offset_ += consumed;
      if (status == HttpRequestParser::Status::error) {
        fail(parser_.error_status(), parser_.error_reason());
        break;
      }
      if (status == HttpRequestParser::Status::need_more) break;
      awaiting_ = true;
      keep_alive_ = parser_.keep_alive();
      request_deadline_.reset();
      HttpRequest request = parser_.take();
      request.remote = remote_;
      ++serial_;
      if (server_) server_->handler_(request, HttpResponder(weak_from_this(), serial_));
    }
    if (offset_ == inbuf_.size()) {
      inbuf_.clear();
      offset_ = 0;
    }
    processing_ = false;
  }

  // Answers `status` and closes: the stream cannot be trusted past a bad request.
  void fail(int status, const std::string& reason) {
    awaiting_ = true;  // make respond() accept exactly this answer
    keep_alive_ = false;
    respond(serial_, HttpResponse::error(status, reason));
  }

  // Writes `r`, sending only the first `body_bytes` bytes of its body (fault injection: a
  // truncated answer; the head still announces the whole body).
  void write(const HttpResponse& r, bool keep, size_t body_bytes = std::string::npos) {
    std::string data;
    data.reserve(r.body.size() + 256);
    data += "HTTP/1.1 " + std::to_string(r.status) + " ";
    data += http_status_text(r.status);
    data += "\r\nContent-Type: " + r.content_type;
    data += "\r\nContent-Length: " + std::to_string(r.body.size());
    for (const auto& [k, v] : r.headers) data += "\r\n" + k + ": " + v;
    data += keep ? "\r\nConnection: keep-alive\r\n\r\n" : "\r\nConnection: close\r\n\r\n";
    data.append(r.body, 0, std::min(body_bytes, r.body.size()));
    send_raw(std::move(data), !keep);
    if (keep && peer_gone_) close();
  }

  // Queues bytes on the socket; with `then_close`, closes once they are written.
  void send_raw(std::string data, bool then_close) {
    // Most answers fit the socket's buffer at once: written here and now, they spare the
    // loop the write queue (and libuv an epoll_ctl per answer to stop watching for POLLOUT).
    if (!then_close) {
      uv_buf_t now = uv_buf_init(data.data(), static_cast<unsigned>(data.size()));
      const int n = uv_try_write(reinterpret_cast<uv_stream_t*>(tcp_), &now, 1);
      if (n == static_cast<int>(data.size())) return;
      if (n > 0) data.erase(0, static_cast<size_t>(n));
      // UV_EAGAIN or a partial write: the rest goes through the queue; an error shows there too.
    }
    struct WriteReq {
      uv_write_t req;
      std::string data;
    };
    auto* w = new WriteReq{{}, std::move(data)};
    w->req.data = then_close ? this : nullptr;
    uv_buf_t buf = uv_buf_init(w->data.data(), w->data.size());
    const int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(tcp_), &buf, 1,
                            [](uv_write_t* req, int) {
                              auto* self = static_cast<HttpConnection*>(req->data);
                              delete reinterpret_cast<WriteReq*>(req);
                              if (self) self->close();
                            });
    if (rc != 0) {
      delete w;
      close();
    }
  }

  HttpServer* server_;  // null once the server is gone
  HttpLimits limits_;
  std::shared_ptr<HttpConnection> self_;
  uv_tcp_t* tcp_;
  HttpRequestParser parser_;
  Timer timer_;
  std::optional<std::chrono::steady_clock::time_point> request_deadline_;  // set while one arrives
  std::string inbuf_;
  size_t offset_ = 0;
  std::string remote_;
  uint64_t serial_ = 0;  // requests handed to the handler so far
  bool awaiting_ = false;
  bool keep_alive_ = true;
  bool processing_ = false;
  bool shutting_down_ = false;
  bool peer_gone_ = false;
  bool reading_ = false;
  bool closed_ = false;
};

void HttpResponder::send(HttpResponse response) {
  if (auto conn = conn_.lock()) conn->respond(serial_, std::move(response));
}

void HttpResponder::abort() {
  if (auto conn = conn_.lock()) conn->abort(serial_);
}

void HttpResponder::send_truncated(HttpResponse response, std::size_t body_bytes) {
  if (auto conn = conn_.lock()) conn->respond_truncated(serial_, response, body_bytes);
}

bool HttpResponder::waiting() const {
  auto conn = conn_.lock();
  return conn && conn->waiting(serial_);
}

HttpServer::HttpServer(EventLoop& loop, HttpLimits limits, HttpHandler handler)
    : loop_(loop), limits_(limits), handler_(std::move(handler)) {}

HttpServer::~HttpServer() {
  if (listener_) close_and_delete(listener_);
  for (HttpConnection* c : connections_) {
    c->detach();
    c->close();
  }
}

int HttpServer::listen(const std::string& host, int port) {
  sockaddr_storage addr{};
  if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr)) != 0 &&
      uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr)) != 0)
    throw std::runtime_error("cannot listen on '" + host + "': not an IP address");
  listener_ = new uv_tcp_t;
  uv_tcp_init(loop_.raw(), listener_);
  listener_->data = this;
  int rc = uv_tcp_bind(listener_, reinterpret_cast<sockaddr*>(&addr), 0);
  if (rc == 0)
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(listener_), 1024, [](uv_stream_t* s, int status) {
      if (status == 0) static_cast<HttpServer*>(s->data)->on_connection();
    });
  if (rc != 0) {
    close_and_delete(listener_);
    listener_ = nullptr;
    throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) + ": " + uv_strerror(rc));
  }
  sockaddr_storage bound{};
  int len = sizeof bound;
  uv_tcp_getsockname(listener_, reinterpret_cast<sockaddr*>(&bound), &len);
  return ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

void HttpServer::on_connection() {
  auto conn = std::make_shared<HttpConnection>(*this);
  HttpConnection* raw = conn.get();
  raw->keep_alive_until_closed(conn);
  connections_.insert(raw);
  if (uv_accept(reinterpret_cast<uv_stream_t*>(listener_), reinterpret_cast<uv_stream_t*>(raw->tcp())) != 0) {
    raw->close();
    return;
  }
  if (closing_ || static_cast<int>(connections_.size()) > limits_.max_connections) {
    log::warn("refusing a connection: connection limit reached",
              {{"limit", std::to_string(limits_.max_connections)}});
    raw->close();
    return;
  }
  raw->start();
}

void HttpServer::forget(HttpConnection* conn) {
  connections_.erase(conn);
  maybe_closed();
}

void HttpServer::close(std::function<void()> closed) {
  closing_ = true;
  closed_ = std::move(closed);
  if (listener_) {
    close_and_delete(listener_);
    listener_ = nullptr;
  }
  std::vector<HttpConnection*> all(connections_.begin(), connections_.end());
  for (HttpConnection* c : all) c->close_when_idle();
  maybe_closed();
}

void HttpServer::maybe_closed() {
  if (closing_ && connections_.empty() && closed_) {
    auto cb = std::move(closed_);
    closed_ = nullptr;
    cb();
  }
}

}  // namespace recado
