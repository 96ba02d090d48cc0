#include "audience/funnel.h"

#include <gtest/gtest.h>

#include "audience/condition_text.h"
#include "audience/internal/test_events.h"

namespace cdp::audience {
namespace {

using testing::kDay;
using testing::TestEvent;

constexpr int64_t kHour = 3'600'000;

Funnel funnel(std::string_view text) {
  ConditionParser parser;
  auto parsed = parser.parse(text);
  EXPECT_TRUE(parsed) << parsed.status().message();
  return Funnel(*parsed);
}

FunnelState run(const Funnel& f, const std::vector<TestEvent>& events) {
  FunnelState state;
  for (const auto& event : events) {
    f.add(state, event.name, event.parsed(), event.time_ms, event.seq);
  }
  return state;
}

TEST(FunnelTest, StepsInOrderWithinTheSpanComplete) {
  const auto f = funnel(R"(performed "A" then "B" within 1 hour)");
  EXPECT_TRUE(f.completed(run(f, {{"A", 0, 1, "{}"}, {"B", kHour, 2, "{}"}}), 2 * kHour));
  EXPECT_FALSE(f.completed(run(f, {{"A", 0, 1, "{}"}, {"B", kHour + 1, 2, "{}"}}), 2 * kHour));
  EXPECT_FALSE(f.completed(run(f, {{"B", 0, 1, "{}"}, {"A", 10, 2, "{}"}}), 2 * kHour));
  // A later A makes the pair fit.
  EXPECT_TRUE(f.completed(
      run(f, {{"A", 0, 1, "{}"}, {"A", 2 * kHour, 2, "{}"}, {"B", 2 * kHour + 5, 3, "{}"}}),
      3 * kHour));
}

TEST(FunnelTest, EventTimeOrdersStepsNotArrival) {
  const auto f = funnel(R"(performed "A" then "B" within 1 hour)");
  // B arrives first but happened after A.
  EXPECT_TRUE(f.completed(run(f, {{"B", 100, 1, "{}"}, {"A", 50, 2, "{}"}}), kHour));
}

TEST(FunnelTest, TheSameEventCannotBeTwoSteps) {
  const auto f = funnel(R"(performed "A" then "A" within 1 hour)");
  EXPECT_FALSE(f.completed(run(f, {{"A", 0, 1, "{}"}}), kHour));
  EXPECT_TRUE(f.completed(run(f, {{"A", 0, 1, "{}"}, {"A", 0, 2, "{}"}}), kHour));
}

TEST(FunnelTest, StepFiltersApply) {
  const auto f = funnel(R"(performed "A" where property.plan = "pro" then "B" within 1 day)");
  EXPECT_FALSE(f.completed(run(f, {{"A", 0, 1, R"({"plan":"free"})"}, {"B", 1, 2, "{}"}}), kDay));
  EXPECT_TRUE(f.completed(run(f, {{"A", 0, 1, R"({"plan":"pro"})"}, {"B", 1, 2, "{}"}}), kDay));
}

TEST(FunnelTest, LookbackExpires) {
  const auto f = funnel(R"(performed "A" then "B" then "C" within 1 day in last 7 days)");
  const auto state = run(f, {{"A", 0, 1, "{}"}, {"B", kHour, 2, "{}"}, {"C", 2 * kHour, 3, "{}"}});
  EXPECT_TRUE(f.completed(state, 7 * kDay + 2 * kHour));
  EXPECT_EQ(f.next_expiry_ms(state), 7 * kDay + 2 * kHour + 1);
  EXPECT_FALSE(f.completed(state, 7 * kDay + 2 * kHour + 1));
}

TEST(FunnelTest, CompletedWithoutLookbackKeepsNoOccurrences) {
  const auto f = funnel(R"(performed "A" then "B" within 1 day)");
  const auto state = run(f, {{"A", 0, 1, "{}"}, {"B", 1, 2, "{}"}, {"A", 5, 3, "{}"}});
  EXPECT_TRUE(state.completed);
  for (const auto& step : state.steps) EXPECT_TRUE(step.empty());
  EXPECT_EQ(f.next_expiry_ms(state), std::nullopt);
}

TEST(FunnelTest, MergedProfilesCompleteTogether) {
  const auto f = funnel(R"(performed "A" then "B" within 1 hour)");
  auto left = run(f, {{"A", 0, 1, "{}"}});
  const auto right = run(f, {{"B", 10, 2, "{}"}});
  EXPECT_FALSE(f.completed(left, 20));
  f.merge(left, right);
  EXPECT_TRUE(f.completed(left, 20));
}

TEST(FunnelTest, OldOccurrencesAreDropped) {
  const auto f = funnel(R"(performed "A" then "B" within 1 hour in last 1 day)");
  std::vector<TestEvent> events;
  for (uint64_t i = 0; i < 500; ++i) {
    events.push_back({"A", static_cast<int64_t>(i) * kHour, i + 1, "{}"});
  }
  const auto state = run(f, events);
  EXPECT_LE(state.steps[0].size(), Funnel::kMaxOccurrences);
  EXPECT_GE(state.steps[0].front().first, 499 * kHour - kHour - kDay);
}

}  // namespace
}  // namespace cdp::audience
