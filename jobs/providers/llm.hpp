#pragma once
// The LLM adapters: the HTTP request for one chat turn and the reading of its answer, for the
// three wire formats recado speaks (shared/protocols.md, "LLMs"):
//   Api::openai     POST {base}/v1/chat/completions, Authorization: Bearer
//   Api::anthropic  POST {base}/v1/messages, x-api-key + anthropic-version: 2023-06-01
//   Api::gemini     POST {base}/v1beta/models/{model}:generateContent, x-goog-api-key
// Pure functions: no sockets, no clock, no state; safe from any thread. What the call's
// status means (retry, permanent, breaker) is src/call_verdict's business, not this file's:
// parse_llm_answer only reads a 2xx body.
#include <nlohmann/json.hpp>

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

// Tools: one internal interface, three encodings.
//   OpenAI     request "tools":[{"type":"function","function":{name,description,parameters}}];
//              answer choices[0].message.tool_calls[{id,type:"function",function:{name,
//              arguments: a JSON *string*}}] (finish_reason "tool_calls"); results go back as
//              {"role":"tool","tool_call_id","content"} messages after the assistant message
//              that carried the calls.
//   Anthropic  request "tools":[{name,description,input_schema}]; answer content blocks
//              {"type":"tool_use",id,name,input} (stop_reason "tool_use"); results go back as
//              one user message of {"type":"tool_result","tool_use_id","content","is_error"}.
//   Gemini     request "tools":[{"functionDeclarations":[{name,description,parameters}]}];
//              answer parts {"functionCall":{name,args[,id]}}; results go back as one user
//              content of {"functionResponse":{name,response:{...}[,id]}} parts (a result
//              whose content is not a JSON object goes as {"result": <content>}).
// A tool without parameters is declared with {"type":"object","properties":{}}; a description
// is sent only when there is one.
struct ToolSpec {
  std::string name;          // [a-zA-Z0-9_]+
  std::string description;
  nlohmann::json parameters; // a JSON Schema object ({"type":"object","properties":{...}})
};

struct ToolCall {
  // The provider's id; without one (Gemini): "call_<index>", the call's index among the
  // answer's calls. Ids of that form are never sent back to Gemini (it gets only its own).
  std::string id;
  std::string name;
  // The arguments as an object. When the model sent arguments that are not a JSON object
  // (OpenAI sends a string that may not parse), `arguments` is null and `arguments_error`
  // says what was wrong; the caller answers the call with an error result. Missing or empty
  // arguments are {}. A call that names no tool also gets an arguments_error. Rebuilding a
  // turn sends arguments that were not an object back as {}.
  nlohmann::json arguments;
  std::string arguments_error;
};

struct ToolResult {
  std::string call_id;  // ToolCall::id
  std::string name;     // ToolCall::name (Gemini matches results by name)
  std::string content;  // JSON text (an object) given to the model
  bool is_error = false;
};

// One message of the conversation sent to the model. Plain messages carry text; the
// exchange of one tool round is an assistant message with `tool_calls` (and, when the
// provider needs its own turn replayed exactly, `provider_turn`) followed by a user
// message with `tool_results`. Text in a message with tool_results is sent after the results.
struct ChatMessage {
  enum class Role { user, assistant };
  Role role = Role::user;
  std::string text;
  std::vector<ToolCall> tool_calls;      // assistant: the calls the model made in this turn
  std::vector<ToolResult> tool_results;  // user: the answers to the previous turn's calls
  // assistant with tool_calls: the provider's own turn as it came (LlmAnswer::provider_turn:
  // Anthropic's {"role":"assistant","content":[...]} (a bare content array is taken too),
  // Gemini's content object with any thoughtSignature, OpenAI's message object), sent back
  // verbatim in place of one rebuilt from text and tool_calls. "" rebuilds; so does a turn
  // that is not JSON of the API's shape (one stored from another provider). Ignored on
  // messages without tool_calls, which are always rebuilt from their text.
  std::string provider_turn;
  bool is_tool_exchange() const { return !tool_calls.empty() || !tool_results.empty(); }
};

struct LlmRequest {
  std::string system_prompt;          // empty: none
  std::vector<ChatMessage> messages;  // oldest first
  std::vector<ToolSpec> tools;        // empty: no "tools" key is sent
};

// Sent as the first user turn when a conversation starts with an assistant message (a
// follow-up the business sent first), since Anthropic and Gemini want the user to speak first.
inline constexpr std::string_view kConversationStartText = "(início da conversa)";

// The conversation as the providers want it: messages without text dropped, consecutive
// messages of one role merged into one (their texts joined by "\n"), and, when the first is
// the assistant's, a user turn of kConversationStartText before it. Used for every API
// (OpenAI does not need it, but one shape for all keeps the prompts comparable). Tool
// exchanges (is_tool_exchange()) are kept as they are: never dropped, merged or merged into.
std::vector<ChatMessage> alternating_turns(const std::vector<ChatMessage>& messages);

// The HTTP call for one answer: URL, headers (content-type application/json and the API's
// credential), JSON body. Throws std::invalid_argument when `endpoint.api` is not an LLM,
// when the request holds no message with text or tool exchange (a caller's bug: there is
// nothing to answer), or when a tool's name is not [a-zA-Z0-9_]+ or is declared twice.
HttpCall build_llm_call(const LlmEndpoint& endpoint, const LlmRequest& request);

struct LlmAnswer {
  std::string text;  // the reply, as the model wrote it ("" allowed when tool_calls is not empty)
  std::vector<ToolCall> tool_calls;  // the tools the model wants run before it answers
  // The assistant turn as it came, as JSON text (see ChatMessage): OpenAI's message object,
  // {"role":"assistant","content":<Anthropic's content array>}, Gemini's candidates[0].content.
  std::string provider_turn;
  // The provider's own word: stop/length, end_turn/max_tokens, STOP/MAX_TOKENS.
  std::string finish_reason;
  long input_tokens = 0;
  long output_tokens = 0;  // Gemini: candidates plus thinking tokens (both are billed)
};

// Reads a 2xx answer of `api`. An answer without text and without tool calls (no choices or
// candidates, a refusal, a safety block, only whitespace), with an error object, or that is
// not JSON is an error: a sentence saying what was wrong, quoting at most 200 characters of
// the body.
std::variant<LlmAnswer, std::string> parse_llm_answer(Api api, const std::string& body);

}  // namespace recado::jobs::providers
