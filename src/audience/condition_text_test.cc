#include "audience/condition_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cdp::audience {
namespace {

using ::testing::HasSubstr;

Condition parse_ok(std::string_view text) {
  ConditionParser parser;
  auto parsed = parser.parse(text);
  EXPECT_TRUE(parsed) << text << ": " << parsed.status().message();
  return parsed ? *parsed : Condition{};
}

struct Refusal {
  size_t line;
  size_t column;
  std::string message;
};

Refusal parse_error(std::string_view text) {
  ConditionParser parser;
  auto parsed = parser.parse(text);
  EXPECT_FALSE(parsed) << text << " parsed as " << (parsed ? to_text(*parsed) : "");
  return {parser.error_line(), parser.error_column(), parsed.status().message()};
}

TEST(ConditionTextTest, ComparisonOfATrait) {
  const auto c = parse_ok(R"(trait.plan = "pro")");
  EXPECT_EQ(c.kind, Condition::Kind::kCompare);
  EXPECT_EQ(c.operand.scope, Operand::Scope::kTrait);
  EXPECT_EQ(c.operand.path, std::vector<std::string>{"plan"});
  EXPECT_EQ(c.op, CompareOp::kEqual);
  ASSERT_EQ(c.values.size(), 1u);
  EXPECT_EQ(c.values[0], Value::of(std::string("pro")));
}

TEST(ConditionTextTest, AndBindsTighterThanOr) {
  const auto c = parse_ok("trait.a = 1 or trait.b = 2 and trait.c = 3");
  ASSERT_EQ(c.kind, Condition::Kind::kOr);
  ASSERT_EQ(c.children.size(), 2u);
  EXPECT_EQ(c.children[1].kind, Condition::Kind::kAnd);
  EXPECT_EQ(to_text(c), "trait.a = 1 or trait.b = 2 and trait.c = 3");
  const auto grouped = parse_ok("(trait.a = 1 or trait.b = 2) and trait.c = 3");
  EXPECT_EQ(grouped.kind, Condition::Kind::kAnd);
  EXPECT_EQ(to_text(grouped), "(trait.a = 1 or trait.b = 2) and trait.c = 3");
}

TEST(ConditionTextTest, NotAppliesToTheNextCondition) {
  const auto c = parse_ok("not trait.a exists and trait.b exists");
  ASSERT_EQ(c.kind, Condition::Kind::kAnd);
  EXPECT_EQ(c.children[0].kind, Condition::Kind::kNot);
  EXPECT_EQ(to_text(parse_ok("not (trait.a exists and trait.b exists)")),
            "not (trait.a exists and trait.b exists)");
}

TEST(ConditionTextTest, KeywordsAreCaseInsensitiveStringsAreNot) {
  const auto c = parse_ok(R"(TRAIT.Plan = "Pro" AND Performed "Signed Up" In Last 7 Days)");
  EXPECT_EQ(to_text(c), R"(trait.Plan = "Pro" and performed "Signed Up" in last 7 days)");
}

TEST(ConditionTextTest, EveryComparison) {
  for (const std::string text :
       {R"(trait.plan != "free")", "trait.age < 18", "trait.age <= 18", "trait.age > 18",
        "trait.age >= 18.5", R"(trait.name contains "smith")", "trait.email exists",
        "trait.score between 10 and 20", R"(trait.country in ("DE", "FR", null))",
        "trait.signed_up in last 30 days", "computed.orders >= 3", "trait.vip = true",
        "trait.address.city = \"Berlin\"", R"(trait."first name" = "Ann")", "trait.balance = -12.5",
        "trait.big = 1e+21"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(to_text(parse_ok(text)), text);
  }
}

TEST(ConditionTextTest, PerformedWithFilterCountAndWindow) {
  const auto c = parse_ok(
      R"(performed "Product Viewed" where property.price > 100 and property.currency = "EUR" at least 3 times in last 7 days)");
  ASSERT_EQ(c.kind, Condition::Kind::kPerformed);
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.events[0].event, "Product Viewed");
  ASSERT_EQ(c.events[0].filter.size(), 1u);
  EXPECT_EQ(c.events[0].filter[0].kind, Condition::Kind::kAnd);
  EXPECT_EQ(c.count_op, CountOp::kAtLeast);
  EXPECT_EQ(c.count, 3u);
  EXPECT_EQ(c.lookback_ms, 7 * 86'400'000);
  EXPECT_EQ(
      to_text(c),
      R"(performed "Product Viewed" where property.price > 100 and property.currency = "EUR" at least 3 times in last 7 days)");
}

TEST(ConditionTextTest, AndAfterAFilterEndsTheFilterUnlessAPropertyFollows) {
  const auto c = parse_ok(R"(performed "A" where property.x = 1 and trait.plan = "pro")");
  ASSERT_EQ(c.kind, Condition::Kind::kAnd);
  EXPECT_EQ(c.children[0].kind, Condition::Kind::kPerformed);
  EXPECT_EQ(c.children[1].kind, Condition::Kind::kCompare);
  EXPECT_EQ(c.children[0].events[0].filter[0].kind, Condition::Kind::kCompare);
}

TEST(ConditionTextTest, OrInAFilterNeedsParentheses) {
  const auto c = parse_ok(R"(performed "A" where (property.x = 1 or property.y = 2))");
  ASSERT_EQ(c.kind, Condition::Kind::kPerformed);
  EXPECT_EQ(c.events[0].filter[0].kind, Condition::Kind::kOr);
  EXPECT_EQ(to_text(c), R"(performed "A" where (property.x = 1 or property.y = 2))");
}

TEST(ConditionTextTest, CountsAndNegations) {
  EXPECT_EQ(to_text(parse_ok(R"(performed "A" exactly 1 time)")),
            R"(performed "A" exactly 1 time)");
  EXPECT_EQ(to_text(parse_ok(R"(performed "A" at most 2 times in last 24 hours)")),
            R"(performed "A" at most 2 times in last 1 day)");
  EXPECT_EQ(to_text(parse_ok(R"(performed "A" at least 1 times)")), R"(performed "A")");
  EXPECT_EQ(to_text(parse_ok(R"(not performed "Order Completed" in last 14 days)")),
            R"(not performed "Order Completed" in last 14 days)");
}

TEST(ConditionTextTest, Funnel) {
  const auto c = parse_ok(
      R"(performed "Signed Up" then "Viewed Pricing" where property.plan = "pro" then "Order Completed" within 1 day in last 30 days)");
  ASSERT_EQ(c.kind, Condition::Kind::kFunnel);
  ASSERT_EQ(c.events.size(), 3u);
  EXPECT_EQ(c.events[1].filter.size(), 1u);
  EXPECT_EQ(c.span_ms, 86'400'000);
  EXPECT_EQ(c.lookback_ms, 30LL * 86'400'000);
  EXPECT_EQ(to_text(parse_ok(to_text(c))), to_text(c));
}

TEST(ConditionTextTest, Membership) {
  const auto c = parse_ok(R"(in audience "trial users" and not in audience "customers")");
  ASSERT_EQ(c.kind, Condition::Kind::kAnd);
  EXPECT_EQ(c.children[0].kind, Condition::Kind::kMember);
  EXPECT_EQ(c.children[0].name, "trial users");
}

TEST(ConditionTextTest, StringEscapes) {
  const auto c = parse_ok(R"(trait.quote = "say \"hi\"\n\u00e9\ud83d\ude00")");
  EXPECT_EQ(c.values[0].text, "say \"hi\"\n\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(parse_ok(to_text(c)), c);
}

TEST(ConditionTextTest, ErrorsSayWhereAndWhat) {
  auto e = parse_error(R"(trait.plan = )");
  EXPECT_EQ(e.line, 1u);
  EXPECT_EQ(e.column, 14u);
  EXPECT_THAT(e.message, HasSubstr("line 1, column 14: expected a value after '='"));
  EXPECT_THAT(e.message, HasSubstr("the end of the condition"));

  e = parse_error("trait.plan = \"pro\" and\n  trait.age >> 3");
  EXPECT_EQ(e.line, 2u);
  EXPECT_EQ(e.column, 14u);

  e = parse_error(R"(trait.plan == "pro")");
  EXPECT_EQ(e.column, 13u);

  e = parse_error(R"(traits.plan = "pro")");
  EXPECT_EQ(e.column, 1u);
  EXPECT_THAT(e.message, HasSubstr("expected a condition: trait.NAME"));
  EXPECT_THAT(e.message, HasSubstr("found 'traits'"));

  e = parse_error(R"(performed "A" in last 7 parsecs)");
  EXPECT_EQ(e.column, 25u);
  EXPECT_THAT(e.message, HasSubstr("seconds, minutes, hours, days or weeks"));

  e = parse_error(R"(performed "A" then "B")");
  EXPECT_THAT(e.message, HasSubstr("expected 'within'"));

  e = parse_error(R"((trait.a = 1)");
  EXPECT_THAT(e.message, HasSubstr("expected ')'"));

  e = parse_error(R"(trait.name = "unterminated)");
  EXPECT_EQ(e.column, 14u);
  EXPECT_THAT(e.message, HasSubstr("no closing"));

  e = parse_error(R"(property.price > 3)");
  EXPECT_THAT(e.message, HasSubstr("only be used in the where clause"));

  e = parse_error(R"(performed "A" where trait.plan = "pro")");
  EXPECT_THAT(e.message, HasSubstr("found 'trait'"));

  e = parse_error(R"(performed "A" where property.day in last 3 days)");
  EXPECT_THAT(e.message, HasSubstr("where clause cannot use it"));

  e = parse_error(R"(computed.a.b = 1)");
  EXPECT_THAT(e.message, HasSubstr("one name"));

  e = parse_error(R"(trait.a = 1 trait.b = 2)");
  EXPECT_EQ(e.column, 13u);
  EXPECT_THAT(e.message, HasSubstr("expected 'and', 'or' or the end"));

  e = parse_error(R"(performed "A" at least three times)");
  EXPECT_THAT(e.message, HasSubstr("a whole number"));

  e = parse_error(R"(trait.since in last 0 days)");
  EXPECT_THAT(e.message, HasSubstr("more than zero"));

  e = parse_error("\xC3\xA9 = 1");
  EXPECT_EQ(e.column, 1u);

  e = parse_error("trait.x = \"\xC3\xA9\" and \xC3\xA9");
  EXPECT_EQ(e.column, 19u);  // characters, not bytes
}

TEST(ConditionTextTest, DeepNestingIsRefusedNotOverflowed) {
  std::string text(10'000, '(');
  const auto e = parse_error(text);
  EXPECT_THAT(e.message, HasSubstr("nests deeper than"));
  std::string nots;
  for (int i = 0; i < 10'000; ++i) nots += "not ";
  EXPECT_THAT(parse_error(nots + "trait.a exists").message, HasSubstr("nests deeper than"));
}

TEST(ConditionTextTest, Durations) {
  EXPECT_EQ(*parse_duration("90 seconds"), 90'000);
  EXPECT_EQ(*parse_duration("1 hour"), 3'600'000);
  EXPECT_EQ(duration_text(90'000), "90 seconds");
  EXPECT_EQ(duration_text(14 * 86'400'000LL), "14 days");
  EXPECT_EQ(*parse_duration("2 weeks"), 14 * 86'400'000LL);
  EXPECT_EQ(duration_text(60'000), "1 minute");
  EXPECT_FALSE(parse_duration("7"));
  EXPECT_FALSE(parse_duration("7 days or trait.x exists"));
  EXPECT_FALSE(parse_duration("-1 days"));
}

}  // namespace
}  // namespace cdp::audience
