#pragma once
// RFC 3339 timestamps ("2026-11-25T10:00:00Z", "2026-11-25T07:00:00.250-03:00") to and from
// Timestamp.
#include <optional>
#include <string>
#include <string_view>

#include "src/clock.hpp"

namespace recado {

std::optional<Timestamp> parse_rfc3339(std::string_view text);
// UTC with milliseconds: 2026-11-25T10:00:00.000Z
std::string format_rfc3339(Timestamp t);

}  // namespace recado
