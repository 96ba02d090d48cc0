#include "audience/condition_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "audience/condition_text.h"

namespace cdp::audience {
namespace {

using ::testing::HasSubstr;

Result<Condition> from_json(std::string_view json) {
  thread_local ingest::JsonParser parser;
  auto root = parser.parse(json);
  if (!root) return root.status();
  return condition_from_json(**root);
}

Condition from_text(std::string_view text) {
  ConditionParser parser;
  auto parsed = parser.parse(text);
  EXPECT_TRUE(parsed) << parsed.status().message();
  return parsed ? *parsed : Condition{};
}

TEST(ConditionJsonTest, TextAndJsonDescribeTheSameCondition) {
  const auto json =
      R"({"and":[{"trait":"plan","op":"=","value":"pro"},)"
      R"({"performed":"Order Completed","where":{"property":"total","op":">","value":50},)"
      R"("at_least":2,"in_last":"30 days"},{"not":{"in_audience":"churned"}}]})";
  auto parsed = from_json(json);
  ASSERT_TRUE(parsed) << parsed.status().message();
  EXPECT_EQ(*parsed, from_text(R"(trait.plan = "pro" and performed "Order Completed" where )"
                               R"(property.total > 50 at least 2 times in last 30 days and not )"
                               R"(in audience "churned")"));
  EXPECT_EQ(condition_to_json(*parsed), json);
}

TEST(ConditionJsonTest, EveryFormRoundTrips) {
  for (
      const std::string text :
      {R"(trait.country in ("DE", "FR") or trait.score between 1 and 5)",
       "trait.signed_up in last 14 days", "trait.email exists",
       R"(computed.favourite contains "shoe")", R"(trait."a.b".c = 1)",
       R"(performed "A" then "B" where (property.x = 1 or not property.y exists) within 1 hour in last 7 days)",
       R"(performed "A" exactly 0 times)", R"(performed "A" at most 3 times)"}) {
    SCOPED_TRACE(text);
    const auto condition = from_text(text);
    auto back = from_json(condition_to_json(condition));
    ASSERT_TRUE(back) << back.status().message() << " in " << condition_to_json(condition);
    EXPECT_EQ(*back, condition);
    EXPECT_EQ(to_text(*back), text);
  }
}

TEST(ConditionJsonTest, PathsAsArraysOrDottedNames) {
  auto dotted = from_json(R"({"trait":"address.city","op":"=","value":"Berlin"})");
  auto array = from_json(R"({"trait":["address","city"],"op":"=","value":"Berlin"})");
  ASSERT_TRUE(dotted);
  ASSERT_TRUE(array);
  EXPECT_EQ(*dotted, *array);
}

TEST(ConditionJsonTest, ErrorsNameTheMember) {
  struct Case {
    std::string json;
    std::string message;
  };
  for (const auto& [json, message] : std::vector<Case>{
           {R"({"and":[{"trait":"a","op":"=="}]})", "/and/0/op: unknown op '=='"},
           {R"({"and":[]})", "/and: expected a non-empty array"},
           {R"({"trait":"a","op":"=","value":1,"valeu":2})", "/valeu: unknown member"},
           {R"({"trait":"a","op":"between","values":[1]})", "/values: expected an array of two"},
           {R"({"trait":"a","op":"in_last","duration":"7 fortnights"})",
            "/duration: '7 fortnights' is not a duration"},
           {R"({"performed":"A","at_least":-1})", "/at_least: expected a whole number"},
           {R"({"performed":"A","at_least":1,"exactly":2})", "give one of"},
           {R"({"performed":"A","where":{"trait":"x","op":"exists"}})",
            "/where/trait: an event's where clause compares properties"},
           {R"({"property":"x","op":"exists"})", "/property: \"property\" can only be used"},
           {R"({"funnel":[{"event":"A"}],"within":"1 day"})",
            "/funnel: expected an array of at least two"},
           {R"({"funnel":[{"event":"A"},{"event":"B"}]})", "/within: expected a string"},
           {R"({"computed":"a.b","op":"exists"})",
            "/computed: a computed trait is named by one name"},
           {R"({"frobnicate":1})", "/: expected one of and, or, not"},
           {R"([1])", "/: expected a condition"},
       }) {
    SCOPED_TRACE(json);
    auto parsed = from_json(json);
    ASSERT_FALSE(parsed);
    EXPECT_THAT(parsed.status().message(), HasSubstr(message));
  }
}

TEST(ConditionJsonTest, DeepNestingIsRefused) {
  std::string json;
  for (int i = 0; i < 200; ++i) json += R"({"not":)";
  json += R"({"trait":"a","op":"exists"})";
  for (int i = 0; i < 200; ++i) json += "}";
  auto parsed = from_json(json);
  if (parsed) FAIL() << "accepted";
  // The JSON parser's own depth limit (64) or ours: either way a clear refusal.
  EXPECT_FALSE(parsed.status().message().empty());
}

}  // namespace
}  // namespace cdp::audience
