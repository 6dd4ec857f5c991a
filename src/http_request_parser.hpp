#pragma once
// HTTP/1.1 requests out of a byte stream: http-parser underneath, recado's limits on top
// (header bytes, header count, body bytes). No sockets: the connection feeds it bytes, and
// the fuzzer does the same. One parser per connection; not thread-safe.
#include <http_parser.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/clock.hpp"

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

struct HttpLimits {
  std::size_t max_header_bytes = 16 << 10;
  std::size_t max_body_bytes = 1 << 20;
  int max_headers = 64;
  int max_connections = 4096;
  Duration idle_timeout = std::chrono::seconds{30};  // a connection silent this long is closed
  Duration read_timeout = std::chrono::seconds{10};  // a request must arrive in full within this
};

class HttpRequestParser {
 public:
  enum class Status { need_more, request, error };

  // `on_continue` runs when a request's headers ask for "Expect: 100-continue".
  explicit HttpRequestParser(const HttpLimits& limits, std::function<void()> on_continue = {});
  HttpRequestParser(const HttpRequestParser&) = delete;
  HttpRequestParser& operator=(const HttpRequestParser&) = delete;

  // Parses from `data`, stopping after one complete request; `consumed` says how far it
  // read. On `request`, take() it; on `error`, the connection must answer error_status()
  // and close (the stream cannot be trusted past a bad request).
  Status feed(const char* data, std::size_t size, std::size_t& consumed);
  HttpRequest take();
  // Whether the request just taken allows the connection to stay open.
  bool keep_alive() const { return keep_alive_; }
  // Whether part of a request has been read (its first byte arrived, its end not yet).
  bool mid_request() const { return mid_request_; }

  int error_status() const { return error_status_; }
  const std::string& error_reason() const { return error_reason_; }

 private:
  static const http_parser_settings& settings();
  bool check_request_line(const char* data, std::size_t size);
  int count_header_bytes(std::size_t n);
  int limit(int status, std::string reason);

  HttpLimits limits_;
  std::function<void()> on_continue_;
  http_parser parser_;
  HttpRequest request_;
  std::size_t header_bytes_ = 0;
  int header_count_ = 0;
  bool in_value_ = false;
  bool complete_ = false;
  bool keep_alive_ = true;
  bool mid_request_ = false;
  bool failed_ = false;
  bool line_checked_ = false;  // the current request's first line was seen and is HTTP/1.x
  std::string request_line_;   // that line, while it arrives
  int error_status_ = 0;
  std::string error_reason_;
};

}  // namespace recado
