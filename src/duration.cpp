#include "src/duration.hpp"

#include <charconv>
#include <cstdint>

namespace recado {

std::optional<Duration> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || value < 0) return std::nullopt;
  std::string_view unit(end, text.data() + text.size() - end);
  int64_t micros_per_unit = 0;
  if (unit.empty() || unit == "s") {
    micros_per_unit = 1'000'000;
  } else if (unit == "us") {
    micros_per_unit = 1;
  } else if (unit == "ms") {
    micros_per_unit = 1'000;
  } else if (unit == "m") {
    micros_per_unit = 60'000'000;
  } else if (unit == "h") {
    micros_per_unit = 3'600'000'000;
  } else if (unit == "d") {
    micros_per_unit = 86'400'000'000;
  } else {
    return std::nullopt;
  }
  if (value > INT64_MAX / micros_per_unit) return std::nullopt;
  return Duration{value * micros_per_unit};
}

std::string format_duration(Duration d) {
  const int64_t us = d.count();
  struct Unit {
    int64_t micros;
    const char* suffix;
  };
  static constexpr Unit units[] = {
      {86'400'000'000, "d"}, {3'600'000'000, "h"}, {60'000'000, "m"},
      {1'000'000, "s"},      {1'000, "ms"},        {1, "us"}};
  for (const Unit& u : units) {
    if (us != 0 && us % u.micros == 0) return std::to_string(us / u.micros) + u.suffix;
  }
  return "0s";
}

}  // namespace recado
