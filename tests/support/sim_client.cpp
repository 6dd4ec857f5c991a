#include "tests/support/sim_client.hpp"

#include "tests/support/ingress_harness.hpp"

namespace recado::test {

RawReply raw_call(int port, const std::string& method, const std::string& path, const std::string& body,
                  const std::map<std::string, std::string>& headers, std::chrono::milliseconds timeout) {
  RawConnection c(port);
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  c.send(req);
  RawReply r;
  if (auto resp = c.read_response(timeout)) {
    r.status = resp->status;
    r.headers = resp->headers;
    r.raw = resp->body;
    r.body = nlohmann::json::parse(resp->body, nullptr, false);
  }
  return r;
}

}  // namespace recado::test
