#pragma once
// Human durations in configuration and on the command line: "250ms", "30s", "5m", "2h", "7d".
#include <optional>
#include <string>
#include <string_view>

#include "src/clock.hpp"

namespace recado {

// Returns nullopt when `text` is not a duration; a bare number means seconds.
std::optional<Duration> parse_duration(std::string_view text);
// The shortest exact spelling: 1500ms, 30s, 5m, 2h, 7d.
std::string format_duration(Duration d);

}  // namespace recado
