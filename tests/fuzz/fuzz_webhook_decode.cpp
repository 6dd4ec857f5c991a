// libFuzzer: each provider's payload decoder over arbitrary bodies. The first byte picks
// the provider; the rest is the body.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "src/webhook_decode.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  constexpr recado::Provider kProviders[] = {recado::Provider::evolution, recado::Provider::whaticket,
                                             recado::Provider::cloudapi, recado::Provider::calcom,
                                             recado::Provider::chatwoot};
  const recado::Provider provider = kProviders[data[0] % 5];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  auto decoded = recado::decode_webhook(provider, body);
  if (auto* ok = std::get_if<recado::DecodedWebhook>(&decoded)) {
    for (const auto& e : ok->events) {
      // What the store relies on: a key to deduplicate by, and detail that is JSON.
      if (e.dedup_key.empty()) __builtin_trap();
      if (e.detail_json.empty() || (e.detail_json[0] != '{')) __builtin_trap();
    }
  } else if (std::get<recado::WebhookError>(decoded).reason.empty()) {
    __builtin_trap();
  }
  return 0;
}
