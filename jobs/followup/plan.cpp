#include "jobs/followup/plan.hpp"

#include <date/tz.h>

#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <optional>
#include <stdexcept>

namespace recado::jobs::followup {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_called_off(std::string_view status) {
  const std::string s = lower(status);
  return s == "cancelled" || s == "canceled" || s == "rejected";
}

// Indexed by weekday c_encoding (0 Sunday).
constexpr std::array<std::string_view, 7> kWeekdaysPt = {"domingo",      "segunda-feira", "terça-feira",
                                                         "quarta-feira", "quinta-feira",  "sexta-feira",
                                                         "sábado"};
constexpr std::array<std::string_view, 7> kWeekdaysEs = {"domingo", "lunes",   "martes", "miércoles",
                                                         "jueves",  "viernes", "sábado"};
constexpr std::array<std::string_view, 7> kWeekdaysEn = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                         "Thursday", "Friday", "Saturday"};

struct LocalParts {
  std::string date, time, weekday;
};

LocalParts local_parts(Timestamp t, const std::string& time_zone, Language language) {
  const date::time_zone* zone = nullptr;
  try {
    zone = date::locate_zone(time_zone.empty() ? "UTC" : time_zone);
  } catch (const std::runtime_error&) {
    zone = date::locate_zone("UTC");
  }
  const auto local = zone->to_local(date::floor<std::chrono::seconds>(t));
  const auto day = date::floor<date::days>(local);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<std::chrono::seconds> hms{local - day};
  const int y = static_cast<int>(ymd.year());
  const unsigned m = static_cast<unsigned>(ymd.month()), d = static_cast<unsigned>(ymd.day());
  char buf[32];
  LocalParts parts;
  if (language == Language::en)
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", y, m, d);
  else
    std::snprintf(buf, sizeof buf, "%02u/%02u/%04d", d, m, y);
  parts.date = buf;
  std::snprintf(buf, sizeof buf, "%02d:%02d", static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()));
  parts.time = buf;
  const unsigned wd = date::weekday{day}.c_encoding();
  parts.weekday = std::string(language == Language::pt   ? kWeekdaysPt[wd]
                              : language == Language::es ? kWeekdaysEs[wd]
                                                         : kWeekdaysEn[wd]);
  return parts;
}

}  // namespace

Language language_of(std::string_view tag) {
  const std::string l = lower(tag);
  if (l.rfind("pt", 0) == 0) return Language::pt;
  if (l.rfind("es", 0) == 0) return Language::es;
  return Language::en;
}

std::vector<Planned> plan_booking_followups(const BookingTimes& booking, const std::vector<FollowupRule>& rules,
                                            Timestamp now) {
  std::vector<Planned> planned;
  if (is_called_off(booking.status)) return planned;
  for (const FollowupRule& rule : rules) {
    Timestamp due;
    switch (rule.when) {
      case FollowupWhen::before_start: due = booking.start - rule.offset; break;
      case FollowupWhen::after_end: due = booking.end + rule.offset; break;
      case FollowupWhen::quiet: continue;
    }
    if (due > now) planned.push_back({rule.name, due});
  }
  return planned;
}

std::string render_template(std::string_view text, const TemplateValues& values) {
  std::optional<LocalParts> parts;  // computed on first use: most texts need it, some none
  auto local = [&]() -> const LocalParts& {
    if (!parts) parts = local_parts(values.start, values.time_zone, language_of(values.language));
    return *parts;
  };
  std::string out;
  out.reserve(text.size() + 64);
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t open = text.find('{', i);
    if (open == std::string_view::npos) break;
    const std::size_t close = text.find('}', open + 1);
    if (close == std::string_view::npos) break;
    const std::string_view name = text.substr(open + 1, close - open - 1);
    const std::string* value = nullptr;
    if (name == "name") value = &values.name;
    else if (name == "title") value = &values.title;
    else if (name == "tenant") value = &values.tenant;
    else if (name == "date") value = &local().date;
    else if (name == "time") value = &local().time;
    else if (name == "weekday") value = &local().weekday;
    if (!value) {  // not a placeholder: copy the brace and go on from just after it
      out.append(text.substr(i, open + 1 - i));
      i = open + 1;
      continue;
    }
    out.append(text.substr(i, open - i));
    out.append(*value);
    i = close + 1;
  }
  out.append(text.substr(i));
  return out;
}

}  // namespace recado::jobs::followup
