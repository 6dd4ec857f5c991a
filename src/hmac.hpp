#pragma once
// HMAC-SHA256 and what webhook authentication needs around it: hex signatures and HS256
// JSON Web Tokens. Pure functions over bytes; safe from any thread.
#include <optional>
#include <string>
#include <string_view>

#include "src/clock.hpp"

namespace recado {

// The raw 32-byte HMAC-SHA256 of `data` under `key`.
std::string hmac_sha256(std::string_view key, std::string_view data);
// The same, as 64 lower-case hex digits.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// Whether `signature_hex` (either case) is the HMAC-SHA256 of `data` under `key`. The
// comparison takes time that does not depend on where the signatures differ.
bool verify_hmac_sha256_hex(std::string_view key, std::string_view data, std::string_view signature_hex);

// base64url without padding (RFC 4648 §5), as JWTs use it. Decoding accepts padding and
// refuses any other character.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

// Checks an HS256 JWT: header alg HS256, signature under `secret`, `exp` (when present) not
// past and `iat` (when present) not in the future, each with `leeway`. Returns the reason it
// fails, or nullopt when it is valid.
std::optional<std::string> jwt_hs256_problem(std::string_view token, std::string_view secret, Timestamp now,
                                             Duration leeway = std::chrono::seconds{60});

}  // namespace recado
