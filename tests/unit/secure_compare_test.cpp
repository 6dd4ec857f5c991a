// secure_equals: equality of secrets (the constant-time part is not observable here).
#include "src/secure_compare.hpp"

#include <gtest/gtest.h>

#include <string>

namespace recado {
namespace {

TEST(SecureEquals, EqualStrings) {
  EXPECT_TRUE(secure_equals("", ""));
  EXPECT_TRUE(secure_equals("test-token", "test-token"));
  EXPECT_TRUE(secure_equals(std::string(4096, 'x'), std::string(4096, 'x')));
}

TEST(SecureEquals, DifferenceAnywhere) {
  EXPECT_FALSE(secure_equals("test-token", "Test-token"));
  EXPECT_FALSE(secure_equals("test-token", "test-tokeN"));
  EXPECT_FALSE(secure_equals("test-token", "test_token"));
  EXPECT_FALSE(secure_equals("\xff\xfe", "\xff\xff"));
  EXPECT_TRUE(secure_equals("ação", "ação"));
}

TEST(SecureEquals, PrefixIsNotEnough) {
  EXPECT_FALSE(secure_equals("test", "test-token"));
  EXPECT_FALSE(secure_equals("test-token", "test"));
  EXPECT_FALSE(secure_equals("", "t"));
  EXPECT_FALSE(secure_equals("t", ""));
}

TEST(SecureEquals, TrailingNulBytesCount) {
  // Shorter strings are padded with zero bytes internally; the length must still differ.
  EXPECT_FALSE(secure_equals("abc", std::string_view("abc\0", 4)));
  EXPECT_FALSE(secure_equals(std::string_view("\0", 1), ""));
}

}  // namespace
}  // namespace recado
