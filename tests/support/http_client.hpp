#pragma once
// A blocking HTTP client for tests (libcurl easy), keeping its connection alive between
// requests. One per thread.
#include <map>
#include <string>

namespace recado::test {

struct HttpResult {
  long status = 0;  // 0: no response (connection refused, timeout)
  std::string body;
  std::string error;
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResult request(const std::string& method, const std::string& url, const std::string& body = "",
                     const std::map<std::string, std::string>& headers = {});
  HttpResult get(const std::string& url) { return request("GET", url); }
  HttpResult post(const std::string& url, const std::string& body,
                  const std::map<std::string, std::string>& headers = {}) {
    return request("POST", url, body, headers);
  }

 private:
  void* curl_;
};

// Sends raw bytes over a fresh TCP connection to 127.0.0.1:port and returns what comes back
// until the server closes or `timeout_ms` passes.
std::string raw_exchange(int port, const std::string& bytes, int timeout_ms = 5000);

}  // namespace recado::test
