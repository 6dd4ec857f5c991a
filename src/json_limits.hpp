#pragma once
// Checks on untrusted JSON before it goes further: how deep it nests (PostgreSQL's jsonb
// parser recurses; a hostile body must not get that far) and whether it holds a NUL, which
// neither jsonb nor text can store.
#include <nlohmann/json.hpp>

#include <string_view>

namespace recado {

// The most nesting a request body may have.
inline constexpr int kMaxJsonDepth = 32;

// Nesting depth of a JSON text, counted without parsing it (strings skipped); stops
// counting once past `kMaxJsonDepth`.
int json_depth(std::string_view text);

// Whether any string or key in `value` holds the NUL character.
bool holds_nul(const nlohmann::json& value);

}  // namespace recado
