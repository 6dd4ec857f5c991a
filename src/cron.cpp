#include "src/cron.hpp"

#include <date/tz.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <stdexcept>
#include <vector>

namespace recado {

namespace {

// --- parsing --------------------------------------------------------------------------------

enum class Names { none, months, weekdays };

struct FieldSpec {
  std::string_view name;  // as errors name the field
  int min;                // the smallest value the text may hold
  int max;                // the largest (7 for the day of week: Sunday again)
  int star_max;           // where `*` and `a/n` end (6 for the day of week)
  Names names;
};

constexpr std::array<FieldSpec, 5> kFields = {{
    {"minute", 0, 59, 59, Names::none},
    {"hour", 0, 23, 23, Names::none},
    {"day of month", 1, 31, 31, Names::none},
    {"month", 1, 12, 12, Names::months},
    {"day of week", 0, 7, 6, Names::weekdays},
}};

constexpr std::array<std::string_view, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kWeekdayNames = {"sun", "mon", "tue", "wed",
                                                           "thu", "fri", "sat"};

// The largest step a field accepts: the number of values `*` covers.
int step_limit(const FieldSpec& spec) {
  return spec.star_max - spec.min + 1;
}

std::string quoted(std::string_view text) {
  return "'" + std::string(text) + "'";
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
}

// A number, or a name where the field has names. Sets `error` (without the field's name)
// and returns nullopt when `text` is neither or is out of the field's range.
std::optional<int> parse_value(std::string_view text, const FieldSpec& spec, std::string& error) {
  if (all_digits(text)) {
    int value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < spec.min ||
        value > spec.max) {
      error = std::string(text) + " is out of range " + std::to_string(spec.min) + "-" +
              std::to_string(spec.max);
      return std::nullopt;
    }
    return value;
  }
  const std::string name = lowercase(text);
  if (spec.names == Names::months) {
    for (std::size_t i = 0; i < kMonthNames.size(); ++i)
      if (name == kMonthNames[i]) return static_cast<int>(i) + 1;
    error = quoted(text) + " is not a month (1-12 or jan-dec)";
  } else if (spec.names == Names::weekdays) {
    for (std::size_t i = 0; i < kWeekdayNames.size(); ++i)
      if (name == kWeekdayNames[i]) return static_cast<int>(i);
    error = quoted(text) + " is not a day of the week (0-7 or sun-sat)";
  } else {
    error = quoted(text) + " is not a number";
  }
  return std::nullopt;
}

// One list item: `*`, `a`, `a-b`, each optionally with `/n`. Sets the values it covers in
// `values` (indexed by value; the day of week's 7 lands on 0).
bool parse_item(std::string_view item, const FieldSpec& spec, std::bitset<64>& values,
                std::string& error) {
  std::string_view base = item;
  int step = 1;
  bool has_step = false;
  if (const auto slash = item.find('/'); slash != std::string_view::npos) {
    base = item.substr(0, slash);
    const std::string_view step_text = item.substr(slash + 1);
    if (step_text.find('/') != std::string_view::npos) {
      error = quoted(item) + " has more than one step";
      return false;
    }
    if (base.empty()) {
      error = quoted(item) + " is missing a value before its step";
      return false;
    }
    if (!all_digits(step_text)) {
      error = "step " + quoted(step_text) + " in " + quoted(item) + " is not a number";
      return false;
    }
    const auto [end, ec] =
        std::from_chars(step_text.data(), step_text.data() + step_text.size(), step);
    if (ec != std::errc{} || step < 1 || step > step_limit(spec)) {
      error = "step " + std::string(step_text) + " in " + quoted(item) + " is out of range 1-" +
              std::to_string(step_limit(spec));
      return false;
    }
    has_step = true;
  }

  int first = 0, last = 0;
  if (base == "*") {
    first = spec.min;
    last = spec.star_max;
  } else if (const auto dash = base.find('-'); dash != std::string_view::npos) {
    const std::string_view from = base.substr(0, dash), to = base.substr(dash + 1);
    if (from.empty() || to.empty() || to.find('-') != std::string_view::npos) {
      error = quoted(item) + " is not a range (a-b)";
      return false;
    }
    if (from == "*" || to == "*") {
      error = quoted(item) + " is not a range: * stands alone";
      return false;
    }
    const auto a = parse_value(from, spec, error);
    if (!a) return false;
    const auto b = parse_value(to, spec, error);
    if (!b) return false;
    first = *a;
    last = *b;
    // A day-of-week range ending in Sunday ends at 7 ("fri-sun").
    if (spec.names == Names::weekdays && last == 0 && first > 0) last = 7;
    if (last < first) {
      error = quoted(item) + " runs backwards (" + std::to_string(first) + "-" +
              std::to_string(last) + ")";
      return false;
    }
  } else {
    const auto a = parse_value(base, spec, error);
    if (!a) return false;
    first = *a;
    // `a/n` runs from a to the end of the field.
    last = has_step ? std::max(first, spec.star_max) : first;
  }
  for (int v = first; v <= last; v += step) values.set(spec.names == Names::weekdays ? v % 7 : v);
  return true;
}

struct ParsedField {
  std::bitset<64> values;
  bool star = false;  // written `*` or `*/n`
};

std::optional<ParsedField> parse_field(std::string_view text, const FieldSpec& spec,
                                       std::string& error) {
  ParsedField field;
  field.star = text == "*" || (text.starts_with("*/") && text.find(',') == std::string_view::npos);
  std::size_t start = 0;
  while (true) {
    const auto comma = text.find(',', start);
    const std::string_view item = text.substr(start, comma - start);
    if (item.empty()) {
      error = std::string(spec.name) + ": empty item in " + quoted(text);
      return std::nullopt;
    }
    std::string reason;
    if (!parse_item(item, spec, field.values, reason)) {
      error = std::string(spec.name) + ": " + reason;
      return std::nullopt;
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return field;
}

template <std::size_t N>
std::bitset<N> narrow(const std::bitset<64>& values) {
  std::bitset<N> out;
  for (std::size_t i = 0; i < N; ++i) out[i] = values[i];
  return out;
}

std::optional<std::string_view> expand_macro(std::string_view macro) {
  const std::string name = lowercase(macro);
  if (name == "@yearly" || name == "@annually") return "0 0 1 1 *";
  if (name == "@monthly") return "0 0 1 * *";
  if (name == "@weekly") return "0 0 * * 0";
  if (name == "@daily" || name == "@midnight") return "0 0 * * *";
  if (name == "@hourly") return "0 * * * *";
  return std::nullopt;
}

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

// --- formatting -----------------------------------------------------------------------------

// The step n such that `values` is exactly what `*/n` covers over [lo, hi], if any.
std::optional<int> star_step(const std::vector<int>& values, int lo, int hi) {
  if (values.empty() || values.front() != lo) return std::nullopt;
  const int step = values.size() >= 2 ? values[1] - values[0] : hi - lo + 1;
  for (std::size_t i = 0; i < values.size(); ++i)
    if (values[i] != lo + static_cast<int>(i) * step) return std::nullopt;
  if (values.back() + step <= hi) return std::nullopt;
  return step;
}

// `star`: nullopt when the field may be written `*` or `*/n` whenever its values allow;
// true/false for the day fields, whose spelling decides the day rule.
std::string format_field(const std::vector<int>& values, int lo, int hi, std::optional<bool> star) {
  if (values.empty()) return "none";  // only a hand-made schedule; it never fires
  if (star.value_or(true)) {
    if (const auto step = star_step(values, lo, hi);
        step && (star.has_value() || values.size() >= 3 || *step == 1))
      return *step == 1 ? "*" : "*/" + std::to_string(*step);
  }
  const int step = values.size() >= 2 ? values[1] - values[0] : 0;
  bool arithmetic = values.size() >= 4 && step > 1;
  for (std::size_t i = 1; arithmetic && i < values.size(); ++i)
    arithmetic = values[i] - values[i - 1] == step;
  if (arithmetic)
    return std::to_string(values.front()) + "-" + std::to_string(values.back()) + "/" +
           std::to_string(step);
  std::string out;
  for (std::size_t i = 0; i < values.size();) {
    std::size_t j = i;
    while (j + 1 < values.size() && values[j + 1] == values[j] + 1) ++j;
    if (!out.empty()) out += ',';
    if (j - i >= 2) {
      out += std::to_string(values[i]) + "-" + std::to_string(values[j]);
      i = j + 1;
    } else {
      out += std::to_string(values[i]);
      ++i;
    }
  }
  return out;
}

template <std::size_t N>
std::vector<int> values_of(const std::bitset<N>& bits, int lo, int hi) {
  std::vector<int> out;
  for (int v = lo; v <= hi; ++v)
    if (bits.test(static_cast<std::size_t>(v))) out.push_back(v);
  return out;
}

// --- next fire ------------------------------------------------------------------------------

using std::chrono::minutes;
using std::chrono::seconds;
using LocalMinutes = date::local_time<minutes>;

template <std::size_t N>
int next_set(const std::bitset<N>& bits, int from) {
  for (auto i = static_cast<std::size_t>(from); i < N; ++i)
    if (bits.test(i)) return static_cast<int>(i);
  return -1;
}

bool day_matches(const CronSchedule& s, date::local_days day) {
  const date::year_month_day ymd{day};
  const bool by_month_day = s.days_of_month.test(static_cast<unsigned>(ymd.day()));
  const bool by_weekday = s.days_of_week.test(date::weekday{day}.c_encoding());
  if (s.day_of_month_star || s.day_of_week_star) return by_month_day && by_weekday;
  return by_month_day || by_weekday;
}

// The first wall-clock minute in [from, until) that the fields match. Skips whole months,
// days and hours that cannot match, so a span of years costs a few hundred steps.
std::optional<LocalMinutes> first_match(const CronSchedule& s, LocalMinutes from,
                                        LocalMinutes until) {
  LocalMinutes t = from;
  while (t < until) {
    const auto day = date::floor<date::days>(t);
    const date::year_month_day ymd{day};
    if (!s.months.test(static_cast<unsigned>(ymd.month()))) {
      t = date::local_days{(ymd.year() / ymd.month() + date::months{1}) / 1};
      continue;
    }
    if (!day_matches(s, day)) {
      t = day + date::days{1};
      continue;
    }
    const auto minute_of_day = static_cast<int>((t - day).count());
    const int hour_now = minute_of_day / 60;
    const int hour = next_set(s.hours, hour_now);
    if (hour < 0) {
      t = day + date::days{1};
      continue;
    }
    if (hour > hour_now) {
      t = day + std::chrono::hours{hour};
      continue;
    }
    const int minute = next_set(s.minutes, minute_of_day % 60);
    if (minute < 0) {
      t = day + std::chrono::hours{hour + 1};
      continue;
    }
    t = day + std::chrono::hours{hour} + minutes{minute};
    if (t < until) return t;
    break;
  }
  return std::nullopt;
}

date::local_seconds local_at(date::sys_seconds instant, seconds offset) {
  return date::local_seconds{instant.time_since_epoch() + offset};
}

constexpr auto kHorizon = date::days{9 * 366};
const Timestamp kEarliest{date::sys_days{date::year{1900} / 1 / 1}};
const Timestamp kLatest{date::sys_days{date::year{9000} / 1 / 1}};

}  // namespace

std::variant<CronSchedule, std::string> parse_cron(std::string_view expression,
                                                   std::string_view time_zone) {
  while (!expression.empty() && is_blank(expression.front())) expression.remove_prefix(1);
  while (!expression.empty() && is_blank(expression.back())) expression.remove_suffix(1);
  if (expression.empty()) return std::string("empty cron expression");

  std::string_view text = expression;
  if (expression.front() == '@') {
    const auto expanded = expand_macro(expression);
    if (!expanded)
      return "unknown macro " + quoted(expression) +
             " (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)";
    text = *expanded;
  }

  std::vector<std::string_view> fields;
  for (std::size_t i = 0; i < text.size();) {
    if (is_blank(text[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && !is_blank(text[j])) ++j;
    fields.push_back(text.substr(i, j - i));
    i = j;
  }
  if (fields.size() != kFields.size())
    return "expected 5 fields (minute hour day-of-month month day-of-week), got " +
           std::to_string(fields.size()) + " in " + quoted(expression);

  std::array<ParsedField, 5> parsed;
  for (std::size_t i = 0; i < kFields.size(); ++i) {
    std::string error;
    auto field = parse_field(fields[i], kFields[i], error);
    if (!field) return error;
    parsed[i] = *field;
  }

  CronSchedule schedule;
  schedule.minutes = narrow<60>(parsed[0].values);
  schedule.hours = narrow<24>(parsed[1].values);
  schedule.days_of_month = narrow<32>(parsed[2].values);
  schedule.months = narrow<13>(parsed[3].values);
  schedule.days_of_week = narrow<7>(parsed[4].values);
  schedule.day_of_month_star = parsed[2].star;
  schedule.day_of_week_star = parsed[4].star;
  schedule.time_zone = std::string(time_zone);
  try {
    date::locate_zone(schedule.time_zone);
  } catch (const std::runtime_error&) {
    return "time zone: " + quoted(time_zone) + " is not in the time zone database";
  }
  return schedule;
}

std::optional<Timestamp> next_fire(const CronSchedule& schedule, Timestamp after) {
  if (after < kEarliest || after > kLatest) return std::nullopt;
  const date::time_zone* zone = date::locate_zone(schedule.time_zone);
  // Hourly-or-more schedules follow the wall clock as it is; the others get the fixed-time
  // rule (see the header).
  const bool fixed_hours = !schedule.hours.all();

  // Walk the zone's periods of constant offset from the one holding `after`. Within a period
  // wall time runs with real time, so its first matching wall minute is its first firing.
  const auto after_s = date::floor<seconds>(after);  // fires are whole seconds: same order
  const date::sys_seconds horizon = after_s + kHorizon;
  date::sys_info period = zone->get_info(after_s);
  seconds previous_offset = period.offset;
  if (fixed_hours && after_s - period.begin < date::days{1})
    previous_offset = zone->get_info(period.begin - seconds{1}).offset;

  while (true) {
    const seconds offset = period.offset;
    if (fixed_hours && period.begin > after_s && offset > previous_offset) {
      // Spring forward: wall times [begin + previous offset, begin + offset) were skipped.
      const auto skipped_from = date::ceil<minutes>(local_at(period.begin, previous_offset));
      const auto skipped_until = date::ceil<minutes>(local_at(period.begin, offset));
      if (first_match(schedule, skipped_from, skipped_until)) return Timestamp{period.begin};
    }
    // Fall back: for fixed hours, the repeated wall times fired in the previous period.
    const seconds start_offset = fixed_hours && offset < previous_offset ? previous_offset : offset;
    const LocalMinutes from =
        std::max(date::ceil<minutes>(local_at(period.begin, start_offset)),
                 date::floor<minutes>(local_at(after_s, offset)) + minutes{1});
    const date::sys_seconds period_end = std::min(period.end, horizon);
    const LocalMinutes until = date::ceil<minutes>(local_at(period_end, offset));
    if (from < until) {
      if (const auto wall = first_match(schedule, from, until))
        return Timestamp{wall->time_since_epoch() - offset};
    }
    if (period.end >= horizon) return std::nullopt;
    previous_offset = offset;
    period = zone->get_info(period.end);
  }
}

std::string to_string(const CronSchedule& s) {
  return format_field(values_of(s.minutes, 0, 59), 0, 59, std::nullopt) + " " +
         format_field(values_of(s.hours, 0, 23), 0, 23, std::nullopt) + " " +
         format_field(values_of(s.days_of_month, 1, 31), 1, 31, s.day_of_month_star) + " " +
         format_field(values_of(s.months, 1, 12), 1, 12, std::nullopt) + " " +
         format_field(values_of(s.days_of_week, 0, 6), 0, 6, s.day_of_week_star);
}

}  // namespace recado
