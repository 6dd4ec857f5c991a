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

// Wall-clock time in an IANA zone (an unknown or empty zone is UTC), to the minute:
// "2026-11-27T09:00". And its date alone: "2026-11-27".
std::string format_local_minute(Timestamp t, const std::string& time_zone);
std::string format_local_date(Timestamp t, const std::string& time_zone);
// Reads "YYYY-MM-DDTHH:MM" (or with a space for the T, optionally ":SS") as wall-clock time
// in the zone. A time the zone skips (a DST gap) or that is not a real date is nullopt; an
// ambiguous one (the repeated hour) is the earlier instant.
std::optional<Timestamp> parse_local_minute(std::string_view text, const std::string& time_zone);
// Reads "YYYY-MM-DD": midnight at the start of that day in the zone (nullopt: not a date).
std::optional<Timestamp> parse_local_date(std::string_view text, const std::string& time_zone);

}  // namespace recado
