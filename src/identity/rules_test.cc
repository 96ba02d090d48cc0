#include "identity/rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cdp::identity {
namespace {

using ::testing::HasSubstr;

TEST(RulesTest, DefaultsBlockSegmentsPlaceholderValues) {
  auto rules = CompiledRules::compile(IdentityRules::defaults());
  ASSERT_TRUE(rules.has_value());
  for (const char* value :
       {"0", "000", "0-0-0", "-1", "null", "NULL", "anonymous", "undefined", "None"}) {
    EXPECT_TRUE((*rules)->is_blocked("user_id", value)) << value;
    EXPECT_TRUE((*rules)->is_blocked("anonymous_id", value)) << value;
  }
  for (const char* value : {"42", "jane@x.org", "10", "-12", "nullable"}) {
    EXPECT_FALSE((*rules)->is_blocked("user_id", value)) << value;
  }
}

TEST(RulesTest, DefaultLimitsAndPriority) {
  auto rules = *CompiledRules::compile(IdentityRules::defaults());
  EXPECT_EQ(rules->rule("user_id").limit, 1u);
  EXPECT_EQ(rules->rule("email").limit, 5u);
  EXPECT_EQ(rules->rule("anything").limit, 5u);
  EXPECT_TRUE(rules->before({"user_id", "z"}, {"email", "a"}));
  EXPECT_TRUE(rules->before({"email", "z"}, {"anonymous_id", "a"}));
  EXPECT_TRUE(rules->before({"anonymous_id", "a"}, {"device_id", "a"}))
      << "the rest alphabetically";
}

TEST(RulesTest, PerTypeOverridesHaveTheirOwnBlocklist) {
  auto config = IdentityRules::defaults();
  TypeRule email;
  email.limit = 2;
  email.blocked_values = {"test@example.com"};
  email.blocked_patterns = {".*@mailinator\\.com"};
  config.types["email"] = email;
  auto rules = *CompiledRules::compile(config);
  EXPECT_TRUE(rules->is_blocked("email", "test@example.com"));
  EXPECT_TRUE(rules->is_blocked("email", "x@mailinator.com"));
  EXPECT_FALSE(rules->is_blocked("email", "null")) << "an override replaces the default list";
  EXPECT_TRUE(rules->is_blocked("user_id", "null"));
}

TEST(RulesTest, BadPatternsAndZeroLimitsAreRefusedWithTheValue) {
  auto config = IdentityRules::defaults();
  config.types["email"].blocked_patterns = {"(unclosed"};
  auto rules = CompiledRules::compile(config);
  ASSERT_FALSE(rules.has_value());
  EXPECT_THAT(rules.status().message(), HasSubstr("(unclosed"));

  config = IdentityRules::defaults();
  config.types["phone"].limit = 0;
  rules = CompiledRules::compile(config);
  ASSERT_FALSE(rules.has_value());
  EXPECT_THAT(rules.status().message(), HasSubstr("phone"));
}

TEST(RulesTest, FingerprintChangesWithTheRules) {
  auto a = *CompiledRules::compile(IdentityRules::defaults());
  auto config = IdentityRules::defaults();
  config.types["email"].limit = 1;
  auto b = *CompiledRules::compile(config);
  EXPECT_NE(a->fingerprint(), b->fingerprint());
  EXPECT_EQ(a->fingerprint(), (*CompiledRules::compile(IdentityRules::defaults()))->fingerprint());
}

}  // namespace
}  // namespace cdp::identity
