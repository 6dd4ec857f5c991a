// libFuzzer: untrusted bytes through the ingress's request path, as far as it goes without
// sockets or a database: the HTTP parser (fed in pieces the first bytes choose), then for
// each request the webhook route's credential check and payload decoder.
#include <cstddef>
#include <cstdint>
#include <string>

#include "src/http_request_parser.hpp"
#include "src/webhook_auth.hpp"
#include "src/webhook_decode.hpp"

namespace {

recado::WebhookConfig config_for(recado::Provider p) {
  recado::WebhookConfig c;
  c.provider = p;
  c.token = {"fuzz-token", "config"};
  c.secret = {"fuzz-secret", "config"};
  c.jwt_secret = {"fuzz-jwt", "config"};
  return c;
}

void route(const recado::HttpRequest& request) {
  // /webhooks/{tenant}/{provider}[/{token}]: the provider is the third segment.
  const std::string& path = request.path;
  const auto start = path.find('/', 1);
  if (start == std::string::npos) return;
  const auto second = path.find('/', start + 1);
  const std::string name = path.substr(start + 1, second == std::string::npos ? std::string::npos : second - start - 1);
  const auto provider = recado::parse_provider(name);
  if (!provider) return;
  const recado::WebhookConfig config = config_for(*provider);
  (void)recado::check_webhook_auth(config, request, "", recado::Timestamp{std::chrono::seconds{1767225600}});
  (void)recado::decode_webhook(*provider, request.body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t piece = 1 + data[0] % 64;  // how the bytes arrive: in pieces of this size
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  size -= 1;
  recado::HttpLimits limits;
  limits.max_body_bytes = 64 << 10;
  limits.max_header_bytes = 8 << 10;
  limits.max_headers = 32;
  recado::HttpRequestParser parser(limits);
  std::string buffer;
  size_t offset = 0;
  for (size_t fed = 0; fed < size;) {
    const size_t n = std::min(piece, size - fed);
    buffer.append(bytes + fed, n);
    fed += n;
    for (;;) {
      size_t consumed = 0;
      const auto status = parser.feed(buffer.data() + offset, buffer.size() - offset, consumed);
      offset += consumed;
      if (status == recado::HttpRequestParser::Status::error) return 0;
      if (status == recado::HttpRequestParser::Status::need_more) break;
      route(parser.take());
    }
  }
  return 0;
}
