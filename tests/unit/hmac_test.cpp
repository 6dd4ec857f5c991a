// HMAC-SHA256, hex signatures, base64url and HS256 JWTs: the primitives webhook
// authentication stands on.
#include "src/hmac.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <optional>
#include <string>

namespace recado {
namespace {

using std::chrono::seconds;

// --- hmac_sha256_hex against RFC 4231 ---------------------------------------------------

struct Rfc4231Case {
  const char* name;
  std::string key;
  std::string data;
  const char* hex;
};

TEST(HmacSha256, MatchesRfc4231TestVectors) {
  const Rfc4231Case cases[] = {
      {"1", std::string(20, '\x0b'), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"2", "Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {"3", std::string(20, '\xaa'), std::string(50, '\xdd'),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {"4",
       "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16"
       "\x17\x18\x19",
       std::string(50, '\xcd'), "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      // Keys longer than the block size are hashed first.
      {"6", std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {"7", std::string(131, '\xaa'),
       "This is a test using a larger than block-size key and a larger than block-size data. The "
       "key needs to be hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(hmac_sha256_hex(c.key, c.data), c.hex) << "RFC 4231 test case " << c.name;
  }
}

TEST(HmacSha256, RawIsThirtyTwoBytesOfTheHex) {
  const std::string raw = hmac_sha256("Jefe", "what do ya want for nothing?");
  ASSERT_EQ(raw.size(), 32u);
  EXPECT_EQ(static_cast<unsigned char>(raw[0]), 0x5b);
  EXPECT_EQ(static_cast<unsigned char>(raw[31]), 0x43);
}

TEST(HmacSha256, KeysWithNulBytesAreNotCutShort) {
  // A key is bytes, not a C string: "a\0b" and "a" are different keys.
  EXPECT_NE(hmac_sha256_hex(std::string("a\0b", 3), "x"), hmac_sha256_hex("a", "x"));
}

// --- verify_hmac_sha256_hex --------------------------------------------------------------

constexpr const char* kJefeHex = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
constexpr const char* kJefeData = "what do ya want for nothing?";

TEST(VerifyHmacSha256Hex, AcceptsLowerAndUpperCase) {
  EXPECT_TRUE(verify_hmac_sha256_hex("Jefe", kJefeData, kJefeHex));
  std::string upper = kJefeHex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(verify_hmac_sha256_hex("Jefe", kJefeData, upper));
}

TEST(VerifyHmacSha256Hex, RefusesAOneCharacterChangeAnywhere) {
  const std::string good = kJefeHex;
  for (size_t i : {size_t{0}, size_t{31}, size_t{63}}) {
    std::string bad = good;
    bad[i] = bad[i] == '0' ? '1' : '0';
    EXPECT_FALSE(verify_hmac_sha256_hex("Jefe", kJefeData, bad)) << "changed at " << i;
  }
  // The right signature for other data, or under another key.
  EXPECT_FALSE(verify_hmac_sha256_hex("Jefe", "what do ya want for nothing!", good));
  EXPECT_FALSE(verify_hmac_sha256_hex("jefe", kJefeData, good));
}

TEST(VerifyHmacSha256Hex, RefusesWrongLengthsAndEmpty) {
  const std::string good = kJefeHex;
  EXPECT_FALSE(verify_hmac_sha256_hex("Jefe", kJefeData, good.substr(0, 63)));
  EXPECT_FALSE(verify_hmac_sha256_hex("Jefe", kJefeData, good.substr(0, 32)));
  EXPECT_FALSE(verify_hmac_sha256_hex("Jefe", kJefeData, good + "0"));
  EXPECT_FALSE(verify_hmac_sha256_hex("Jefe", kJefeData, ""));
  // Not hex at all, at the right length.
  EXPECT_FALSE(verify_hmac_sha256_hex("Jefe", kJefeData, std::string(64, 'z')));
}

// --- base64url ------------------------------------------------------------------------------

TEST(Base64Url, EncodesRfc4648VectorsWithoutPadding) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(base64url_encode("fooba"), "Zm9vYmE");
  EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64Url, UsesTheUrlAlphabet) {
  // 0xfb 0xff encodes to "+/8" in standard base64; base64url spells it "-_8".
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_decode("-_8"), std::optional<std::string>("\xfb\xff"));
}

TEST(Base64Url, RoundTripsEveryLengthFromZeroToTen) {
  for (size_t n = 0; n <= 10; ++n) {
    std::string bytes;
    for (size_t i = 0; i < n; ++i) bytes += static_cast<char>(0xf0 + i * 37);  // high bits too
    const std::string text = base64url_encode(bytes);
    EXPECT_EQ(text.size(), (n * 4 + 2) / 3) << "length " << n;  // no padding
    EXPECT_EQ(text.find('='), std::string::npos);
    const auto back = base64url_decode(text);
    ASSERT_TRUE(back.has_value()) << "length " << n;
    EXPECT_EQ(*back, bytes) << "length " << n;
  }
}

TEST(Base64Url, DecodeAcceptsPadding) {
  EXPECT_EQ(base64url_decode("Zg=="), std::optional<std::string>("f"));
  EXPECT_EQ(base64url_decode("Zm8="), std::optional<std::string>("fo"));
}

TEST(Base64Url, DecodeRefusesTheStandardAlphabetAndStrayCharacters) {
  EXPECT_EQ(base64url_decode("+_8"), std::nullopt);
  EXPECT_EQ(base64url_decode("-/8"), std::nullopt);
  EXPECT_EQ(base64url_decode("Zm 9v"), std::nullopt);
  EXPECT_EQ(base64url_decode("Zm9v\n"), std::nullopt);
  EXPECT_EQ(base64url_decode("Z=g"), std::nullopt);  // padding only at the end
}

TEST(Base64Url, DecodeRefusesALengthNoEncodingHas) {
  // 4n+1 characters carry 6 bits past a whole byte: nothing encodes to that.
  EXPECT_EQ(base64url_decode("Z"), std::nullopt);
  EXPECT_EQ(base64url_decode("Zm9vY"), std::nullopt);
  EXPECT_EQ(base64url_decode("Zm9vY==="), std::nullopt);
}

// --- jwt_hs256_problem --------------------------------------------------------------------

constexpr const char* kSecret = "evolution-jwt-secret";
const Timestamp kNow{seconds{1767225600}};

std::string seconds_of(Timestamp t) {
  return std::to_string(std::chrono::duration_cast<seconds>(t.time_since_epoch()).count());
}

// header.payload.signature, signed with HMAC-SHA256 under `secret`.
std::string sign_jwt(const std::string& header_json, const std::string& payload_json,
                     const std::string& secret = kSecret) {
  const std::string signing_input =
      base64url_encode(header_json) + "." + base64url_encode(payload_json);
  return signing_input + "." + base64url_encode(hmac_sha256(secret, signing_input));
}

const std::string kHeader = R"({"alg":"HS256","typ":"JWT"})";

// What Evolution sends: iat now, exp ten minutes on.
std::string evolution_payload(Timestamp iat, Timestamp exp) {
  return R"({"iat":)" + seconds_of(iat) + R"(,"exp":)" + seconds_of(exp) +
         R"(,"app":"evolution","action":"webhook"})";
}

std::string valid_token() {
  return sign_jwt(kHeader, evolution_payload(kNow, kNow + seconds{600}));
}

TEST(JwtHs256, ValidEvolutionTokenPasses) {
  EXPECT_EQ(jwt_hs256_problem(valid_token(), kSecret, kNow), std::nullopt);
  // Still valid near its end, and within the leeway after it.
  EXPECT_EQ(jwt_hs256_problem(valid_token(), kSecret, kNow + seconds{599}), std::nullopt);
  EXPECT_EQ(jwt_hs256_problem(valid_token(), kSecret, kNow + seconds{630}), std::nullopt);
}

TEST(JwtHs256, ExpiredTokenFails) {
  const auto problem = jwt_hs256_problem(valid_token(), kSecret, kNow + seconds{600 + 61});
  ASSERT_TRUE(problem.has_value());
  EXPECT_NE(problem->find("expired"), std::string::npos) << *problem;
  // With no leeway, one second past exp is enough.
  EXPECT_TRUE(
      jwt_hs256_problem(valid_token(), kSecret, kNow + seconds{601}, Duration{0}).has_value());
}

TEST(JwtHs256, TokenIssuedInTheFutureFails) {
  const std::string token =
      sign_jwt(kHeader, evolution_payload(kNow + seconds{120}, kNow + seconds{720}));
  const auto problem = jwt_hs256_problem(token, kSecret, kNow);
  ASSERT_TRUE(problem.has_value());
  EXPECT_NE(problem->find("future"), std::string::npos) << *problem;
  // A clock a little behind the sender's is forgiven.
  const std::string close =
      sign_jwt(kHeader, evolution_payload(kNow + seconds{30}, kNow + seconds{630}));
  EXPECT_EQ(jwt_hs256_problem(close, kSecret, kNow), std::nullopt);
}

TEST(JwtHs256, AlgNoneFails) {
  const std::string payload = evolution_payload(kNow, kNow + seconds{600});
  const std::string unsigned_token =
      base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + base64url_encode(payload) + ".";
  auto problem = jwt_hs256_problem(unsigned_token, kSecret, kNow);
  ASSERT_TRUE(problem.has_value());
  EXPECT_NE(problem->find("HS256"), std::string::npos) << *problem;
  // Even signed correctly, a header that does not say HS256 is refused.
  problem = jwt_hs256_problem(sign_jwt(R"({"alg":"none"})", payload), kSecret, kNow);
  EXPECT_TRUE(problem.has_value());
  problem = jwt_hs256_problem(sign_jwt(R"({"typ":"JWT"})", payload), kSecret, kNow);
  EXPECT_TRUE(problem.has_value());
}

TEST(JwtHs256, WrongSecretFails) {
  const auto problem = jwt_hs256_problem(valid_token(), "another-secret", kNow);
  ASSERT_TRUE(problem.has_value());
  EXPECT_NE(problem->find("signature"), std::string::npos) << *problem;
}

TEST(JwtHs256, TamperedPayloadFails) {
  const std::string token = valid_token();
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  // The same signature over a payload that claims a later expiry.
  const std::string forged = token.substr(0, first + 1) +
                             base64url_encode(evolution_payload(kNow, kNow + seconds{86400})) +
                             token.substr(second);
  const auto problem = jwt_hs256_problem(forged, kSecret, kNow);
  ASSERT_TRUE(problem.has_value());
  EXPECT_NE(problem->find("signature"), std::string::npos) << *problem;
}

TEST(JwtHs256, NotThreePartsFails) {
  const std::string token = valid_token();
  const auto last_dot = token.rfind('.');
  for (const std::string& bad : {std::string(), std::string("abc"), token.substr(0, last_dot),
                                 token + ".extra", std::string("..")}) {
    const auto problem = jwt_hs256_problem(bad, kSecret, kNow);
    EXPECT_TRUE(problem.has_value()) << "'" << bad << "'";
  }
  const auto problem = jwt_hs256_problem(token.substr(0, last_dot), kSecret, kNow);
  ASSERT_TRUE(problem.has_value());
  EXPECT_NE(problem->find("not a JWT"), std::string::npos) << *problem;
}

TEST(JwtHs256, PartsThatAreNotBase64UrlFail) {
  std::string token = valid_token();
  token[1] = '+';
  const auto problem = jwt_hs256_problem(token, kSecret, kNow);
  ASSERT_TRUE(problem.has_value());
  EXPECT_NE(problem->find("base64url"), std::string::npos) << *problem;
}

TEST(JwtHs256, NonIntegerExpFails) {
  for (const char* exp : {R"("1767226200")", "1767226200.5", "null", "true"}) {
    const std::string payload = R"({"iat":)" + seconds_of(kNow) + R"(,"exp":)" + exp + "}";
    const auto problem = jwt_hs256_problem(sign_jwt(kHeader, payload), kSecret, kNow);
    ASSERT_TRUE(problem.has_value()) << "exp " << exp;
    EXPECT_NE(problem->find("exp"), std::string::npos) << *problem;
  }
}

TEST(JwtHs256, PayloadThatIsNotAnObjectFails) {
  const auto problem = jwt_hs256_problem(sign_jwt(kHeader, "[1,2]"), kSecret, kNow);
  ASSERT_TRUE(problem.has_value());
  EXPECT_NE(problem->find("payload"), std::string::npos) << *problem;
}

TEST(JwtHs256, HugeOrNegativeTimesDoNotOverflow) {
  // exp far past any clock: valid, not wrapped round into the past.
  std::string token = sign_jwt(kHeader, R"({"exp":9223372036854775807})");
  EXPECT_EQ(jwt_hs256_problem(token, kSecret, kNow), std::nullopt);
  // exp before the epoch: expired.
  token = sign_jwt(kHeader, R"({"exp":-5})");
  EXPECT_TRUE(jwt_hs256_problem(token, kSecret, kNow).has_value());
}

}  // namespace
}  // namespace recado
