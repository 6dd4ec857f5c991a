#include "src/business_hours.hpp"

#include <date/tz.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <stdexcept>

namespace recado {

namespace {

using LocalTime = date::local_time<Duration>;
using std::chrono::minutes;

// Monday 0 ... Sunday 6, as BusinessHours::days is indexed.
std::size_t day_index(date::weekday wd) { return wd.iso_encoding() - 1; }

bool open_at_local(const BusinessHours& hours, LocalTime local) {
  const auto midnight = date::floor<date::days>(local);
  const Duration since_midnight = local - midnight;
  for (const OpenInterval& iv : hours.days[day_index(date::weekday{midnight})])
    if (since_midnight >= minutes{iv.open} && since_midnight < minutes{iv.close}) return true;
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// "H:MM" or "HH:MM", 00:00 to 23:59, and 24:00 when `end_of_day_allowed`.
std::optional<int> parse_time(std::string_view s, bool end_of_day_allowed) {
  const auto colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 2 || s.size() != colon + 3) return std::nullopt;
  int hour = 0, minute = 0;
  for (std::size_t i = 0; i < colon; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
    hour = hour * 10 + (s[i] - '0');
  }
  for (std::size_t i = colon + 1; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
    minute = minute * 10 + (s[i] - '0');
  }
  if (minute > 59) return std::nullopt;
  if (hour == 24 && minute == 0 && end_of_day_allowed) return 24 * 60;
  if (hour > 23) return std::nullopt;
  return hour * 60 + minute;
}

std::string format_time(int minute_of_day) {
  const int h = minute_of_day / 60, m = minute_of_day % 60;
  std::string out;
  out += static_cast<char>('0' + h / 10);
  out += static_cast<char>('0' + h % 10);
  out += ':';
  out += static_cast<char>('0' + m / 10);
  out += static_cast<char>('0' + m % 10);
  return out;
}

std::string format_interval(const OpenInterval& iv) {
  return format_time(iv.open) + "-" + format_time(iv.close);
}

// The instants whose local time is `local`: one, two (a repeated hour: both occurrences),
// or, when `local` is skipped, the instant the clocks jump (the first one after the gap).
void instants_of(const date::time_zone& zone, LocalTime local, std::vector<Timestamp>& out) {
  const date::local_info info = zone.get_info(local);
  switch (info.result) {
    case date::local_info::unique:
      out.push_back(Timestamp{local.time_since_epoch() - info.first.offset});
      break;
    case date::local_info::ambiguous:
      out.push_back(Timestamp{local.time_since_epoch() - info.first.offset});
      out.push_back(Timestamp{local.time_since_epoch() - info.second.offset});
      break;
    case date::local_info::nonexistent:
      out.push_back(Timestamp{info.first.end.time_since_epoch()});
      break;
  }
}

}  // namespace

bool BusinessHours::never_opens() const {
  if (always_open) return false;
  return std::all_of(days.begin(), days.end(), [](const auto& d) { return d.empty(); });
}

bool is_open(const BusinessHours& hours, Timestamp t) {
  if (hours.always_open) return true;
  const date::time_zone* zone = date::locate_zone(hours.time_zone);
  return open_at_local(hours, zone->to_local(t));
}

std::optional<Timestamp> next_opening(const BusinessHours& hours, Timestamp t) {
  if (hours.always_open) return t;
  if (hours.never_opens()) return std::nullopt;
  const date::time_zone* zone = date::locate_zone(hours.time_zone);
  if (open_at_local(hours, zone->to_local(t))) return t;

  // Closed at t. The business can only start being open at an instant whose local time is
  // an interval's opening (local time running on into it), or where the zone's offset
  // changes (local time jumping into an interval). Gather those instants, a week and a bit
  // at a time, and take the first after t that is open. A business open on some weekday
  // opens within eight days unless every opening of the week falls in a skipped hour, so
  // the loop rarely passes its first round; it gives up after two years.
  const auto today = date::floor<date::days>(zone->to_local(t));
  constexpr int kRounds = 105;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<Timestamp> candidates;
    const auto first_day = today + date::days{7 * round - 1};
    const auto last_day = today + date::days{7 * round + 8};
    for (auto day = first_day; day <= last_day; day += date::days{1})
      for (const OpenInterval& iv : hours.days[day_index(date::weekday{day})])
        instants_of(*zone, LocalTime{day} + minutes{iv.open}, candidates);
    // Offset changes up to a day past the last local day gathered (offsets are < 1 day).
    const auto until = date::floor<std::chrono::seconds>(
        Timestamp{(last_day + date::days{2}).time_since_epoch()});
    for (date::sys_info info = zone->get_info(t); info.end <= until; info = zone->get_info(info.end))
      candidates.push_back(Timestamp{info.end.time_since_epoch()});
    std::sort(candidates.begin(), candidates.end());
    for (Timestamp c : candidates)
      if (c > t && open_at_local(hours, zone->to_local(c))) return c;
  }
  return std::nullopt;
}

std::optional<std::vector<OpenInterval>> parse_day_hours(std::string_view text, std::string& error) {
  std::vector<OpenInterval> out;
  text = trim(text);
  if (text.empty() || text == "closed") return out;
  const std::string whole(text);
  while (true) {
    const auto comma = text.find(',');
    const std::string_view part = trim(text.substr(0, comma));
    const auto dash = part.find('-');
    std::optional<int> open, close;
    if (dash != std::string_view::npos) {
      open = parse_time(trim(part.substr(0, dash)), false);
      close = parse_time(trim(part.substr(dash + 1)), true);
    }
    if (!open || !close) {
      error = part.empty() ? "an empty range in '" + whole + "'"
                           : "'" + std::string(part) +
                                 "' is not a range such as 08:00-12:00 (HH:MM-HH:MM, 24:00 ends the day)";
      return std::nullopt;
    }
    if (*close <= *open) {
      error = "'" + std::string(part) +
              "' does not close after it opens (a range past midnight is two: 22:00-24:00 and "
              "00:00-02:00 the next day)";
      return std::nullopt;
    }
    out.push_back({*open, *close});
    if (comma == std::string_view::npos) break;
    text = text.substr(comma + 1);
  }
  std::sort(out.begin(), out.end(), [](const OpenInterval& a, const OpenInterval& b) { return a.open < b.open; });
  for (std::size_t i = 1; i < out.size(); ++i) {
    if (out[i].open < out[i - 1].close) {
      error = format_interval(out[i - 1]) + " and " + format_interval(out[i]) + " overlap";
      return std::nullopt;
    }
  }
  return out;
}

std::string format_day_hours(const std::vector<OpenInterval>& intervals) {
  if (intervals.empty()) return "closed";
  std::string out;
  for (const OpenInterval& iv : intervals) {
    if (!out.empty()) out += ", ";
    out += format_interval(iv);
  }
  return out;
}

bool is_known_time_zone(const std::string& name) {
  try {
    date::locate_zone(name);
    return true;
  } catch (const std::runtime_error&) {
    return false;
  }
}

}  // namespace recado
