#include "common/base64.h"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>

namespace cdp {
namespace {

TEST(Base64Test, EncodesRfc4648TestVectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64Test, DecodesRfc4648TestVectors) {
  EXPECT_EQ(base64_decode(""), "");
  EXPECT_EQ(base64_decode("Zg=="), "f");
  EXPECT_EQ(base64_decode("Zm8="), "fo");
  EXPECT_EQ(base64_decode("Zm9v"), "foo");
  EXPECT_EQ(base64_decode("Zm9vYg=="), "foob");
  EXPECT_EQ(base64_decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(base64_decode("Zm9vYmFy"), "foobar");
}

TEST(Base64Test, PaddingIsOptionalWhenDecoding) {
  EXPECT_EQ(base64_decode("Zg"), "f");
  EXPECT_EQ(base64_decode("Zm8"), "fo");
  EXPECT_EQ(base64_decode("Zm9vYg"), "foob");
}

TEST(Base64Test, DecodesBasicAuthWriteKey) {
  // What a Segment SDK sends: base64("<writeKey>:").
  EXPECT_EQ(base64_decode("d2tfMTIzOg=="), "wk_123:");
}

TEST(Base64Test, UsesTheStandardAlphabetWithPlusAndSlash) {
  EXPECT_EQ(base64_encode("\xfb\xff\xbf"), "+/+/");
  EXPECT_EQ(base64_decode("+/+/"), "\xfb\xff\xbf");
}

TEST(Base64Test, RoundTripsArbitraryBytesOfEveryLength) {
  std::mt19937 random(42);
  for (size_t length = 0; length < 200; ++length) {
    std::string bytes(length, '\0');
    for (auto& byte : bytes) byte = static_cast<char>(random() & 0xFF);
    const std::string encoded = base64_encode(bytes);
    EXPECT_EQ(encoded.size(), (length + 2) / 3 * 4);
    EXPECT_EQ(base64_decode(encoded), bytes) << "length " << length;
  }
}

TEST(Base64Test, RejectsCharactersOutsideTheAlphabet) {
  const char* invalid[] = {"Zm9v!", "Zm 9v", "Zm9v\n", "Zm-9",
                           "Zm_9",  "Z=m9",  "=Zm9",   "Zm9\xc3\xa9"};
  for (const char* text : invalid) {
    EXPECT_EQ(base64_decode(text), std::nullopt) << text;
  }
  EXPECT_EQ(base64_decode(std::string("Zm\0v", 4)), std::nullopt);
}

}  // namespace
}  // namespace cdp
