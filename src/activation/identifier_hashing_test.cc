#include "activation/identifier_hashing.h"

#include <gtest/gtest.h>

namespace cdp::activation {
namespace {

// Golden vectors: printf '%s' VALUE | sha256sum
constexpr const char* kTestExample =
    "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b";
constexpr const char* kJohnDotDoeGmail =
    "375320dd9ae7ed408002f3768e16cb5f28c861062fd50dff9a3bff62e9dce4ef";  // john.doe@gmail.com
constexpr const char* kJohnDoeGmail =
    "06a240d11cc201676da976f7b49341181fd180da37cbe40a77432c0a366c80c3";  // johndoe@gmail.com
constexpr const char* kPlusPhone =
    "8a59780bb8cd2ba022bfa5ba2ea3b6e07af17a7d8b30c1f9b3390e36f69019e4";  // +15551234567
constexpr const char* kDigitsPhone =
    "d6736136ea896c1bfdc553e0e86e702c70d060d805696ca3e4e9e0961353860a";  // 15551234567

TEST(IdentifierHashingTest, EmailsPerPlatform) {
  EXPECT_EQ(write_email("  Test@Example.com ", HashRule::kSha256), kTestExample);
  EXPECT_EQ(write_email("test@example.com", HashRule::kGoogle), kTestExample);
  EXPECT_EQ(write_email("test@example.com", HashRule::kMeta), kTestExample);
  EXPECT_EQ(write_email(" te st@EXAMPLE.com", HashRule::kMeta), kTestExample)
      << "Meta: every whitespace goes";
  EXPECT_EQ(write_email("Test@Example.com", HashRule::kNone), "test@example.com");
  // Google: dots before the @ of gmail.com and googlemail.com addresses go, nowhere else.
  EXPECT_EQ(write_email("John.Doe@gmail.com", HashRule::kGoogle), kJohnDoeGmail);
  EXPECT_EQ(write_email("john.doe@gmail.com", HashRule::kSha256), kJohnDotDoeGmail);
  EXPECT_EQ(write_email("john.doe@gmail.com", HashRule::kMeta), kJohnDotDoeGmail);
  EXPECT_EQ(write_email("j.ohndoe@googlemail.com", HashRule::kGoogle),
            sha256_hex("johndoe@googlemail.com"));
  EXPECT_EQ(write_email("john.doe@example.com", HashRule::kGoogle),
            sha256_hex("john.doe@example.com"));
  EXPECT_EQ(write_email("  ", HashRule::kSha256), std::nullopt);
}

TEST(IdentifierHashingTest, PhonesPerPlatform) {
  EXPECT_EQ(write_phone("+15551234567", HashRule::kSha256), kPlusPhone);
  EXPECT_EQ(write_phone("+15551234567", HashRule::kGoogle), kPlusPhone) << "E.164";
  EXPECT_EQ(write_phone("+15551234567", HashRule::kMeta), kDigitsPhone) << "digits only";
  EXPECT_EQ(write_phone("+1 (555) 123-4567", HashRule::kMeta), kDigitsPhone);
  EXPECT_EQ(write_phone("+15551234567", HashRule::kNone), "+15551234567");
  EXPECT_EQ(write_phone("n/a", HashRule::kSha256), std::nullopt);
}

TEST(IdentifierHashingTest, HashedValuesAreNotHashedAgain) {
  const std::string upper = "973DFE463EC85785F5F95AF5BA3906EEDB2D931C24E69824A89EA65DBA4E813B";
  EXPECT_EQ(write_email(upper, HashRule::kGoogle), kTestExample);
  EXPECT_EQ(write_email(kTestExample, HashRule::kMeta), kTestExample);
  EXPECT_EQ(write_phone(kPlusPhone, HashRule::kMeta), kPlusPhone);
  EXPECT_TRUE(is_sha256_hex(kTestExample));
  EXPECT_FALSE(is_sha256_hex("973dfe"));
  EXPECT_FALSE(is_sha256_hex(std::string(64, 'g')));
}

TEST(IdentifierHashingTest, RuleNames) {
  for (const auto rule : {HashRule::kNone, HashRule::kSha256, HashRule::kGoogle, HashRule::kMeta}) {
    EXPECT_EQ(parse_hash_rule(hash_rule_name(rule)), rule);
  }
  EXPECT_EQ(parse_hash_rule("md5"), std::nullopt);
}

}  // namespace
}  // namespace cdp::activation
