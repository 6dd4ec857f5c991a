#pragma once
// The one classifier of provider responses, shared by every job kind: each HTTP reply from an
// LLM, a WhatsApp gateway or Cal.com becomes success, retry (with the delay the provider asked
// for, if any) or permanent failure, and says whether it counts against the endpoint's circuit
// breaker. Pure: no I/O, time comes in as an argument.
#include <optional>
#include <string>
#include <string_view>

#include "src/clock.hpp"
#include "src/http_client.hpp"

namespace recado {

// The provider APIs recado calls.
enum class Api { openai, anthropic, gemini, evolution, whaticket, cloudapi, calcom };
std::string_view to_string(Api api);
std::optional<Api> parse_api(std::string_view name);

struct CallVerdict {
  enum class Type { success, retry, permanent };
  Type type = Type::success;
  std::string reason;                 // for the job's error list and the log; never a secret
  std::optional<Duration> retry_after;  // the provider's own delay (header or body)
  bool breaker_failure = false;       // a sign the endpoint is unwell (5xx, 529, 429, timeouts)
};

std::string_view to_string(CallVerdict::Type t);

CallVerdict classify(Api api, const HttpReply& reply, Timestamp now);

// The delay a response asks for: `retry-after-ms`, then `retry-after` (seconds or an HTTP
// date, measured from `now`), then Gemini's RetryInfo `retryDelay` in the body. Capped at a day.
std::optional<Duration> retry_after(const HttpReply& reply, Timestamp now);

// Tokens an LLM reports it used (usage / usageMetadata), for the spend metrics.
struct TokenUsage {
  long input = 0;
  long output = 0;
};
std::optional<TokenUsage> token_usage(Api api, const std::string& body);

}  // namespace recado
