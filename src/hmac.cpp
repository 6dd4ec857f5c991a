#include "src/hmac.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "src/secure_compare.hpp"

namespace recado {

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::string raw = hmac_sha256(key, data);
  std::string hex;
  hex.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  return hex;
}

bool verify_hmac_sha256_hex(std::string_view key, std::string_view data, std::string_view signature_hex) {
  std::string given(signature_hex);
  for (char& c : given)
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  return secure_equals(hmac_sha256_hex(key, data), given);
}

std::string base64url_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < bytes.size()) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    if (i + 1 < bytes.size()) out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-') v = 62;
    else if (c == '_') v = 63;
    else return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::optional<std::string> jwt_hs256_problem(std::string_view token, std::string_view secret, Timestamp now,
                                             Duration leeway) {
  const auto first = token.find('.');
  const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos)
    return "not a JWT (expected header.payload.signature)";
  const auto header = base64url_decode(token.substr(0, first));
  const auto payload = base64url_decode(token.substr(first + 1, second - first - 1));
  const auto signature = base64url_decode(token.substr(second + 1));
  if (!header || !payload || !signature) return "JWT is not base64url";
  const auto h = nlohmann::json::parse(*header, nullptr, false);
  if (!h.is_object() || !h.contains("alg") || h["alg"] != "HS256") return "JWT algorithm is not HS256";
  if (!secure_equals(hmac_sha256(secret, token.substr(0, second)), *signature)) return "JWT signature does not match";
  const auto p = nlohmann::json::parse(*payload, nullptr, false);
  if (!p.is_object()) return "JWT payload is not a JSON object";
  const auto seconds = [](const nlohmann::json& v) {
    const int64_t s = std::clamp<int64_t>(v.get<int64_t>(), 0, int64_t{1} << 36);  // keeps µs in range
    return Timestamp{std::chrono::seconds{s}};
  };
  if (p.contains("exp")) {
    if (!p["exp"].is_number_integer()) return "JWT exp is not a number";
    if (seconds(p["exp"]) + leeway < now) return "JWT has expired";
  }
  if (p.contains("iat")) {
    if (!p["iat"].is_number_integer()) return "JWT iat is not a number";
    if (seconds(p["iat"]) - leeway > now) return "JWT is issued in the future";
  }
  return std::nullopt;
}

}  // namespace recado
