#include "src/sim_llm.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "src/json_limits.hpp"

namespace recado {

using json = nlohmann::json;

namespace {

struct PromptError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

json parse_body(std::string_view body) {
  if (json_depth(body) > kMaxJsonDepth)
    throw PromptError("the body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  json doc = json::parse(body.begin(), body.end(), nullptr, false);
  if (doc.is_discarded()) throw PromptError("the body is not valid JSON");
  if (!doc.is_object()) throw PromptError("the body must be a JSON object");
  return doc;
}

std::string required_string(const json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
    throw PromptError(std::string(key) + " is required (a non-empty string)");
  return it->get<std::string>();
}

// `doc[key]` as a non-empty string; `where` names it in the error.
std::string required_string_at(const json& doc, const char* key, const std::string& where) {
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
    throw PromptError(where + "." + key + " is required (a non-empty string)");
  return it->get<std::string>();
}

// `doc[key]` when it is a string, else "".
std::string optional_string(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

std::optional<int64_t> optional_cap(const json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer() && !it->is_number_unsigned())
    throw PromptError(std::string(key) + " must be a whole number");
  if (it->is_number_unsigned() && it->get<uint64_t>() > (uint64_t{1} << 40))
    return int64_t{1} << 40;
  const int64_t n = it->get<int64_t>();
  if (n < 1) throw PromptError(std::string(key) + " must be at least 1");
  return n;
}

// A message's text: a string, or the text parts of an array of content blocks
// ({"type":"text","text":...}); other parts (images, tool calls and results) add nothing.
std::string content_text(const json& content, const std::string& where) {
  if (content.is_null()) return {};
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array())
    throw PromptError(where + " must be a string or an array of content parts");
  std::string text;
  for (const json& part : content) {
    if (!part.is_object()) throw PromptError(where + " parts must be objects");
    auto t = part.find("text");
    if (t != part.end() && t->is_string()) {
      if (!text.empty()) text += '\n';
      text += t->get<std::string>();
    }
  }
  return text;
}

// A tool result's text as JSON: parsed when it is JSON, else the text itself as a string.
json result_json(const std::string& text) {
  json parsed = json::parse(text, nullptr, false);
  return parsed.is_discarded() ? json(text) : parsed;
}

// OpenAI's arguments: JSON text (parsed when it is JSON) or, leniently, an object.
json openai_arguments(const json& function, const std::string& where) {
  auto it = function.find("arguments");
  if (it == function.end() || it->is_null()) return json::object();
  if (it->is_object()) return *it;
  if (!it->is_string()) throw PromptError(where + ".arguments must be a string (JSON text)");
  const std::string& text = it->get_ref<const std::string&>();
  if (text.empty()) return json::object();
  return result_json(text);
}

void openai_tool_parts(const json& m, const std::string& role, const std::string& where,
                       LlmToolParts& parts) {
  if (auto calls = m.find("tool_calls"); calls != m.end() && !calls->is_null()) {
    if (!calls->is_array()) throw PromptError(where + ".tool_calls must be an array");
    for (size_t j = 0; j < calls->size(); ++j) {
      const json& c = (*calls)[j];
      const std::string at = where + ".tool_calls[" + std::to_string(j) + "]";
      if (!c.is_object()) throw PromptError(at + " must be an object");
      auto function = c.find("function");
      if (function == c.end() || !function->is_object())
        throw PromptError(at + ".function is required (an object)");
      LlmToolCall call;
      call.id = optional_string(c, "id");
      call.name = required_string_at(*function, "name", at + ".function");
      call.arguments = openai_arguments(*function, at + ".function");
      parts.calls.push_back(std::move(call));
    }
  }
  if (role == "tool" || role == "function") {
    LlmToolResult result;
    if (role == "tool") {
      auto id = m.find("tool_call_id");
      if (id == m.end() || !id->is_string())
        throw PromptError(where + ".tool_call_id is required (a string)");
      result.call_id = id->get<std::string>();
    } else {
      result.name = optional_string(m, "name");
    }
    auto content = m.find("content");
    result.content = content == m.end() ? json(nullptr)
                                        : result_json(content_text(*content, where + ".content"));
    parts.results.push_back(std::move(result));
  }
}

void anthropic_tool_parts(const json& m, const std::string& where, LlmToolParts& parts) {
  auto content = m.find("content");
  if (content == m.end() || !content->is_array()) return;
  for (size_t j = 0; j < content->size(); ++j) {
    const json& block = (*content)[j];
    const std::string at = where + ".content[" + std::to_string(j) + "]";
    const std::string type = block.is_object() ? optional_string(block, "type") : std::string{};
    if (type == "tool_use") {
      LlmToolCall call;
      call.id = optional_string(block, "id");
      call.name = required_string_at(block, "name", at);
      auto input = block.find("input");
      if (input != block.end() && !input->is_null()) {
        if (!input->is_object()) throw PromptError(at + ".input must be an object");
        call.arguments = *input;
      }
      parts.calls.push_back(std::move(call));
    } else if (type == "tool_result") {
      LlmToolResult result;
      result.call_id = required_string_at(block, "tool_use_id", at);
      auto inner = block.find("content");
      result.content =
          inner == block.end() ? json(nullptr) : result_json(content_text(*inner, at + ".content"));
      if (auto is_error = block.find("is_error"); is_error != block.end()) {
        if (!is_error->is_boolean()) throw PromptError(at + ".is_error must be true or false");
        result.is_error = is_error->get<bool>();
      }
      parts.results.push_back(std::move(result));
    }
  }
}

// Gemini's functionResponse.response, unwrapped when it only wraps the result.
json gemini_response_content(const json& response) {
  if (response.is_object() && response.size() == 1) {
    for (const char* key : {"content", "result", "output"}) {
      auto it = response.find(key);
      if (it == response.end()) continue;
      return it->is_string() ? result_json(it->get<std::string>()) : *it;
    }
  }
  return response;
}

void gemini_tool_parts(const json& parts_array, const std::string& where, LlmToolParts& parts) {
  for (size_t j = 0; j < parts_array.size(); ++j) {
    const json& part = parts_array[j];
    const std::string at = where + "[" + std::to_string(j) + "]";
    if (!part.is_object()) continue;  // content_text already refused it
    if (auto fc = part.find("functionCall"); fc != part.end()) {
      if (!fc->is_object()) throw PromptError(at + ".functionCall must be an object");
      LlmToolCall call;
      call.id = optional_string(*fc, "id");
      call.name = required_string_at(*fc, "name", at + ".functionCall");
      auto args = fc->find("args");
      if (args != fc->end() && !args->is_null()) {
        if (!args->is_object()) throw PromptError(at + ".functionCall.args must be an object");
        call.arguments = *args;
      }
      parts.calls.push_back(std::move(call));
    }
    if (auto fr = part.find("functionResponse"); fr != part.end()) {
      if (!fr->is_object()) throw PromptError(at + ".functionResponse must be an object");
      LlmToolResult result;
      result.call_id = optional_string(*fr, "id");
      result.name = required_string_at(*fr, "name", at + ".functionResponse");
      auto response = fr->find("response");
      result.content = response == fr->end() ? json(nullptr) : gemini_response_content(*response);
      parts.results.push_back(std::move(result));
    }
  }
}

enum class Api { openai, anthropic };

// Role/content messages, as OpenAI and Anthropic take them.
void read_messages(const json& doc, LlmPrompt& prompt, Api api) {
  auto it = doc.find("messages");
  if (it == doc.end() || !it->is_array() || it->empty())
    throw PromptError("messages is required (a non-empty array)");
  for (size_t i = 0; i < it->size(); ++i) {
    const json& m = (*it)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) throw PromptError(where + " must be an object");
    auto role = m.find("role");
    if (role == m.end() || !role->is_string())
      throw PromptError(where + ".role is required (a string)");
    auto content = m.find("content");
    std::string r = role->get<std::string>();
    std::string text =
        content == m.end() ? std::string{} : content_text(*content, where + ".content");
    LlmToolParts parts;
    if (api == Api::openai)
      openai_tool_parts(m, r, where, parts);
    else
      anthropic_tool_parts(m, where, parts);
    prompt.messages.emplace_back(std::move(r), std::move(text));
    prompt.tool_parts.push_back(std::move(parts));
  }
}

// The system prompt, first, with no tool parts.
void add_system(LlmPrompt& prompt, std::string text) {
  prompt.messages.emplace_back("system", std::move(text));
  prompt.tool_parts.emplace_back();
}

// Hands each of doc's tools (an object) to `name_of`, with where it is ("tools[2]").
template <typename NameOf>
void read_tools(const json& doc, NameOf name_of) {
  auto tools = doc.find("tools");
  if (tools == doc.end() || tools->is_null()) return;
  if (!tools->is_array()) throw PromptError("tools must be an array");
  for (size_t i = 0; i < tools->size(); ++i) {
    const json& tool = (*tools)[i];
    const std::string where = "tools[" + std::to_string(i) + "]";
    if (!tool.is_object()) throw PromptError(where + " must be an object");
    name_of(tool, where);
  }
}

template <typename Parse>
std::variant<LlmPrompt, std::string> guarded(Parse parse) {
  try {
    return parse();
  } catch (const PromptError& e) {
    return std::string(e.what());
  } catch (const json::exception& e) {
    return std::string("unexpected shape: ") + e.what();
  }
}

uint64_t fnv1a(std::string_view text, uint64_t h = 0xcbf29ce484222325ULL) {
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// The first `max_chars` characters of `text`, newlines as spaces, with "…" when cut.
std::string quote(std::string_view text, size_t max_chars) {
  std::string out;
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const bool starts_char = (c & 0xC0) != 0x80;
    if (starts_char && chars++ == max_chars) {
      out += "…";
      return out;
    }
    out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : static_cast<char>(c);
  }
  return out;
}

// At most `bytes` of `text`, not splitting a UTF-8 character.
std::string cut_utf8(const std::string& text, size_t bytes) {
  if (text.size() <= bytes) return text;
  size_t end = bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A result's content as counted text: a string as it is, anything else as JSON.
std::string counted(const json& content) {
  return content.is_string() ? content.get<std::string>() : dump(content);
}

std::string call_id(const LlmToolCall& call, std::string_view prefix, std::string_view id,
                    size_t index) {
  if (!call.id.empty()) return call.id;
  return std::string(prefix) + std::string(id) + "_" + std::to_string(index);
}

}  // namespace

const LlmToolParts& LlmPrompt::parts(size_t i) const {
  static const LlmToolParts kNone;
  return i < tool_parts.size() ? tool_parts[i] : kNone;
}

std::variant<LlmPrompt, std::string> parse_openai_prompt(std::string_view body) {
  return guarded([&] {
    const json doc = parse_body(body);
    LlmPrompt p;
    p.model = required_string(doc, "model");
    read_messages(doc, p, Api::openai);
    p.max_tokens = optional_cap(doc, "max_completion_tokens");
    if (!p.max_tokens) p.max_tokens = optional_cap(doc, "max_tokens");
    read_tools(doc, [&](const json& tool, const std::string& where) {
      auto function = tool.find("function");
      if (function != tool.end() && function->is_object()) {
        p.tools.push_back(required_string_at(*function, "name", where + ".function"));
      } else if (tool.contains("name")) {
        p.tools.push_back(required_string_at(tool, "name", where));
      } else {
        throw PromptError(where + ".function is required (an object with a name)");
      }
    });
    return p;
  });
}

std::variant<LlmPrompt, std::string> parse_anthropic_prompt(std::string_view body) {
  return guarded([&] {
    const json doc = parse_body(body);
    LlmPrompt p;
    p.model = required_string(doc, "model");
    p.max_tokens = optional_cap(doc, "max_tokens");
    if (!p.max_tokens) throw PromptError("max_tokens is required (a whole number)");
    if (auto system = doc.find("system"); system != doc.end()) {
      std::string text = content_text(*system, "system");
      if (!text.empty()) add_system(p, std::move(text));
    }
    read_messages(doc, p, Api::anthropic);
    read_tools(doc, [&](const json& tool, const std::string& where) {
      p.tools.push_back(required_string_at(tool, "name", where));
    });
    return p;
  });
}

std::variant<LlmPrompt, std::string> parse_gemini_prompt(std::string_view body,
                                                         std::string_view model) {
  return guarded([&] {
    const json doc = parse_body(body);
    LlmPrompt p;
    p.model = std::string(model);
    auto parts_of = [](const json& content, const std::string& where) -> const json& {
      if (!content.is_object()) throw PromptError(where + " must be an object");
      auto parts = content.find("parts");
      if (parts == content.end() || !parts->is_array())
        throw PromptError(where + ".parts is required (an array)");
      return *parts;
    };
    for (const char* key : {"systemInstruction", "system_instruction"})
      if (auto system = doc.find(key); system != doc.end()) {
        std::string text = content_text(parts_of(*system, key), std::string(key) + ".parts");
        if (!text.empty()) add_system(p, std::move(text));
      }
    auto contents = doc.find("contents");
    if (contents == doc.end() || !contents->is_array() || contents->empty())
      throw PromptError("contents is required (a non-empty array)");
    for (size_t i = 0; i < contents->size(); ++i) {
      const json& c = (*contents)[i];
      const std::string where = "contents[" + std::to_string(i) + "]";
      const json& parts = parts_of(c, where);
      std::string text = content_text(parts, where + ".parts");
      LlmToolParts tool_parts;
      gemini_tool_parts(parts, where + ".parts", tool_parts);
      std::string role = "user";
      if (auto r = c.find("role");
          r != c.end() && r->is_string() && !r->get_ref<const std::string&>().empty())
        role = r->get<std::string>();
      p.messages.emplace_back(std::move(role), std::move(text));
      p.tool_parts.push_back(std::move(tool_parts));
    }
    if (auto config = doc.find("generationConfig"); config != doc.end() && config->is_object())
      p.max_tokens = optional_cap(*config, "maxOutputTokens");
    read_tools(doc, [&](const json& tool, const std::string& where) {
      for (const char* key : {"functionDeclarations", "function_declarations"}) {
        auto declarations = tool.find(key);
        if (declarations == tool.end()) continue;
        if (!declarations->is_array()) throw PromptError(where + "." + key + " must be an array");
        for (size_t j = 0; j < declarations->size(); ++j) {
          const json& d = (*declarations)[j];
          const std::string at = where + "." + key + "[" + std::to_string(j) + "]";
          if (!d.is_object()) throw PromptError(at + " must be an object");
          p.tools.push_back(required_string_at(d, "name", at));
        }
      }
      // Other tools (googleSearch, codeExecution) offer no function to call.
    });
    return p;
  });
}

int64_t simulated_tokens(std::string_view text) {
  const int64_t n = static_cast<int64_t>((text.size() + 3) / 4);
  return n < 1 ? 1 : n;
}

int64_t prompt_tokens(const LlmPrompt& prompt) {
  std::string all_text;
  for (size_t i = 0; i < prompt.messages.size(); ++i) {
    const auto& [role, text] = prompt.messages[i];
    all_text += text;
    const LlmToolParts& parts = prompt.parts(i);
    for (const LlmToolCall& call : parts.calls) all_text += call.name + dump(call.arguments);
    if (role != "tool" && role != "function")  // OpenAI's: the text is the result
      for (const LlmToolResult& result : parts.results) all_text += counted(result.content);
  }
  return simulated_tokens(all_text);
}

LlmAnswer make_answer(const LlmPrompt& prompt, std::string text, std::vector<LlmToolCall> calls) {
  LlmAnswer a;
  a.text = std::move(text);
  a.tool_calls = std::move(calls);
  a.prompt_tokens = prompt_tokens(prompt);
  std::string completion = a.text;
  for (const LlmToolCall& call : a.tool_calls) completion += call.name + dump(call.arguments);
  a.completion_tokens = simulated_tokens(completion);
  if (a.tool_calls.empty() && prompt.max_tokens && a.completion_tokens > *prompt.max_tokens) {
    a.text = cut_utf8(a.text, static_cast<size_t>(*prompt.max_tokens) * 4);
    a.completion_tokens = std::min(simulated_tokens(a.text), *prompt.max_tokens);
    a.cut = true;
  }
  return a;
}

LlmAnswer simulated_answer(const LlmPrompt& prompt) {
  uint64_t h = fnv1a(prompt.model);
  h = fnv1a("\n", h);
  std::string_view last_user;
  for (const auto& [role, text] : prompt.messages) {
    h = fnv1a(role, h);
    h = fnv1a(":", h);
    h = fnv1a(text, h);
    h = fnv1a("\n", h);
    if (role == "user") last_user = text;
  }
  if (last_user.empty() && !prompt.messages.empty()) last_user = prompt.messages.back().second;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  const std::string hash(hex, 8);
  const std::string q = quote(last_user, 80);
  std::string text;
  switch (h % 3) {
    case 0:
      text = "Olá! Aqui é a secretária virtual. Você escreveu: \"" + q +
             "\". Posso ajudar com horários, agendamentos e informações. [sim " + hash + "]";
      break;
    case 1:
      text = "Oi! Obrigada pela mensagem: \"" + q +
             "\". Vou verificar a agenda e já te respondo. Prefere manhã ou tarde? [sim " + hash +
             "]";
      break;
    default:
      text = "Olá, tudo bem? Sobre \"" + q +
             "\": temos horários disponíveis esta semana. Quer que eu reserve um para você? [sim " +
             hash + "]";
  }
  LlmAnswer a = make_answer(prompt, std::move(text));
  a.hash = hash;
  return a;
}

std::string openai_completion_body(const LlmPrompt& prompt, const LlmAnswer& answer,
                                   std::string_view id, int64_t created) {
  json message = {{"role", "assistant"}, {"content", answer.text}, {"refusal", nullptr}};
  std::string finish = answer.cut ? "length" : "stop";
  if (!answer.tool_calls.empty()) {
    if (answer.text.empty()) message["content"] = nullptr;
    json calls = json::array();
    for (size_t i = 0; i < answer.tool_calls.size(); ++i) {
      const LlmToolCall& c = answer.tool_calls[i];
      calls.push_back({{"id", call_id(c, "call_", id, i)},
                       {"type", "function"},
                       {"function", {{"name", c.name}, {"arguments", dump(c.arguments)}}}});
    }
    message["tool_calls"] = std::move(calls);
    finish = "tool_calls";
  }
  return dump({{"id", id},
               {"object", "chat.completion"},
               {"created", created},
               {"model", prompt.model},
               {"choices",
                {{{"index", 0},
                  {"message", std::move(message)},
                  {"logprobs", nullptr},
                  {"finish_reason", finish}}}},
               {"usage",
                {{"prompt_tokens", answer.prompt_tokens},
                 {"completion_tokens", answer.completion_tokens},
                 {"total_tokens", answer.prompt_tokens + answer.completion_tokens}}},
               {"system_fingerprint", "fp_recado_sim"}});
}

std::string anthropic_message_body(const LlmPrompt& prompt, const LlmAnswer& answer,
                                   std::string_view id) {
  json content = json::array();
  if (!answer.text.empty() || answer.tool_calls.empty())
    content.push_back({{"type", "text"}, {"text", answer.text}});
  for (size_t i = 0; i < answer.tool_calls.size(); ++i) {
    const LlmToolCall& c = answer.tool_calls[i];
    content.push_back({{"type", "tool_use"},
                       {"id", call_id(c, "toolu_", id, i)},
                       {"name", c.name},
                       {"input", c.arguments}});
  }
  const char* stop = !answer.tool_calls.empty() ? "tool_use"
                     : answer.cut               ? "max_tokens"
                                                : "end_turn";
  return dump(
      {{"id", id},
       {"type", "message"},
       {"role", "assistant"},
       {"model", prompt.model},
       {"content", std::move(content)},
       {"stop_reason", stop},
       {"stop_sequence", nullptr},
       {"usage",
        {{"input_tokens", answer.prompt_tokens}, {"output_tokens", answer.completion_tokens}}}});
}

std::string gemini_response_body(const LlmPrompt& prompt, const LlmAnswer& answer,
                                 std::string_view id) {
  json parts = json::array();
  if (!answer.text.empty() || answer.tool_calls.empty()) parts.push_back({{"text", answer.text}});
  for (const LlmToolCall& c : answer.tool_calls)
    parts.push_back({{"functionCall", {{"name", c.name}, {"args", c.arguments}}}});
  return dump({{"candidates",
                {{{"content", {{"role", "model"}, {"parts", std::move(parts)}}},
                  {"finishReason", answer.cut ? "MAX_TOKENS" : "STOP"},
                  {"index", 0}}}},
               {"usageMetadata",
                {{"promptTokenCount", answer.prompt_tokens},
                 {"candidatesTokenCount", answer.completion_tokens},
                 {"totalTokenCount", answer.prompt_tokens + answer.completion_tokens}}},
               {"modelVersion", prompt.model},
               {"responseId", id}});
}

// --- The script -------------------------------------------------------------------------------

std::variant<std::vector<LlmScriptTurn>, std::string> parse_llm_script(const json& body) {
  if (!body.is_object()) return std::string("the body must be a JSON object");
  for (const auto& [key, value] : body.items())
    if (key != "turns") return "unknown field '" + key + "' (the body takes only turns)";
  auto turns = body.find("turns");
  if (turns == body.end() || !turns->is_array() || turns->empty())
    return std::string("turns is required (a non-empty array)");
  std::vector<LlmScriptTurn> out;
  for (size_t i = 0; i < turns->size(); ++i) {
    const json& t = (*turns)[i];
    const std::string where = "turns[" + std::to_string(i) + "]";
    if (!t.is_object())
      return where + " must be an object ({\"text\":...} or {\"tool_calls\":[...]})";
    LlmScriptTurn turn;
    for (const auto& [key, value] : t.items()) {
      if (key == "text") {
        if (!value.is_string()) return where + ".text must be a string";
        turn.text = value.get<std::string>();
      } else if (key == "tool_calls") {
        if (!value.is_array() || value.empty())
          return where + ".tool_calls must be a non-empty array";
        for (size_t j = 0; j < value.size(); ++j) {
          const json& c = value[j];
          const std::string at = where + ".tool_calls[" + std::to_string(j) + "]";
          if (!c.is_object()) return at + " must be an object ({\"name\",\"arguments\"})";
          LlmToolCall call;
          for (const auto& [ckey, cvalue] : c.items()) {
            if (ckey == "name") {
              if (!cvalue.is_string() || cvalue.get_ref<const std::string&>().empty())
                return at + ".name must be a non-empty string";
              call.name = cvalue.get<std::string>();
            } else if (ckey == "arguments") {
              if (!cvalue.is_object()) return at + ".arguments must be an object";
              call.arguments = cvalue;
            } else {
              return "unknown field '" + ckey + "' in " + at + " (name, arguments)";
            }
          }
          if (call.name.empty()) return at + ".name is required (a non-empty string)";
          turn.tool_calls.push_back(std::move(call));
        }
      } else {
        return "unknown field '" + key + "' in " + where + " (text, tool_calls)";
      }
    }
    if (!turn.text && turn.tool_calls.empty()) return where + " needs text or tool_calls";
    out.push_back(std::move(turn));
  }
  return out;
}

json to_json(const LlmScriptTurn& turn) {
  json j = json::object();
  if (turn.text) j["text"] = *turn.text;
  if (!turn.tool_calls.empty()) {
    json calls = json::array();
    for (const LlmToolCall& c : turn.tool_calls)
      calls.push_back({{"name", c.name}, {"arguments", c.arguments}});
    j["tool_calls"] = std::move(calls);
  }
  return j;
}

bool LlmScript::append(std::vector<LlmScriptTurn> turns) {
  if (turns_.size() + turns.size() > kMaxTurns) return false;
  for (LlmScriptTurn& t : turns) turns_.push_back(std::move(t));
  return true;
}

std::optional<LlmScriptTurn> LlmScript::take() {
  if (turns_.empty()) return std::nullopt;
  LlmScriptTurn t = std::move(turns_.front());
  turns_.pop_front();
  return t;
}

size_t LlmScript::clear() {
  const size_t n = turns_.size();
  turns_.clear();
  return n;
}

json LlmScript::describe() const {
  json out = json::array();
  for (const LlmScriptTurn& t : turns_) out.push_back(to_json(t));
  return out;
}

}  // namespace recado
