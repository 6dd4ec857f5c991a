#include "src/http_request_parser.hpp"

#include <strings.h>

#include <cctype>
#include <cstring>

namespace recado {

namespace {

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

}  // namespace

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

HttpRequestParser::HttpRequestParser(const HttpLimits& limits, std::function<void()> on_continue)
    : limits_(limits), on_continue_(std::move(on_continue)) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
}

HttpRequestParser::Status HttpRequestParser::feed(const char* data, std::size_t size, std::size_t& consumed) {
  consumed = 0;
  if (failed_) return Status::error;
  if (size == 0) return Status::need_more;
  if (!line_checked_ && !check_request_line(data, size)) {
    failed_ = true;
    return Status::error;
  }
  consumed = http_parser_execute(&parser_, &settings(), data, size);
  const auto err = HTTP_PARSER_ERRNO(&parser_);
  if (err == HPE_PAUSED) {
    http_parser_pause(&parser_, 0);
  } else if (err != HPE_OK) {
    failed_ = true;
    if (!error_status_) {
      error_status_ = 400;
      error_reason_ = std::string("malformed HTTP request: ") + http_errno_description(err);
    }
    return Status::error;
  }
  if (!complete_) return Status::need_more;
  complete_ = false;
  keep_alive_ = http_should_keep_alive(&parser_) != 0;
  return Status::request;
}

// http-parser (as Debian builds it) reads "HTTQ/1.1" as HTTP: the request line is checked
// here, gathered until its end. Empty lines before it are skipped, as the parser does.
bool HttpRequestParser::check_request_line(const char* data, std::size_t size) {
  for (std::size_t i = 0; i < size && !line_checked_; ++i) {
    if (data[i] != '\n') {
      request_line_ += data[i];
      if (request_line_.size() > limits_.max_header_bytes) {
        error_status_ = 431;
        error_reason_ = "request line longer than " + std::to_string(limits_.max_header_bytes) + " bytes";
        return false;
      }
      continue;
    }
    std::string_view line = request_line_;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {  // a stray CRLF between requests
      request_line_.clear();
      continue;
    }
    line_checked_ = true;
    if (!line.ends_with(" HTTP/1.1") && !line.ends_with(" HTTP/1.0")) {
      error_status_ = 400;
      error_reason_ = "malformed request line: expected HTTP/1.1 or HTTP/1.0";
      return false;
    }
  }
  return true;
}

HttpRequest HttpRequestParser::take() {
  HttpRequest r = std::move(request_);
  request_ = HttpRequest{};
  return r;
}

int HttpRequestParser::count_header_bytes(std::size_t n) {
  header_bytes_ += n;
  if (header_bytes_ > limits_.max_header_bytes)
    return limit(431, "headers larger than " + std::to_string(limits_.max_header_bytes) + " bytes");
  return 0;
}

int HttpRequestParser::limit(int status, std::string reason) {
  error_status_ = status;
  error_reason_ = std::move(reason);
  return -1;  // an error for every callback (1 from on_headers_complete would mean "no body")
}

const http_parser_settings& HttpRequestParser::settings() {
  static const http_parser_settings s = [] {
    http_parser_settings s{};
    s.on_message_begin = [](http_parser* p) {
      auto* c = static_cast<HttpRequestParser*>(p->data);
      c->header_bytes_ = 0;
      c->header_count_ = 0;
      c->in_value_ = false;
      c->mid_request_ = true;
      return 0;
    };
    s.on_url = [](http_parser* p, const char* at, size_t len) {
      auto* c = static_cast<HttpRequestParser*>(p->data);
      c->request_.path.append(at, len);
      return c->count_header_bytes(len);
    };
    s.on_header_field = [](http_parser* p, const char* at, size_t len) {
      auto* c = static_cast<HttpRequestParser*>(p->data);
      if (c->in_value_ || c->request_.headers.empty()) {
        if (++c->header_count_ > c->limits_.max_headers) return c->limit(431, "too many headers");
        c->request_.headers.emplace_back();
        c->in_value_ = false;
      }
      std::string& name = c->request_.headers.back().first;
      for (size_t i = 0; i < len; ++i) {
        // Only RFC 9110 token characters: "Transfer-Encoding :" must not pass for another header.
        if (!is_token_char(at[i])) return c->limit(400, "invalid character in a header name");
        name += static_cast<char>(std::tolower(static_cast<unsigned char>(at[i])));
      }
      return c->count_header_bytes(len);
    };
    s.on_header_value = [](http_parser* p, const char* at, size_t len) {
      auto* c = static_cast<HttpRequestParser*>(p->data);
      c->in_value_ = true;
      c->request_.headers.back().second.append(at, len);
      return c->count_header_bytes(len);
    };
    s.on_headers_complete = [](http_parser* p) {
      auto* c = static_cast<HttpRequestParser*>(p->data);
      c->request_.method = http_method_str(static_cast<http_method>(p->method));
      // Both framings at once is how requests are smuggled past a proxy: refuse it,
      // whichever way the parser would have read it.
      if (!c->request_.header("transfer-encoding").empty() && !c->request_.header("content-length").empty())
        return c->limit(400, "both Content-Length and Transfer-Encoding");
      if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->limits_.max_body_bytes)
        return c->limit(413, "body larger than " + std::to_string(c->limits_.max_body_bytes) + " bytes");
      std::string_view expect = c->request_.header("expect");
      if (expect.size() == 12 && strncasecmp(expect.data(), "100-continue", 12) == 0 && c->on_continue_)
        c->on_continue_();
      auto q = c->request_.path.find('?');
      if (q != std::string::npos) {
        c->request_.query = c->request_.path.substr(q + 1);
        c->request_.path.resize(q);
      }
      return 0;
    };
    s.on_body = [](http_parser* p, const char* at, size_t len) {
      auto* c = static_cast<HttpRequestParser*>(p->data);
      if (c->request_.body.size() + len > c->limits_.max_body_bytes)
        return c->limit(413, "body larger than " + std::to_string(c->limits_.max_body_bytes) + " bytes");
      c->request_.body.append(at, len);
      return 0;
    };
    s.on_message_complete = [](http_parser* p) {
      auto* c = static_cast<HttpRequestParser*>(p->data);
      c->complete_ = true;
      c->mid_request_ = false;
      c->line_checked_ = false;
      c->request_line_.clear();
      http_parser_pause(p, 1);
      return 0;
    };
    return s;
  }();
  return s;
}

}  // namespace recado
