#include "jobs/providers/llm.hpp"

#include <cctype>
#include <nlohmann/json.hpp>
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

json openai_body(const LlmEndpoint& e, const LlmRequest& r, const std::vector<ChatMessage>& turns) {
  json messages = json::array();
  if (!r.system_prompt.empty())
    messages.push_back({{"role", "system"}, {"content", r.system_prompt}});
  for (const ChatMessage& m : turns)
    messages.push_back({{"role", role_name(Api::openai, m.role)}, {"content", m.text}});
  json body = {{"model", e.model}, {"messages", std::move(messages)}};
  if (e.max_output_tokens > 0) body["max_completion_tokens"] = e.max_output_tokens;
  if (e.temperature >= 0) body["temperature"] = e.temperature;
  return body;
}

json anthropic_body(const LlmEndpoint& e, const LlmRequest& r,
                    const std::vector<ChatMessage>& turns) {
  json messages = json::array();
  for (const ChatMessage& m : turns)
    messages.push_back({{"role", role_name(Api::anthropic, m.role)}, {"content", m.text}});
  json body = {{"model", e.model},
               {"max_tokens", e.max_output_tokens > 0 ? e.max_output_tokens : 512}};
  if (!r.system_prompt.empty()) body["system"] = r.system_prompt;
  body["messages"] = std::move(messages);
  if (e.temperature >= 0) body["temperature"] = e.temperature;
  return body;
}

json gemini_body(const LlmEndpoint& e, const LlmRequest& r, const std::vector<ChatMessage>& turns) {
  json contents = json::array();
  for (const ChatMessage& m : turns)
    contents.push_back(
        {{"role", role_name(Api::gemini, m.role)}, {"parts", json::array({{{"text", m.text}}})}});
  json body = {{"contents", std::move(contents)}};
  if (!r.system_prompt.empty())
    body["systemInstruction"] = {{"parts", json::array({{{"text", r.system_prompt}}})}};
  json config = json::object();
  if (e.max_output_tokens > 0) config["maxOutputTokens"] = e.max_output_tokens;
  if (e.temperature >= 0) config["temperature"] = e.temperature;
  if (!config.empty()) body["generationConfig"] = std::move(config);
  return body;
}

// --- Reading answers ---------------------------------------------------------------------

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

std::variant<LlmAnswer, std::string> read_openai(const json& doc, const std::string& body) {
  const json& choices = member(doc, "choices");
  if (!choices.is_array() || choices.empty()) return failure(Api::openai, "has no choices", body);
  const json& choice = choices[0];
  const json& message = member(choice, "message");
  LlmAnswer a;
  a.text = text_of_parts(member(message, "content"));
  a.finish_reason = string_at(choice, "finish_reason");
  if (blank(a.text)) {
    if (std::string refusal = string_at(message, "refusal"); !refusal.empty())
      return failure(Api::openai, "is a refusal", refusal);
    return failure(Api::openai,
                   "has no text (finish_reason " +
                       (a.finish_reason.empty() ? std::string("missing") : a.finish_reason) + ")",
                   body);
  }
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
  a.finish_reason = string_at(doc, "stop_reason");
  if (blank(a.text))
    return failure(Api::anthropic,
                   "has no text (stop_reason " +
                       (a.finish_reason.empty() ? std::string("missing") : a.finish_reason) + ")",
                   body);
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
  LlmAnswer a;
  a.text = text_of_parts(member(member(candidate, "content"), "parts"));
  a.finish_reason = string_at(candidate, "finishReason");
  if (blank(a.text))
    return failure(Api::gemini,
                   "has no text (finishReason " +
                       (a.finish_reason.empty() ? std::string("missing") : a.finish_reason) + ")",
                   body);
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
    if (blank(m.text)) continue;
    if (!turns.empty() && turns.back().role == m.role) {
      turns.back().text += '\n';
      turns.back().text += m.text;
    } else {
      turns.push_back(m);
    }
  }
  if (!turns.empty() && turns.front().role == ChatMessage::Role::assistant)
    turns.insert(turns.begin(),
                 ChatMessage{ChatMessage::Role::user, std::string(kConversationStartText)});
  return turns;
}

HttpCall build_llm_call(const LlmEndpoint& endpoint, const LlmRequest& request) {
  if (!is_llm(endpoint.api))
    throw std::invalid_argument("build_llm_call: " + std::string(to_string(endpoint.api)) +
                                " is not an LLM API");
  const std::vector<ChatMessage> turns = alternating_turns(request.messages);
  if (turns.empty())
    throw std::invalid_argument("build_llm_call: the request holds no message with text");
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
