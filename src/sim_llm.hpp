#pragma once
// The simulated LLMs: prompts read from the three APIs' request bodies (OpenAI chat
// completions, Anthropic messages, Gemini generateContent), tools included, the answer
// bodies (text or tool calls) in each API's format, the deterministic text answer, and the
// script of answers tests queue up (POST /_sim/llm/script).
//
// Which answer a request gets (sim_providers decides, in this order): the next scripted turn
// when the script holds one; else, when the request offers tools, the built-in secretary
// (sim_brain.hpp); else the deterministic text answer below.
//
// The deterministic answer: the same model and messages always get the same text. It is a
// short Portuguese secretary-style reply that quotes the last user message (its first 80
// characters, newlines as spaces) and ends with "[sim XXXXXXXX]", the first 8 hex digits of
// an FNV-1a 64-bit hash of the model and every message ("model\n" then "role:text\n" for
// each, the system prompt first as role "system"); the hash also picks one of three
// templates. Tool parts take no part in the hash: a message's text is only its text (an
// OpenAI tool message's text is its content, the result). Tokens are counted as
// ceil(UTF-8 bytes / 4), at least 1: the prompt's from all its message texts plus the name
// and JSON arguments of each tool call and the JSON of each tool result not already a
// message's text; the completion's from the reply's text and its tool calls. When the
// request caps the output (max_completion_tokens / max_tokens /
// generationConfig.maxOutputTokens) below that, a text reply is cut to cap × 4 bytes (on a
// character boundary) and the finish reason says so; tool calls are never cut.
//
// Tools on the wire:
//   OpenAI     offered as "tools":[{"type":"function","function":{name,...}}]; the model's
//              calls are an assistant message's "tool_calls":[{id,type,function:{name,
//              arguments: JSON text}}]; results are {"role":"tool","tool_call_id","content"}.
//              An answer with calls: message.content null (or the text), tool_calls with ids
//              "call_...", finish_reason "tool_calls".
//   Anthropic  offered as "tools":[{name,input_schema,...}]; calls are assistant content
//              blocks {"type":"tool_use",id,name,input}; results are user content blocks
//              {"type":"tool_result",tool_use_id,content,is_error?}. An answer with calls:
//              content [{"type":"text"}?, {"type":"tool_use","id":"toolu_...",name,input}],
//              stop_reason "tool_use".
//   Gemini     offered as "tools":[{"functionDeclarations":[{name,...}]}]; calls are model
//              parts {"functionCall":{name,args}}; results are user parts
//              {"functionResponse":{name,response}}. An answer with calls: parts
//              [{"text"}?, {"functionCall":{name,args}}], finishReason "STOP".
//
// Pure, but for LlmScript (not thread-safe: the simulator keeps one, on its loop thread).
#include <cstddef>
#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace recado {

// A call of a tool: in a prompt's message, or in an answer.
struct LlmToolCall {
  std::string id;  // the API's id ("" for Gemini, which has none; answers get one made)
  std::string name;
  // The arguments, an object. OpenAI sends them as JSON text: when that text is not JSON it
  // is kept here as a JSON string.
  nlohmann::json arguments = nlohmann::json::object();
};

// A tool's result, sent back to the model.
struct LlmToolResult {
  std::string call_id;  // tool_call_id / tool_use_id; "" for Gemini
  std::string name;     // Gemini's functionResponse.name; "" for the others
  // The result: text that parses as JSON is parsed, other text is kept as a JSON string.
  // Gemini's response object is taken as it is, but one that only wraps the result in a
  // single "content", "result" or "output" key is unwrapped (and parsed, if JSON text).
  nlohmann::json content;
  bool is_error = false;  // Anthropic's is_error
};

// What a message carries besides its text.
struct LlmToolParts {
  std::vector<LlmToolCall> calls;      // the model's calls (an assistant/model message)
  std::vector<LlmToolResult> results;  // answers to calls (a user or tool message)
  bool empty() const { return calls.empty() && results.empty(); }
};

struct LlmPrompt {
  std::string model;
  std::vector<std::pair<std::string, std::string>> messages;  // (role, text); system first
  std::optional<int64_t> max_tokens;                          // the output cap, if any
  std::vector<std::string> tools;                             // names of the tools offered
  // The parsers fill this alongside `messages` (one per message, same index). A prompt made
  // by hand may leave it empty: then no message carries tool parts.
  std::vector<LlmToolParts> tool_parts;

  // Message i's tool parts (empty ones when there are none).
  const LlmToolParts& parts(size_t i) const;
  bool is_tool_call(size_t i) const { return !parts(i).calls.empty(); }
  bool is_tool_result(size_t i) const { return !parts(i).results.empty(); }
};

// Reads a request body; on failure, the reason (for a 400 in the API's format).
std::variant<LlmPrompt, std::string> parse_openai_prompt(std::string_view body);
std::variant<LlmPrompt, std::string> parse_anthropic_prompt(std::string_view body);
std::variant<LlmPrompt, std::string> parse_gemini_prompt(std::string_view body,
                                                         std::string_view model);

struct LlmAnswer {
  std::string text;  // may be "" when tool_calls is not empty
  std::string hash;  // 8 hex digits (the deterministic answer's; "" for other answers)
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  bool cut = false;                     // stopped by the output cap
  std::vector<LlmToolCall> tool_calls;  // the tools the model wants run
};

LlmAnswer simulated_answer(const LlmPrompt& prompt);
// ceil(bytes / 4), at least 1.
int64_t simulated_tokens(std::string_view text);
// The prompt's tokens, as every answer counts them.
int64_t prompt_tokens(const LlmPrompt& prompt);
// An answer of `text` and `calls` to `prompt`, tokens counted and `text` cut to the cap.
LlmAnswer make_answer(const LlmPrompt& prompt, std::string text,
                      std::vector<LlmToolCall> calls = {});

// Success bodies. `id` is unique per response; `created` is unix seconds. A tool call
// without an id gets "call_<id>_<n>" (OpenAI) or "toolu_<id>_<n>" (Anthropic).
std::string openai_completion_body(const LlmPrompt& prompt, const LlmAnswer& answer,
                                   std::string_view id, int64_t created);
std::string anthropic_message_body(const LlmPrompt& prompt, const LlmAnswer& answer,
                                   std::string_view id);
std::string gemini_response_body(const LlmPrompt& prompt, const LlmAnswer& answer,
                                 std::string_view id);

// --- The script (POST /_sim/llm/script) ------------------------------------------------------

// One scripted answer: text, tool calls, or both (the text first, as models do).
struct LlmScriptTurn {
  std::optional<std::string> text;
  std::vector<LlmToolCall> tool_calls;  // ids are made when answered
};

// The body of POST /_sim/llm/script:
//   {"turns":[{"text":"..."} | {"tool_calls":[{"name":"find_slots","arguments":{...}}]}
//             | {"text":"...","tool_calls":[...]}, ...]}
// "turns" is a non-empty array; each turn an object with "text" (a string, "" allowed)
// and/or "tool_calls" (a non-empty array of {"name": non-empty string, "arguments": object,
// optional, default {}}); no other keys. On failure, a reason naming the field.
std::variant<std::vector<LlmScriptTurn>, std::string> parse_llm_script(const nlohmann::json& body);
// A turn as GET /_sim/llm/script shows it (the shape POST takes).
nlohmann::json to_json(const LlmScriptTurn& turn);

// The queue of scripted answers: every LLM request (any API, any model) takes the next.
class LlmScript {
 public:
  static constexpr size_t kMaxTurns = 10000;

  // Appends; false (and nothing appended) when the queue would hold more than kMaxTurns.
  bool append(std::vector<LlmScriptTurn> turns);
  std::optional<LlmScriptTurn> take();
  size_t size() const { return turns_.size(); }
  size_t clear();                   // how many were dropped
  nlohmann::json describe() const;  // [turn, ...], next first

 private:
  std::deque<LlmScriptTurn> turns_;
};

}  // namespace recado
