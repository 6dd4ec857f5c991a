#include "src/time_format.hpp"

#include <ctime>

#include <date/tz.h>

#include <fmt/format.h>

namespace recado {

namespace {
bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}
}  // namespace

std::optional<Timestamp> parse_rfc3339(std::string_view s) {
  int year, month, day, hour, minute, second;
  if (!digits(s, 0, 4, year) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, month) ||
      s[7] != '-' || !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !digits(s, 11, 2, hour) || s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':' ||
      !digits(s, 17, 2, second))
    return std::nullopt;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  const int days_in_month = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  if (day < 1 || day > days_in_month) return std::nullopt;
  size_t pos = 19;
  int64_t micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t scale = 100000;
    size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      micros += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  int offset_minutes = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_minutes = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const time_t secs = timegm(&tm);
  return from_epoch_micros((static_cast<int64_t>(secs) - offset_minutes * 60) * 1'000'000 + micros);
}

std::string format_rfc3339(Timestamp t) {
  const int64_t us = epoch_micros(t);
  time_t secs = static_cast<time_t>(us / 1'000'000);
  int64_t rem = us % 1'000'000;
  if (rem < 0) {
    rem += 1'000'000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, rem / 1000);
}

namespace {

const date::time_zone* zone_or_utc(const std::string& name) {
  try {
    return date::locate_zone(name.empty() ? "UTC" : name);
  } catch (const std::runtime_error&) {
    return date::locate_zone("UTC");
  }
}

// Wall-clock fields to an instant in `zone`; nullopt for a skipped time.
std::optional<Timestamp> from_local(int y, int mo, int d, int h, int mi, int s, const std::string& time_zone) {
  const date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(mo)},
                                 date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 59) return std::nullopt;
  const auto local = date::local_days{ymd} + std::chrono::hours{h} + std::chrono::minutes{mi} + std::chrono::seconds{s};
  const date::local_info info = zone_or_utc(time_zone)->get_info(local);
  if (info.result == date::local_info::nonexistent) return std::nullopt;
  const auto sys = date::sys_seconds{local.time_since_epoch()} - info.first.offset;
  return std::chrono::time_point_cast<Duration>(sys);
}

}  // namespace

std::string format_local_minute(Timestamp t, const std::string& time_zone) {
  const auto local = zone_or_utc(time_zone)->to_local(date::floor<std::chrono::minutes>(t));
  return date::format("%Y-%m-%dT%H:%M", local);
}

std::string format_local_date(Timestamp t, const std::string& time_zone) {
  const auto local = zone_or_utc(time_zone)->to_local(date::floor<std::chrono::seconds>(t));
  return date::format("%Y-%m-%d", date::floor<date::days>(local));
}

std::optional<Timestamp> parse_local_minute(std::string_view s, const std::string& time_zone) {
  int year, month, day, hour, minute, second = 0;
  if (s.size() != 16 && s.size() != 19) return std::nullopt;
  if (!digits(s, 0, 4, year) || s[4] != '-' || !digits(s, 5, 2, month) || s[7] != '-' || !digits(s, 8, 2, day) ||
      (s[10] != 'T' && s[10] != ' ') || !digits(s, 11, 2, hour) || s[13] != ':' || !digits(s, 14, 2, minute))
    return std::nullopt;
  if (s.size() == 19 && (s[16] != ':' || !digits(s, 17, 2, second))) return std::nullopt;
  return from_local(year, month, day, hour, minute, second, time_zone);
}

std::optional<Timestamp> parse_local_date(std::string_view s, const std::string& time_zone) {
  int year, month, day;
  if (s.size() != 10 || !digits(s, 0, 4, year) || s[4] != '-' || !digits(s, 5, 2, month) || s[7] != '-' ||
      !digits(s, 8, 2, day))
    return std::nullopt;
  // Midnight may itself be skipped (zones that move clocks at 00:00): then the day starts later.
  for (int hour = 0; hour < 3; ++hour)
    if (auto t = from_local(year, month, day, hour, 0, 0, time_zone)) return t;
  return std::nullopt;
}

}  // namespace recado
