#include "src/sim_brain.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "src/time_format.hpp"

namespace recado {

using json = nlohmann::json;
namespace chr = std::chrono;

namespace {

constexpr size_t kMaxOffered = 6;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_letter(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || u >= 0x80;
}

// `n` digits of `s` from `at`, or -1.
int number_at(std::string_view s, size_t at, size_t n) {
  if (at + n > s.size()) return -1;
  int v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (!is_digit(s[i])) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

// ASCII and the Latin-1 capitals (À..Þ, two bytes in UTF-8) folded to lower case.
std::string folded(std::string_view text) {
  std::string out(text);
  for (size_t i = 0; i < out.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(out[i]);
    if (c >= 'A' && c <= 'Z') {
      out[i] = static_cast<char>(c + 32);
    } else if (c == 0xC3 && i + 1 < out.size()) {
      const unsigned char next = static_cast<unsigned char>(out[i + 1]);
      if (next >= 0x80 && next <= 0x9E && next != 0x97) out[i + 1] = static_cast<char>(next + 32);
      ++i;
    }
  }
  return out;
}

bool has(std::string_view text, std::string_view word) {
  return text.find(word) != std::string_view::npos;
}

bool is_assistant(const std::string& role) {
  return role == "assistant" || role == "model";
}

bool offers(const LlmPrompt& p, std::string_view tool) {
  return std::find(p.tools.begin(), p.tools.end(), tool) != p.tools.end();
}

// --- (a) tool results -----------------------------------------------------------------------

std::string slot_label(const json& slot) {
  if (!slot.is_object()) return {};
  for (const char* key : {"label", "start"})
    if (auto it = slot.find(key); it != slot.end() && it->is_string())
      return it->get<std::string>();
  return {};
}

// "<label>; <label>; ..." of at most kMaxOffered slots ("" when there are none).
std::string labels_of(const json& result) {
  auto slots = result.is_object() ? result.find("slots") : result.end();
  if (!result.is_object() || slots == result.end() || !slots->is_array()) return {};
  std::string out;
  size_t n = 0;
  for (const json& slot : *slots) {
    const std::string label = slot_label(slot);
    if (label.empty()) continue;
    if (n++ == kMaxOffered) break;
    if (!out.empty()) out += "; ";
    out += label;
  }
  return out;
}

bool is_true(const json& result, const char* key) {
  auto it = result.find(key);
  return it != result.end() && it->is_boolean() && it->get<bool>();
}

// " para <label>" of a success result, when it says when.
std::string when_of(const json& result) {
  for (const char* key : {"label", "start"})
    if (auto it = result.find(key); it != result.end() && it->is_string() && !it->empty())
      return " para " + it->get<std::string>();
  return {};
}

bool is_error_result(const LlmToolResult& r) {
  return r.is_error || (r.content.is_object() && r.content.contains("error"));
}

std::string about_result(const LlmToolResult& r) {
  const json& c = r.content;
  if (is_error_result(r)) {
    std::string code, message;
    if (c.is_object()) {
      if (auto e = c.find("error"); e != c.end() && e->is_string()) code = e->get<std::string>();
      if (auto m = c.find("message"); m != c.end() && m->is_string())
        message = m->get<std::string>();
    } else if (c.is_string()) {
      message = c.get<std::string>();
    }
    if (code == "slot_taken") {
      const std::string others = labels_of(c);
      if (others.empty())
        return "Que pena, esse horário acabou de ser ocupado. Quer tentar outro dia?";
      return "Que pena, esse horário acabou de ser ocupado. Tenho estes outros: " + others +
             ". Qual prefere?";
    }
    if (message.empty()) message = code.empty() ? "erro desconhecido" : code;
    return "Desculpe, não consegui concluir agora: " + message;
  }
  if (c.is_object()) {
    if (is_true(c, "booked")) return "Pronto! Sua consulta está marcada" + when_of(c) + ".";
    if (is_true(c, "rescheduled")) return "Pronto! Sua consulta foi remarcada" + when_of(c) + ".";
    if (is_true(c, "cancelled")) return "Pronto! Sua consulta foi cancelada.";
    if (auto slots = c.find("slots"); slots != c.end() && slots->is_array()) {
      const std::string offered = labels_of(c);
      if (offered.empty())
        return "Não encontrei horários livres nesse período. Quer tentar outro dia?";
      return "Tenho estes horários livres: " + offered + ". Qual prefere?";
    }
  }
  return "Pronto!";
}

// The results of the trailing run of messages that carry tool results (OpenAI sends one
// "tool" message per call).
std::vector<const LlmToolResult*> trailing_results(const LlmPrompt& p) {
  std::vector<const LlmToolResult*> out;
  for (size_t i = p.messages.size(); i-- > 0;) {
    if (!p.is_tool_result(i)) break;
    const auto& results = p.parts(i).results;
    for (auto it = results.rbegin(); it != results.rend(); ++it) out.insert(out.begin(), &*it);
  }
  return out;
}

// --- (b) the user's words -------------------------------------------------------------------

struct NamedTime {
  int hour = 0;
  std::optional<int> minute;
};

// The first time the text names: "9h", "9h30", "9:30", "09:00", "às 10", "10 horas".
std::optional<NamedTime> named_time(std::string_view t) {
  for (size_t i = 0; i < t.size(); ++i) {
    if (!is_digit(t[i]) || (i > 0 && (is_digit(t[i - 1]) || t[i - 1] == '/' || t[i - 1] == ':')))
      continue;
    size_t end = i + 1;
    if (end < t.size() && is_digit(t[end])) ++end;
    if (end < t.size() && is_digit(t[end])) continue;  // three digits or more: not an hour
    const int hour = number_at(t, i, end - i);
    if (hour > 23) continue;
    const std::string_view rest = t.substr(end);
    if (rest.starts_with("/") || rest.starts_with("-")) continue;  // a date
    NamedTime named{hour, std::nullopt};
    if (rest.size() >= 3 && rest[0] == ':') {
      const int minute = number_at(rest, 1, 2);
      if (minute >= 0 && minute < 60 && (rest.size() == 3 || !is_digit(rest[3]))) {
        named.minute = minute;
        return named;
      }
      continue;
    }
    if (rest.starts_with("h")) {
      const int minute = number_at(rest, 1, 2);
      if (minute >= 0 && minute < 60) named.minute = minute;
      return named;
    }
    if (rest.starts_with(" hora") || rest.starts_with(" hs")) return named;
    // "às 10", "as 10"
    const std::string_view before = t.substr(0, i);
    for (std::string_view prefix : {std::string_view("\xc3\xa0s "), std::string_view("as ")})
      if (before.ends_with(prefix)) {
        const size_t at = before.size() - prefix.size();
        if (at == 0 || !is_letter(before[at - 1])) return named;
      }
  }
  return std::nullopt;
}

struct OfferedLabel {
  int day = 0, month = 0, year = 0, hour = 0, minute = 0;
  std::string start() const {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d", year, month, day, hour, minute);
    return buf;
  }
};

// Every "DD/MM/YYYY HH:MM" in `text`, in order.
std::vector<OfferedLabel> labels_in(std::string_view text) {
  std::vector<OfferedLabel> out;
  for (size_t i = 0; i + 16 <= text.size(); ++i) {
    if (i > 0 && is_digit(text[i - 1])) continue;
    if (text[i + 2] != '/' || text[i + 5] != '/' || text[i + 10] != ' ' || text[i + 13] != ':')
      continue;
    OfferedLabel l{number_at(text, i, 2), number_at(text, i + 3, 2), number_at(text, i + 6, 4),
                   number_at(text, i + 11, 2), number_at(text, i + 14, 2)};
    if (l.day < 1 || l.day > 31 || l.month < 1 || l.month > 12 || l.year < 0 || l.hour < 0 ||
        l.hour > 23 || l.minute < 0 || l.minute > 59)
      continue;
    out.push_back(l);
  }
  return out;
}

// "local time YYYY-MM-DDTHH:MM" in the system prompt: its date.
std::optional<chr::sys_days> local_today(const LlmPrompt& p) {
  constexpr std::string_view kMarker = "local time";
  for (const auto& [role, text] : p.messages) {
    if (role != "system" && role != "developer") continue;
    for (size_t at = text.find(kMarker); at != std::string::npos; at = text.find(kMarker, at + 1)) {
      size_t i = at + kMarker.size();
      while (i < text.size() && (text[i] == ' ' || text[i] == ':')) ++i;
      const int y = number_at(text, i, 4), m = number_at(text, i + 5, 2),
                d = number_at(text, i + 8, 2);
      if (y < 0 || m < 0 || d < 0 || text[i + 4] != '-' || text[i + 7] != '-') continue;
      const chr::year_month_day ymd{chr::year{y}, chr::month{static_cast<unsigned>(m)},
                                    chr::day{static_cast<unsigned>(d)}};
      if (ymd.ok()) return chr::sys_days{ymd};
    }
  }
  return std::nullopt;
}

// YYYY-MM-DD of a calendar day.
std::string date_text(chr::sys_days day) { return format_local_date(Timestamp{day}, "UTC"); }

json find_slots_arguments(const LlmPrompt& p, std::string_view words) {
  json args = json::object();
  std::optional<int> days_ahead;
  if (has(words, "depois de amanh"))
    days_ahead = 2;
  else if (has(words, "amanh"))
    days_ahead = 1;
  else if (has(words, "hoje"))
    days_ahead = 0;
  if (days_ahead)
    if (auto today = local_today(p)) {
      args["date"] = date_text(*today + chr::days{*days_ahead});
      args["days"] = 1;
    }
  // Greetings name no part of the day.
  std::string rest(words);
  for (std::string_view greeting : {"boa tarde", "boa noite", "bom dia"})
    for (size_t at = rest.find(greeting); at != std::string::npos; at = rest.find(greeting))
      rest.replace(at, greeting.size(), std::string(greeting.size(), ' '));
  bool morning = false;
  for (size_t at = rest.find("manh"); at != std::string::npos; at = rest.find("manh", at + 1))
    if (at == 0 || rest[at - 1] != 'a') morning = true;  // "amanhã" is a day, not a morning
  if (morning)
    args["part_of_day"] = "morning";
  else if (has(rest, "tarde"))
    args["part_of_day"] = "afternoon";
  else if (has(rest, "noite"))
    args["part_of_day"] = "evening";
  return args;
}

bool mentions_booking(std::string_view words) {
  return has(words, "marc") || has(words, "agend") || has(words, "hor\xc3\xa1rio") ||
         has(words, "horario") || has(words, "consulta");
}

// Whether the conversation is about moving a booking: the latest user message that states
// an intent (from the last one back) says "remarc".
bool rescheduling(const LlmPrompt& p) {
  for (size_t i = p.messages.size(); i-- > 0;) {
    const auto& [role, text] = p.messages[i];
    if (role != "user") continue;
    const std::string words = folded(text);
    if (has(words, "remarc")) return true;
    if (has(words, "desmarc") || has(words, "cancel")) continue;
    if (has(words, "marc") || has(words, "agend")) return false;
  }
  return false;
}

LlmAnswer call(const LlmPrompt& p, std::string name, json arguments) {
  LlmToolCall c;
  c.name = std::move(name);
  c.arguments = std::move(arguments);
  return make_answer(p, "", {std::move(c)});
}

}  // namespace

LlmAnswer secretary_answer(const LlmPrompt& p) {
  // (a) The last message answers tool calls.
  if (const auto results = trailing_results(p); !results.empty()) {
    const LlmToolResult* chosen = results.back();
    for (const LlmToolResult* r : results)
      if (is_error_result(*r)) {
        chosen = r;
        break;
      }
    return make_answer(p, about_result(*chosen));
  }
  // (b) The last user message.
  const std::string* last_user = nullptr;
  const std::string* last_assistant = nullptr;
  for (size_t i = p.messages.size(); i-- > 0;) {
    const auto& [role, text] = p.messages[i];
    if (!last_user && role == "user" && !text.empty()) last_user = &text;
    if (!last_assistant && is_assistant(role) && !text.empty()) last_assistant = &text;
  }
  if (last_user) {
    const std::string words = folded(*last_user);
    if ((has(words, "cancel") || has(words, "desmarc")) && offers(p, "cancel_booking"))
      return call(p, "cancel_booking", json::object());
    if (auto time = named_time(words); time && last_assistant) {
      for (const OfferedLabel& l : labels_in(*last_assistant)) {
        if (l.hour != time->hour || (time->minute && *time->minute != l.minute)) continue;
        const char* tool = rescheduling(p) ? "reschedule_booking" : "book_slot";
        if (offers(p, tool)) return call(p, tool, {{"start", l.start()}});
        break;
      }
    }
    if (mentions_booking(words) && offers(p, "find_slots"))
      return call(p, "find_slots", find_slots_arguments(p, words));
  }
  // (c) The deterministic answer.
  return simulated_answer(p);
}

}  // namespace recado
