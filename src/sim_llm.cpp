#include "src/sim_llm.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>
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
// ({"type":"text","text":...}); other parts (images, tool results) add nothing.
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

// Role/content messages, as OpenAI and Anthropic take them.
void read_messages(const json& doc, LlmPrompt& prompt) {
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
    prompt.messages.emplace_back(
        role->get<std::string>(),
        content == m.end() ? std::string{} : content_text(*content, where + ".content"));
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

}  // namespace

std::variant<LlmPrompt, std::string> parse_openai_prompt(std::string_view body) {
  return guarded([&] {
    const json doc = parse_body(body);
    LlmPrompt p;
    p.model = required_string(doc, "model");
    read_messages(doc, p);
    p.max_tokens = optional_cap(doc, "max_completion_tokens");
    if (!p.max_tokens) p.max_tokens = optional_cap(doc, "max_tokens");
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
      if (!text.empty()) p.messages.emplace_back("system", std::move(text));
    }
    read_messages(doc, p);
    return p;
  });
}

std::variant<LlmPrompt, std::string> parse_gemini_prompt(std::string_view body,
                                                         std::string_view model) {
  return guarded([&] {
    const json doc = parse_body(body);
    LlmPrompt p;
    p.model = std::string(model);
    auto parts_text = [](const json& content, const std::string& where) {
      if (!content.is_object()) throw PromptError(where + " must be an object");
      auto parts = content.find("parts");
      if (parts == content.end() || !parts->is_array())
        throw PromptError(where + ".parts is required (an array)");
      return content_text(*parts, where + ".parts");
    };
    for (const char* key : {"systemInstruction", "system_instruction"})
      if (auto system = doc.find(key); system != doc.end()) {
        std::string text = parts_text(*system, key);
        if (!text.empty()) p.messages.emplace_back("system", std::move(text));
      }
    auto contents = doc.find("contents");
    if (contents == doc.end() || !contents->is_array() || contents->empty())
      throw PromptError("contents is required (a non-empty array)");
    for (size_t i = 0; i < contents->size(); ++i) {
      const json& c = (*contents)[i];
      const std::string where = "contents[" + std::to_string(i) + "]";
      std::string text = parts_text(c, where);
      std::string role = "user";
      if (auto r = c.find("role");
          r != c.end() && r->is_string() && !r->get_ref<const std::string&>().empty())
        role = r->get<std::string>();
      p.messages.emplace_back(std::move(role), std::move(text));
    }
    if (auto config = doc.find("generationConfig"); config != doc.end() && config->is_object())
      p.max_tokens = optional_cap(*config, "maxOutputTokens");
    return p;
  });
}

int64_t simulated_tokens(std::string_view text) {
  const int64_t n = static_cast<int64_t>((text.size() + 3) / 4);
  return n < 1 ? 1 : n;
}

LlmAnswer simulated_answer(const LlmPrompt& prompt) {
  uint64_t h = fnv1a(prompt.model);
  h = fnv1a("\n", h);
  std::string all_text;
  std::string_view last_user;
  for (const auto& [role, text] : prompt.messages) {
    h = fnv1a(role, h);
    h = fnv1a(":", h);
    h = fnv1a(text, h);
    h = fnv1a("\n", h);
    all_text += text;
    if (role == "user") last_user = text;
  }
  if (last_user.empty() && !prompt.messages.empty()) last_user = prompt.messages.back().second;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  LlmAnswer a;
  a.hash = std::string(hex, 8);
  const std::string q = quote(last_user, 80);
  switch (h % 3) {
    case 0:
      a.text = "Olá! Aqui é a secretária virtual. Você escreveu: \"" + q +
               "\". Posso ajudar com horários, agendamentos e informações. [sim " + a.hash + "]";
      break;
    case 1:
      a.text = "Oi! Obrigada pela mensagem: \"" + q +
               "\". Vou verificar a agenda e já te respondo. Prefere manhã ou tarde? [sim " +
               a.hash + "]";
      break;
    default:
      a.text =
          "Olá, tudo bem? Sobre \"" + q +
          "\": temos horários disponíveis esta semana. Quer que eu reserve um para você? [sim " +
          a.hash + "]";
  }
  a.prompt_tokens = simulated_tokens(all_text);
  a.completion_tokens = simulated_tokens(a.text);
  if (prompt.max_tokens && a.completion_tokens > *prompt.max_tokens) {
    a.text = cut_utf8(a.text, static_cast<size_t>(*prompt.max_tokens) * 4);
    a.completion_tokens = std::min(simulated_tokens(a.text), *prompt.max_tokens);
    a.cut = true;
  }
  return a;
}

std::string openai_completion_body(const LlmPrompt& prompt, const LlmAnswer& answer,
                                   std::string_view id, int64_t created) {
  return dump(
      {{"id", id},
       {"object", "chat.completion"},
       {"created", created},
       {"model", prompt.model},
       {"choices",
        {{{"index", 0},
          {"message", {{"role", "assistant"}, {"content", answer.text}, {"refusal", nullptr}}},
          {"logprobs", nullptr},
          {"finish_reason", answer.cut ? "length" : "stop"}}}},
       {"usage",
        {{"prompt_tokens", answer.prompt_tokens},
         {"completion_tokens", answer.completion_tokens},
         {"total_tokens", answer.prompt_tokens + answer.completion_tokens}}},
       {"system_fingerprint", "fp_recado_sim"}});
}

std::string anthropic_message_body(const LlmPrompt& prompt, const LlmAnswer& answer,
                                   std::string_view id) {
  return dump(
      {{"id", id},
       {"type", "message"},
       {"role", "assistant"},
       {"model", prompt.model},
       {"content", {{{"type", "text"}, {"text", answer.text}}}},
       {"stop_reason", answer.cut ? "max_tokens" : "end_turn"},
       {"stop_sequence", nullptr},
       {"usage",
        {{"input_tokens", answer.prompt_tokens}, {"output_tokens", answer.completion_tokens}}}});
}

std::string gemini_response_body(const LlmPrompt& prompt, const LlmAnswer& answer,
                                 std::string_view id) {
  return dump({{"candidates",
                {{{"content", {{"role", "model"}, {"parts", {{{"text", answer.text}}}}}},
                  {"finishReason", answer.cut ? "MAX_TOKENS" : "STOP"},
                  {"index", 0}}}},
               {"usageMetadata",
                {{"promptTokenCount", answer.prompt_tokens},
                 {"candidatesTokenCount", answer.completion_tokens},
                 {"totalTokenCount", answer.prompt_tokens + answer.completion_tokens}}},
               {"modelVersion", prompt.model},
               {"responseId", id}});
}

}  // namespace recado
