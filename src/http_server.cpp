#include "src/http_server.hpp"

#include <http_parser.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <stdexcept>
#include <strings.h>

#include "src/log.hpp"

namespace recado {

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

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
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

// One client connection. Owned by the server's table; responders hold weak references.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  explicit HttpConnection(HttpServer& server)
      : server_(&server), limits_(server.limits_), idle_(server.loop_) {
    tcp_ = new uv_tcp_t;
    uv_tcp_init(server.loop_.raw(), tcp_);
    tcp_->data = this;
    http_parser_init(&parser_, HTTP_REQUEST);
    parser_.data = this;
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
    arm_idle();
    start_reading();
  }

  void start_reading() {
    reading_ = true;
    uv_read_start(reinterpret_cast<uv_stream_t*>(tcp_),
                  [](uv_handle_t* h, size_t suggested, uv_buf_t* buf) {
                    auto* self = static_cast<HttpConnection*>(h->data);
                    self->readbuf_.resize(std::max<size_t>(suggested, 16384));
                    *buf = uv_buf_init(self->readbuf_.data(), self->readbuf_.size());
                  },
                  [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
                    static_cast<HttpConnection*>(s->data)->on_read(n, buf);
                  });
  }

  // Sends the answer to the request being served; then serves the next pipelined one.
  void respond(HttpResponse response) {
    if (closed_ || !awaiting_) return;
    awaiting_ = false;
    const bool keep = keep_alive_ && server_ && !server_->closing_;
    write(response, keep);
    if (!keep) {
      shutting_down_ = true;
      return;
    }
    arm_idle();
    if (!reading_ && !peer_gone_) start_reading();
    process();
  }

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
    idle_.stop();
    uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp_));
    uv_close(reinterpret_cast<uv_handle_t*>(tcp_), [](uv_handle_t* h) {
      auto* self = static_cast<HttpConnection*>(h->data);
      std::shared_ptr<HttpConnection> last = std::move(self->self_);
      delete reinterpret_cast<uv_tcp_t*>(h);
      if (self->server_) self->server_->forget(self);
    });  // `last` frees the connection unless a responder still holds it
  }

 private:
  void arm_idle() {
    idle_.start(limits_.idle_timeout, [this] {
      if (awaiting_) {
        arm_idle();  // the handler is still working; that is not idleness
      } else {
        close();
      }
    });
  }

  void on_read(ssize_t n, const uv_buf_t*) {
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
    inbuf_.append(readbuf_.data(), static_cast<size_t>(n));
    arm_idle();
    process();
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
      const size_t n = http_parser_execute(&parser_, &settings(), inbuf_.data() + offset_,
                                           inbuf_.size() - offset_);
      offset_ += n;
      const auto err = HTTP_PARSER_ERRNO(&parser_);
      if (err == HPE_PAUSED) {
        http_parser_pause(&parser_, 0);
      } else if (err != HPE_OK) {
        fail(limit_status_ ? limit_status_ : 400,
             limit_status_ ? limit_reason_ : std::string("malformed HTTP request: ") + http_errno_description(err));
        break;
      }
      if (complete_) {
        complete_ = false;
        awaiting_ = true;
        keep_alive_ = http_should_keep_alive(&parser_) != 0;
        HttpRequest request = std::move(request_);
        request_ = HttpRequest{};
        request.remote = remote_;
        if (server_) server_->handler_(request, HttpResponder(weak_from_this()));
      }
    }
    if (offset_ == inbuf_.size()) {
      inbuf_.clear();
      offset_ = 0;
    }
    processing_ = false;
  }

  void fail(int status, const std::string& reason) {
    awaiting_ = true;  // make respond() accept exactly this answer
    keep_alive_ = false;
    respond(HttpResponse::error(status, reason));
  }

  void write(const HttpResponse& r, bool keep) {
    std::string data;
    data.reserve(r.body.size() + 256);
    data += "HTTP/1.1 " + std::to_string(r.status) + " ";
    data += http_status_text(r.status);
    data += "\r\nContent-Type: " + r.content_type;
    data += "\r\nContent-Length: " + std::to_string(r.body.size());
    for (const auto& [k, v] : r.headers) data += "\r\n" + k + ": " + v;
    data += keep ? "\r\nConnection: keep-alive\r\n\r\n" : "\r\nConnection: close\r\n\r\n";
    data += r.body;
    send_raw(std::move(data), !keep);
    if (keep && peer_gone_) close();
  }

  // Queues bytes on the socket; with `then_close`, closes once they are written.
  void send_raw(std::string data, bool then_close) {
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

  static const http_parser_settings& settings() {
    static const http_parser_settings s = [] {
      http_parser_settings s{};
      s.on_message_begin = [](http_parser* p) {
        auto* c = static_cast<HttpConnection*>(p->data);
        c->header_bytes_ = 0;
        c->header_count_ = 0;
        c->in_value_ = false;
        return 0;
      };
      s.on_url = [](http_parser* p, const char* at, size_t len) {
        auto* c = static_cast<HttpConnection*>(p->data);
        c->request_.path.append(at, len);
        return c->count_header_bytes(len);
      };
      s.on_header_field = [](http_parser* p, const char* at, size_t len) {
        auto* c = static_cast<HttpConnection*>(p->data);
        if (c->in_value_ || c->request_.headers.empty()) {
          if (++c->header_count_ > c->limits_.max_headers)
            return c->limit(431, "too many headers");
          c->request_.headers.emplace_back();
          c->in_value_ = false;
        }
        std::string& name = c->request_.headers.back().first;
        for (size_t i = 0; i < len; ++i) name += static_cast<char>(std::tolower(static_cast<unsigned char>(at[i])));
        return c->count_header_bytes(len);
      };
      s.on_header_value = [](http_parser* p, const char* at, size_t len) {
        auto* c = static_cast<HttpConnection*>(p->data);
        c->in_value_ = true;
        c->request_.headers.back().second.append(at, len);
        return c->count_header_bytes(len);
      };
      s.on_headers_complete = [](http_parser* p) {
        auto* c = static_cast<HttpConnection*>(p->data);
        c->request_.method = http_method_str(static_cast<http_method>(p->method));
        if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->limits_.max_body_bytes)
          return c->limit(413, "body larger than " + std::to_string(c->limits_.max_body_bytes) + " bytes");
        // A client that asks before sending its body gets the go-ahead.
        std::string_view expect = c->request_.header("expect");
        if (expect.size() == 12 && strncasecmp(expect.data(), "100-continue", 12) == 0)
          c->send_raw("HTTP/1.1 100 Continue\r\n\r\n", false);
        auto q = c->request_.path.find('?');
        if (q != std::string::npos) {
          c->request_.query = c->request_.path.substr(q + 1);
          c->request_.path.resize(q);
        }
        return 0;
      };
      s.on_body = [](http_parser* p, const char* at, size_t len) {
        auto* c = static_cast<HttpConnection*>(p->data);
        if (c->request_.body.size() + len > c->limits_.max_body_bytes)
          return c->limit(413, "body larger than " + std::to_string(c->limits_.max_body_bytes) + " bytes");
        c->request_.body.append(at, len);
        return 0;
      };
      s.on_message_complete = [](http_parser* p) {
        auto* c = static_cast<HttpConnection*>(p->data);
        c->complete_ = true;
        http_parser_pause(p, 1);
        return 0;
      };
      return s;
    }();
    return s;
  }

  int count_header_bytes(size_t len) {
    header_bytes_ += len;
    if (header_bytes_ > limits_.max_header_bytes)
      return limit(431, "headers larger than " + std::to_string(limits_.max_header_bytes) + " bytes");
    return 0;
  }

  int limit(int status, std::string reason) {
    limit_status_ = status;
    limit_reason_ = std::move(reason);
    return -1;  // an error for every callback (1 from on_headers_complete would mean "no body")
  }

  HttpServer* server_;  // null once the server is gone
  HttpLimits limits_;
  std::shared_ptr<HttpConnection> self_;
  uv_tcp_t* tcp_;
  http_parser parser_;
  Timer idle_;
  std::string readbuf_;
  std::string inbuf_;
  size_t offset_ = 0;
  HttpRequest request_;
  std::string remote_;
  size_t header_bytes_ = 0;
  int header_count_ = 0;
  bool in_value_ = false;
  int limit_status_ = 0;
  std::string limit_reason_;
  bool complete_ = false;
  bool awaiting_ = false;
  bool keep_alive_ = true;
  bool processing_ = false;
  bool shutting_down_ = false;
  bool peer_gone_ = false;
  bool reading_ = false;
  bool closed_ = false;
};

void HttpResponder::send(HttpResponse response) {
  if (auto conn = conn_.lock()) conn->respond(std::move(response));
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
