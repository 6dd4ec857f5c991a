#include "jobs/providers/llm.hpp"

#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>

#include "jobs/providers/wire.hpp"
#include "src/json_limits.hpp"

namespace recado::jobs::providers {

using json = nlohmann::json;
using wire::blank;
using wire::dump;
using wire::path_segment;
using wire::quoted;
using wire::without_trailing_slashes;

namespace {

// Whether the base URL's last path segment is an API version ("v1", "v1beta") or "openai"
// (Gemini's ".../v1beta/openai"): then it already says where chat/completions lives.
bool ends_in_version(std::string_view base) {
  const std::size_t scheme = base.find("://");
  const std::size_t path_start = base.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
  if (path_start == std::string_view::npos) return false;
  const std::string_view last = base.substr(base.rfind('/') + 1);
  if (last == "openai") return true;
  return last.size() >= 2 && last[0] == 'v' && std::isdigit(static_cast<unsigned char>(last[1]));
}

const char* role_name(Api api, ChatMessage::Role role) {
  if (role == ChatMessage::Role::user) return "user";
  return api == Api::gemini ? "model" : "assistant";
}

std::string openai_url(std::string_view base) {
  return std::string(base) + (ends_in_version(base) ? "/chat/completions" : "/v1/chat/completions");
}

std::string gemini_url(std::string_view base, std::string_view model) {
  if (model.starts_with("models/")) model.remove_prefix(7);
  return std::string(base) + "/v1beta/models/" + path_segment(model) + ":generateContent";
}

// --- Tools in requests ---------------------------------------------------------------------

bool valid_tool_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

// Tool names are the caller's constants: a bad or repeated one is a bug, refused before any
// provider sees it (each would answer 400, permanently).
void check_tools(const std::vector<ToolSpec>& tools) {
  std::set<std::string_view> seen;
  for (const ToolSpec& tool : tools) {
    if (!valid_tool_name(tool.name))
      throw std::invalid_argument("build_llm_call: tool name \"" + wire::quoted(tool.name) +
                                  "\" is not [a-zA-Z0-9_]+");
    if (!seen.insert(tool.name).second)
      throw std::invalid_argument("build_llm_call: tool \"" + tool.name + "\" is declared twice");
  }
}

// A tool's schema; a tool without one takes no arguments (Anthropic requires a schema).
json parameters_of(const ToolSpec& tool) {
  if (!tool.parameters.is_null()) return tool.parameters;
  return {{"type", "object"}, {"properties", json::object()}};
}

// One declaration: {name, description (when there is one), <schema_key>: schema}.
json declaration(const ToolSpec& tool, const char* schema_key) {
  json out = {{"name", tool.name}};
  if (!tool.description.empty()) out["description"] = tool.description;
  out[schema_key] = parameters_of(tool);
  return out;
}

json tools_json(Api api, const std::vector<ToolSpec>& tools) {
  json list = json::array();
  for (const ToolSpec& tool : tools) {
    if (api == Api::openai)
      list.push_back({{"type", "function"}, {"function", declaration(tool, "parameters")}});
    else if (api == Api::anthropic)
      list.push_back(declaration(tool, "input_schema"));
    else
      list.push_back(declaration(tool, "parameters"));
  }
  if (api == Api::gemini) return json::array({{{"functionDeclarations", std::move(list)}}});
  return list;
}

// --- Tool exchanges in the history -------------------------------------------------------

bool carries_calls(const ChatMessage& m) {
  return m.role == ChatMessage::Role::assistant && !m.tool_calls.empty();
}

// A call's arguments as sent back: ones that were not an object (arguments_error) go back as {}.
json arguments_of(const ToolCall& call) {
  return call.arguments.is_object() ? call.arguments : json::object();
}

// Whether `id` came from the provider rather than from read_gemini ("call_<n>"): Gemini gets
// back only ids it made.
bool provider_made(std::string_view id) {
  constexpr std::string_view kMadeUp = "call_";
  if (!id.starts_with(kMadeUp) || id.size() == kMadeUp.size()) return !id.empty();
  for (char c : id.substr(kMadeUp.size()))
    if (!std::isdigit(static_cast<unsigned char>(c))) return true;
  return false;
}

// The provider's own turn of `m`, parsed, when it has the shape `api` takes back (a turn stored
// from another API, after a tenant changed providers, is rebuilt instead):
//   OpenAI     a message object of role "assistant" whose content is a string or null;
//   Anthropic  {"role":"assistant","content":[blocks]}, or the bare array of blocks;
//   Gemini     a content object with "parts" (its role set to "model").
std::optional<json> replayed_turn(Api api, const ChatMessage& m) {
  if (m.provider_turn.empty()) return std::nullopt;
  json turn = json::parse(m.provider_turn, nullptr, false);
  if (turn.is_discarded()) return std::nullopt;
  switch (api) {
    case Api::openai: {
      if (!turn.is_object() || turn.value("role", json()) != "assistant") return std::nullopt;
      const auto content = turn.find("content");
      if (content != turn.end() && !content->is_string() && !content->is_null())
        return std::nullopt;
      return turn;
    }
    case Api::anthropic: {
      if (turn.is_array()) return json{{"role", "assistant"}, {"content", std::move(turn)}};
      if (!turn.is_object()) return std::nullopt;
      auto content = turn.find("content");
      if (content == turn.end() || !content->is_array()) return std::nullopt;
      return json{{"role", "assistant"}, {"content", std::move(*content)}};
    }
    default: {  // Api::gemini
      if (!turn.is_object()) return std::nullopt;
      auto parts = turn.find("parts");
      if (parts == turn.end() || !parts->is_array()) return std::nullopt;
      turn["role"] = "model";
      return turn;
    }
  }
}

// A tool result as Gemini's functionResponse.response: the content when it is a JSON object,
// else {"result": the content} (parsed when it is other JSON, as text when it is not JSON).
json gemini_response(const std::string& content) {
  json parsed = json::parse(content, nullptr, false);
  if (parsed.is_object()) return parsed;
  if (parsed.is_discarded()) return {{"result", content}};
  return {{"result", std::move(parsed)}};
}

// The messages of one turn. A message with tool_results that also has text gets the text after
// the results (OpenAI: a user message after the tool messages; the others: a text block/part
// after the results), as the providers require the results to come first.
void add_openai_turn(json& messages, const ChatMessage& m) {
  if (carries_calls(m)) {
    if (auto turn = replayed_turn(Api::openai, m)) {
      messages.push_back(std::move(*turn));
      return;
    }
    json calls = json::array();
    for (const ToolCall& c : m.tool_calls)
      calls.push_back({{"id", c.id},
                       {"type", "function"},
                       {"function", {{"name", c.name}, {"arguments", dump(arguments_of(c))}}}});
    messages.push_back({{"role", "assistant"},
                        {"content", blank(m.text) ? json(nullptr) : json(m.text)},
                        {"tool_calls", std::move(calls)}});
    return;
  }
  for (const ToolResult& r : m.tool_results)
    messages.push_back({{"role", "tool"}, {"tool_call_id", r.call_id}, {"content", r.content}});
  if (m.tool_results.empty() || !blank(m.text))
    messages.push_back({{"role", role_name(Api::openai, m.role)}, {"content", m.text}});
}

json anthropic_turn(const ChatMessage& m) {
  if (carries_calls(m)) {
    if (auto turn = replayed_turn(Api::anthropic, m)) return std::move(*turn);
    json content = json::array();
    if (!blank(m.text)) content.push_back({{"type", "text"}, {"text", m.text}});
    for (const ToolCall& c : m.tool_calls)
      content.push_back(
          {{"type", "tool_use"}, {"id", c.id}, {"name", c.name}, {"input", arguments_of(c)}});
    return {{"role", "assistant"}, {"content", std::move(content)}};
  }
  if (m.tool_results.empty())
    return {{"role", role_name(Api::anthropic, m.role)}, {"content", m.text}};
  json content = json::array();
  for (const ToolResult& r : m.tool_results) {
    json block = {{"type", "tool_result"}, {"tool_use_id", r.call_id}, {"content", r.content}};
    if (r.is_error) block["is_error"] = true;
    content.push_back(std::move(block));
  }
  if (!blank(m.text)) content.push_back({{"type", "text"}, {"text", m.text}});
  return {{"role", "user"}, {"content", std::move(content)}};
}

json gemini_turn(const ChatMessage& m) {
  json parts = json::array();
  if (carries_calls(m)) {
    if (auto turn = replayed_turn(Api::gemini, m)) return std::move(*turn);
    if (!blank(m.text)) parts.push_back({{"text", m.text}});
    for (const ToolCall& c : m.tool_calls) {
      json call = {{"name", c.name}, {"args", arguments_of(c)}};
      if (provider_made(c.id)) call["id"] = c.id;
      parts.push_back({{"functionCall", std::move(call)}});
    }
    return {{"role", "model"}, {"parts", std::move(parts)}};
  }
  if (m.tool_results.empty())
    return {{"role", role_name(Api::gemini, m.role)}, {"parts", json::array({{{"text", m.text}}})}};
  for (const ToolResult& r : m.tool_results) {
    json response = {{"name", r.name}, {"response", gemini_response(r.content)}};
    if (provider_made(r.call_id)) response["id"] = r.call_id;
    parts.push_back({{"functionResponse", std::move(response)}});
  }
  if (!blank(m.text)) parts.push_back({{"text", m.text}});
  return {{"role", "user"}, {"parts", std::move(parts)}};
}

// --- Request bodies ----------------------------------------------------------------------

json openai_body(const LlmEndpoint& e, const LlmRequest& r, const std::vector<ChatMessage>& turns) {
  json messages = json::array();
  if (!r.system_prompt.empty())
    messages.push_back({{"role", "system"}, {"content", r.system_prompt}});
  for (const ChatMessage& m : turns) add_openai_turn(messages, m);
  json body = {{"model", e.model}, {"messages", std::move(messages)}};
  if (e.max_output_tokens > 0) body["max_completion_tokens"] = e.max_output_tokens;
  if (e.temperature >= 0) body["temperature"] = e.temperature;
  if (!r.tools.empty()) body["tools"] = tools_json(Api::openai, r.tools);
  return body;
}

json anthropic_body(const LlmEndpoint& e, const LlmRequest& r,
                    const std::vector<ChatMessage>& turns) {
  json messages = json::array();
  for (const ChatMessage& m : turns) messages.push_back(anthropic_turn(m));
  json body = {{"model", e.model},
               {"max_tokens", e.max_output_tokens > 0 ? e.max_output_tokens : 512}};
  if (!r.system_prompt.empty()) body["system"] = r.system_prompt;
  body["messages"] = std::move(messages);
  if (e.temperature >= 0) body["temperature"] = e.temperature;
  if (!r.tools.empty()) body["tools"] = tools_json(Api::anthropic, r.tools);
  return body;
}

json gemini_body(const LlmEndpoint& e, const LlmRequest& r, const std::vector<ChatMessage>& turns) {
  json contents = json::array();
  for (const ChatMessage& m : turns) contents.push_back(gemini_turn(m));
  json body = {{"contents", std::move(contents)}};
  if (!r.system_prompt.empty())
    body["systemInstruction"] = {{"parts", json::array({{{"text", r.system_prompt}}})}};
  json config = json::object();
  if (e.max_output_tokens > 0) config["maxOutputTokens"] = e.max_output_tokens;
  if (e.temperature >= 0) config["temperature"] = e.temperature;
  if (!config.empty()) body["generationConfig"] = std::move(config);
  if (!r.tools.empty()) body["tools"] = tools_json(Api::gemini, r.tools);
  return body;
}

// --- Reading bodies ------------------------------------------------------------------------

std::string string_at(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

long count_at(const json& obj, const char* key) {
  if (!obj.is_object()) return 0;
  auto it = obj.find(key);
  if (it == obj.end() || !(it->is_number_integer() || it->is_number_unsigned())) return 0;
  return it->get<long>();
}

const json& member(const json& obj, const char* key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

// The text of a content value: a string, or the "text" of each part of an array of parts
// (skipping parts flagged as thoughts), joined without separators as the providers stream them.
std::string text_of_parts(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string text;
  if (!content.is_array()) return text;
  for (const json& part : content) {
    if (!part.is_object()) continue;
    if (auto type = part.find("type"); type != part.end() && *type != "text") continue;
    if (auto thought = part.find("thought"); thought != part.end() && *thought == true) continue;
    text += string_at(part, "text");
  }
  return text;
}

// "<api> answer: <what>"; `detail` (from the body) is quoted, at most 200 characters.
std::string failure(Api api, std::string_view what, std::string_view detail = {}) {
  std::string out = std::string(to_string(api)) + " answer " + std::string(what);
  if (!detail.empty()) out += ": " + quoted(detail);
  return out;
}

// An error object in a 2xx body (proxies and compatible servers do this): its message.
std::optional<std::string> error_in(const json& doc) {
  const json& error = member(doc, "error");
  if (error.is_null()) return std::nullopt;
  if (error.is_string()) return error.get<std::string>();
  std::string message = string_at(error, "message");
  return message.empty() ? dump(error) : message;
}

// --- Reading tool calls --------------------------------------------------------------------

// Arguments given as a JSON value (Anthropic's input, Gemini's args, a compatible server's
// object): an object is taken, a missing one is none ({}), anything else is an error.
void take_arguments(const json& value, const char* what, ToolCall& call) {
  if (value.is_object()) {
    call.arguments = value;
  } else if (value.is_null()) {
    call.arguments = json::object();
  } else {
    call.arguments = nullptr;
    call.arguments_error = std::string(what) + " is " + value.type_name() + ", not a JSON object";
  }
}

// OpenAI's function.arguments: a string of JSON that should hold an object ("" for none).
void take_argument_text(const json& value, ToolCall& call) {
  if (!value.is_string()) return take_arguments(value, "the arguments", call);
  const std::string& text = value.get_ref<const std::string&>();
  if (blank(text)) {
    call.arguments = json::object();
    return;
  }
  call.arguments = nullptr;
  if (json_depth(text) > kMaxJsonDepth) {
    call.arguments_error =
        "the arguments nest deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    return;
  }
  json parsed = json::parse(text, nullptr, false);
  if (parsed.is_discarded()) {
    call.arguments_error = "the arguments are not valid JSON: " + wire::quoted(text);
  } else if (!parsed.is_object()) {
    call.arguments_error = std::string("the arguments are ") + parsed.type_name() +
                           ", not a JSON object: " + wire::quoted(text);
  } else {
    call.arguments = std::move(parsed);
  }
}

// A call the model made without naming a tool cannot be run: say so as its error.
void check_named(ToolCall& call) {
  if (!call.name.empty()) return;
  call.arguments = nullptr;
  call.arguments_error = "the call names no tool";
}

// A call without an id (Gemini, some compatible servers) gets "call_<n>", n its index in the
// answer.
void ensure_id(ToolCall& call, std::size_t index) {
  if (call.id.empty()) call.id = "call_" + std::to_string(index);
}

// choices[0].message.tool_calls[{id, type:"function", function:{name, arguments}}].
std::vector<ToolCall> openai_tool_calls(const json& message) {
  std::vector<ToolCall> calls;
  const json& list = member(message, "tool_calls");
  if (!list.is_array()) return calls;
  for (const json& item : list) {
    if (!item.is_object()) continue;
    ToolCall call;
    call.id = string_at(item, "id");
    const json& function = member(item, "function");
    call.name = string_at(function, "name");
    if (function.is_object()) {
      take_argument_text(member(function, "arguments"), call);
    } else {
      const std::string type = string_at(item, "type");
      call.arguments_error =
          "the call is not a function call (type " + (type.empty() ? "missing" : type) + ")";
    }
    check_named(call);
    ensure_id(call, calls.size());
    calls.push_back(std::move(call));
  }
  return calls;
}

// content[{type:"tool_use", id, name, input}].
std::vector<ToolCall> anthropic_tool_calls(const json& content) {
  std::vector<ToolCall> calls;
  for (const json& block : content) {
    if (string_at(block, "type") != "tool_use") continue;
    ToolCall call;
    call.id = string_at(block, "id");
    call.name = string_at(block, "name");
    take_arguments(member(block, "input"), "the input", call);
    check_named(call);
    ensure_id(call, calls.size());
    calls.push_back(std::move(call));
  }
  return calls;
}

// parts[{functionCall:{name, args[, id]}[, thoughtSignature]}].
std::vector<ToolCall> gemini_tool_calls(const json& parts) {
  std::vector<ToolCall> calls;
  if (!parts.is_array()) return calls;
  for (const json& part : parts) {
    const json& function_call = member(part, "functionCall");
    if (!function_call.is_object()) continue;
    ToolCall call;
    call.id = string_at(function_call, "id");
    call.name = string_at(function_call, "name");
    take_arguments(member(function_call, "args"), "args", call);
    check_named(call);
    ensure_id(call, calls.size());
    calls.push_back(std::move(call));
  }
  return calls;
}

// --- Reading answers -----------------------------------------------------------------------

std::variant<LlmAnswer, std::string> read_openai(const json& doc, const std::string& body) {
  const json& choices = member(doc, "choices");
  if (!choices.is_array() || choices.empty()) return failure(Api::openai, "has no choices", body);
  const json& choice = choices[0];
  const json& message = member(choice, "message");
  LlmAnswer a;
  a.text = text_of_parts(member(message, "content"));
  a.tool_calls = openai_tool_calls(message);
  a.finish_reason = string_at(choice, "finish_reason");
  if (blank(a.text) && a.tool_calls.empty()) {
    if (std::string refusal = string_at(message, "refusal"); !refusal.empty())
      return failure(Api::openai, "is a refusal", refusal);
    return failure(Api::openai,
                   "has no text (finish_reason " +
                       (a.finish_reason.empty() ? std::string("missing") : a.finish_reason) + ")",
                   body);
  }
  if (message.is_object()) a.provider_turn = dump(message);
  const json& usage = member(doc, "usage");
  a.input_tokens = count_at(usage, "prompt_tokens");
  a.output_tokens = count_at(usage, "completion_tokens");
  return a;
}

std::variant<LlmAnswer, std::string> read_anthropic(const json& doc, const std::string& body) {
  const json& content = member(doc, "content");
  if (!content.is_array()) return failure(Api::anthropic, "has no content", body);
  LlmAnswer a;
  a.text = text_of_parts(content);  // text blocks only: thinking and tool blocks are skipped
  a.tool_calls = anthropic_tool_calls(content);
  a.finish_reason = string_at(doc, "stop_reason");
  if (blank(a.text) && a.tool_calls.empty())
    return failure(Api::anthropic,
                   "has no text (stop_reason " +
                       (a.finish_reason.empty() ? std::string("missing") : a.finish_reason) + ")",
                   body);
  // Thinking blocks (with their signatures) stay in the turn: Anthropic wants them back.
  a.provider_turn = dump({{"role", "assistant"}, {"content", content}});
  const json& usage = member(doc, "usage");
  a.input_tokens = count_at(usage, "input_tokens");
  a.output_tokens = count_at(usage, "output_tokens");
  return a;
}

std::variant<LlmAnswer, std::string> read_gemini(const json& doc, const std::string& body) {
  const json& candidates = member(doc, "candidates");
  if (!candidates.is_array() || candidates.empty()) {
    if (std::string blocked = string_at(member(doc, "promptFeedback"), "blockReason");
        !blocked.empty())
      return failure(Api::gemini,
                     "has no candidates: the prompt was blocked (blockReason " + blocked + ")");
    return failure(Api::gemini, "has no candidates", body);
  }
  const json& candidate = candidates[0];
  const json& content = member(candidate, "content");
  LlmAnswer a;
  a.text = text_of_parts(member(content, "parts"));
  a.tool_calls = gemini_tool_calls(member(content, "parts"));
  a.finish_reason = string_at(candidate, "finishReason");
  if (blank(a.text) && a.tool_calls.empty())
    return failure(Api::gemini,
                   "has no text (finishReason " +
                       (a.finish_reason.empty() ? std::string("missing") : a.finish_reason) + ")",
                   body);
  // Parts keep their thoughtSignature: Gemini 2.5 wants it back with the function call.
  if (content.is_object()) a.provider_turn = dump(content);
  const json& usage = member(doc, "usageMetadata");
  a.input_tokens = count_at(usage, "promptTokenCount");
  a.output_tokens = count_at(usage, "candidatesTokenCount") + count_at(usage, "thoughtsTokenCount");
  return a;
}

bool is_llm(Api api) {
  return api == Api::openai || api == Api::anthropic || api == Api::gemini;
}

}  // namespace

std::vector<ChatMessage> alternating_turns(const std::vector<ChatMessage>& messages) {
  std::vector<ChatMessage> turns;
  for (const ChatMessage& m : messages) {
    if (m.is_tool_exchange()) {
      turns.push_back(m);
      continue;
    }
    if (blank(m.text)) continue;
    if (!turns.empty() && turns.back().role == m.role && !turns.back().is_tool_exchange()) {
      turns.back().text += '\n';
      turns.back().text += m.text;
    } else {
      turns.push_back(m);
    }
  }
  if (!turns.empty() && turns.front().role == ChatMessage::Role::assistant) {
    ChatMessage start;
    start.role = ChatMessage::Role::user;
    start.text = std::string(kConversationStartText);
    turns.insert(turns.begin(), std::move(start));
  }
  return turns;
}

HttpCall build_llm_call(const LlmEndpoint& endpoint, const LlmRequest& request) {
  if (!is_llm(endpoint.api))
    throw std::invalid_argument("build_llm_call: " + std::string(to_string(endpoint.api)) +
                                " is not an LLM API");
  const std::vector<ChatMessage> turns = alternating_turns(request.messages);
  if (turns.empty())
    throw std::invalid_argument("build_llm_call: the request holds no message with text");
  check_tools(request.tools);
  const std::string_view base = without_trailing_slashes(endpoint.base_url);
  HttpCall call;
  call.method = "POST";
  call.headers.emplace_back("content-type", "application/json");
  const bool keyed = !endpoint.api_key.empty();
  switch (endpoint.api) {
    case Api::openai:
      call.url = openai_url(base);
      if (keyed) call.headers.emplace_back("authorization", "Bearer " + endpoint.api_key);
      call.body = dump(openai_body(endpoint, request, turns));
      break;
    case Api::anthropic:
      call.url = std::string(base) + "/v1/messages";
      if (keyed) call.headers.emplace_back("x-api-key", endpoint.api_key);
      call.headers.emplace_back("anthropic-version", "2023-06-01");
      call.body = dump(anthropic_body(endpoint, request, turns));
      break;
    default:  // Api::gemini
      call.url = gemini_url(base, endpoint.model);
      if (keyed) call.headers.emplace_back("x-goog-api-key", endpoint.api_key);
      call.body = dump(gemini_body(endpoint, request, turns));
      break;
  }
  return call;
}

std::variant<LlmAnswer, std::string> parse_llm_answer(Api api, const std::string& body) {
  if (!is_llm(api)) return std::string(to_string(api)) + " is not an LLM API";
  if (blank(body)) return failure(api, "is empty");
  if (json_depth(body) > kMaxJsonDepth)
    return failure(api, "nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) return failure(api, "is not valid JSON", body);
  if (!doc.is_object()) return failure(api, "is not a JSON object", body);
  if (auto error = error_in(doc)) return failure(api, "is an error", *error);
  switch (api) {
    case Api::openai:
      return read_openai(doc, body);
    case Api::anthropic:
      return read_anthropic(doc, body);
    default:
      return read_gemini(doc, body);
  }
}

}  // namespace recado::jobs::providers
