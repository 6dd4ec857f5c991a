#pragma once
// The LLM adapters: the HTTP request for one chat turn and the reading of its answer, for the
// three wire formats recado speaks (shared/protocols.md, "LLMs"):
//   Api::openai     POST {base}/v1/chat/completions, Authorization: Bearer
//   Api::anthropic  POST {base}/v1/messages, x-api-key + anthropic-version: 2023-06-01
//   Api::gemini     POST {base}/v1beta/models/{model}:generateContent, x-goog-api-key
// Pure functions: no sockets, no clock, no state; safe from any thread. What the call's
// status means (retry, permanent, breaker) is src/call_verdict's business, not this file's:
// parse_llm_answer only reads a 2xx body.
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "src/call_verdict.hpp"
#include "src/http_client.hpp"

namespace recado::jobs::providers {

struct LlmEndpoint {
  Api api = Api::openai;
  // Scheme, host and optional path prefix, with or without a trailing slash:
  // https://api.openai.com, https://api.anthropic.com, https://generativelanguage.googleapis.com.
  // For Api::openai a base that already ends in a version ("/v1", "/v1beta/openai", as for
  // Gemini's OpenAI-compatible endpoint or a local server's ".../v1") gets only
  // "/chat/completions" appended.
  std::string base_url;
  std::string api_key;          // empty: no credential header is sent (local servers)
  std::string model;            // Gemini: "gemini-2.0-flash" or "models/gemini-2.0-flash"
  int max_output_tokens = 512;  // <= 0: not sent (Anthropic requires it and gets 512)
  double temperature = -1;      // < 0: not sent
};

struct ChatMessage {
  enum class Role { user, assistant };
  Role role = Role::user;
  std::string text;
};

struct LlmRequest {
  std::string system_prompt;          // empty: none
  std::vector<ChatMessage> messages;  // oldest first
};

// Sent as the first user turn when a conversation starts with an assistant message (a
// follow-up the business sent first), since Anthropic and Gemini want the user to speak first.
inline constexpr std::string_view kConversationStartText = "(início da conversa)";

// The conversation as the providers want it: messages without text dropped, consecutive
// messages of one role merged into one (their texts joined by "\n"), and, when the first is
// the assistant's, a user turn of kConversationStartText before it. Used for every API
// (OpenAI does not need it, but one shape for all keeps the prompts comparable).
std::vector<ChatMessage> alternating_turns(const std::vector<ChatMessage>& messages);

// The HTTP call for one answer: URL, headers (content-type application/json and the API's
// credential), JSON body. Throws std::invalid_argument when `endpoint.api` is not an LLM,
// or when the request holds no message with text (a caller's bug: there is nothing to answer).
HttpCall build_llm_call(const LlmEndpoint& endpoint, const LlmRequest& request);

struct LlmAnswer {
  std::string text;  // the reply, as the model wrote it
  // The provider's own word: stop/length, end_turn/max_tokens, STOP/MAX_TOKENS.
  std::string finish_reason;
  long input_tokens = 0;
  long output_tokens = 0;  // Gemini: candidates plus thinking tokens (both are billed)
};

// Reads a 2xx answer of `api`. An answer without text (no choices or candidates, a refusal,
// a safety block, only whitespace), with an error object, or that is not JSON is an error:
// a sentence saying what was wrong, quoting at most 200 characters of the body.
std::variant<LlmAnswer, std::string> parse_llm_answer(Api api, const std::string& body);

}  // namespace recado::jobs::providers
