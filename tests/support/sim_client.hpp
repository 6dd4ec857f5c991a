#pragma once
// One request to a simulator (or any server on loopback) on a fresh connection, read raw so
// tests can check the exact status, headers and body a provider's client would see.
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <string>

namespace recado::test {

struct RawReply {
  int status = 0;  // 0: no complete response in time
  std::map<std::string, std::string> headers;
  nlohmann::json body;  // discarded when the body is not JSON
  std::string raw;
};

RawReply raw_call(int port, const std::string& method, const std::string& path, const std::string& body = "",
                  const std::map<std::string, std::string>& headers = {},
                  std::chrono::milliseconds timeout = std::chrono::seconds{15});

}  // namespace recado::test
