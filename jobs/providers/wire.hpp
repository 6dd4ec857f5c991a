#pragma once
// Small pieces of wire text both provider adapters need: bounded quoting of a provider's
// body in an error, URL path building, and JSON that never throws on bad UTF-8.
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace recado::jobs::providers::wire {

// At most 200 characters of `text` (never cutting a UTF-8 character), with "…" when cut.
std::string quoted(std::string_view text);
// Whether `text` is empty or only whitespace.
bool blank(std::string_view text);
std::string_view without_trailing_slashes(std::string_view url);
// A path segment with everything but RFC 3986 unreserved characters percent-encoded.
std::string path_segment(std::string_view s);
// Compact JSON; invalid UTF-8 replaced rather than thrown on.
std::string dump(const nlohmann::json& j);

}  // namespace recado::jobs::providers::wire
