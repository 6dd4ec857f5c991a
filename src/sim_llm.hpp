#pragma once
// The simulated LLMs: prompts read from the three APIs' request bodies (OpenAI chat
// completions, Anthropic messages, Gemini generateContent) and a deterministic answer.
//
// The answer rule: the same model and messages always get the same text. It is a short
// Portuguese secretary-style reply that quotes the last user message (its first 80
// characters, newlines as spaces) and ends with "[sim XXXXXXXX]", the first 8 hex digits of
// an FNV-1a 64-bit hash of the model and every message ("model\n" then "role:text\n" for
// each, the system prompt first as role "system"); the hash also picks one of three
// templates. Tokens are counted as ceil(UTF-8 bytes / 4), at least 1: the prompt's from all
// its message texts, the completion's from the reply. When the request caps the output
// (max_completion_tokens / max_tokens / generationConfig.maxOutputTokens) below that, the
// reply is cut to cap × 4 bytes (on a character boundary) and the finish reason says so.
// Pure; safe from any thread.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace recado {

struct LlmPrompt {
  std::string model;
  std::vector<std::pair<std::string, std::string>> messages;  // (role, text); system first
  std::optional<int64_t> max_tokens;                          // the output cap, if any
};

// Reads a request body; on failure, the reason (for a 400 in the API's format).
std::variant<LlmPrompt, std::string> parse_openai_prompt(std::string_view body);
std::variant<LlmPrompt, std::string> parse_anthropic_prompt(std::string_view body);
std::variant<LlmPrompt, std::string> parse_gemini_prompt(std::string_view body,
                                                         std::string_view model);

struct LlmAnswer {
  std::string text;
  std::string hash;  // 8 hex digits
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  bool cut = false;  // stopped by the output cap
};

LlmAnswer simulated_answer(const LlmPrompt& prompt);
// ceil(bytes / 4), at least 1.
int64_t simulated_tokens(std::string_view text);

// Success bodies. `id` is unique per response; `created` is unix seconds.
std::string openai_completion_body(const LlmPrompt& prompt, const LlmAnswer& answer,
                                   std::string_view id, int64_t created);
std::string anthropic_message_body(const LlmPrompt& prompt, const LlmAnswer& answer,
                                   std::string_view id);
std::string gemini_response_body(const LlmPrompt& prompt, const LlmAnswer& answer,
                                 std::string_view id);

}  // namespace recado
