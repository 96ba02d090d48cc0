#include "audience/aggregate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "audience/condition_text.h"
#include "audience/internal/test_events.h"

namespace cdp::audience {
namespace {

using testing::brute_force_value;
using testing::close;
using testing::kDay;
using testing::random_event;
using testing::TestEvent;

AggregateState add_all(const Aggregate& aggregate, const std::vector<TestEvent>& events) {
  AggregateState state;
  for (const auto& event : events) {
    const auto* properties = event.parsed();
    if (aggregate.matches(event.name, properties)) {
      aggregate.add(state, event.time_ms, event.seq, properties);
    }
  }
  return state;
}

std::vector<Condition> filter(std::string_view text) {
  ConditionParser parser;
  auto parsed = parser.parse(R"(performed "X" where )" + std::string(text));
  EXPECT_TRUE(parsed) << parsed.status().message();
  return parsed->events[0].filter;
}

const std::vector<TestEvent> kOrders = {
    {"Order", 1 * kDay, 1, R"({"total":10,"sku":"a"})"},
    {"Order", 2 * kDay, 2, R"({"total":"30","sku":"b"})"},
    {"Order", 3 * kDay, 3, R"({"total":20,"sku":"a"})"},
    {"View", 4 * kDay, 4, R"({"total":999,"sku":"z"})"},
    {"Order", 5 * kDay, 5, R"({"sku":"c"})"},
};

std::optional<Value> compute(AggregateKind kind, std::vector<std::string> property,
                             int64_t window_ms = 0, int64_t now_ms = 10 * kDay) {
  Aggregate aggregate(AggregateSpec{kind, "Order", {}, std::move(property), window_ms});
  return aggregate.value(add_all(aggregate, kOrders), now_ms);
}

TEST(AggregateTest, EachKindOverAKnownHistory) {
  EXPECT_EQ(compute(AggregateKind::kCount, {}), Value::of(4.0));
  EXPECT_EQ(compute(AggregateKind::kSum, {"total"}), Value::of(60.0));
  EXPECT_EQ(compute(AggregateKind::kAverage, {"total"}), Value::of(20.0));
  EXPECT_EQ(compute(AggregateKind::kMin, {"total"}), Value::of(10.0));
  EXPECT_EQ(compute(AggregateKind::kMax, {"total"}), Value::of(30.0));
  EXPECT_EQ(compute(AggregateKind::kMostFrequent, {"sku"}), Value::of(std::string("a")));
  EXPECT_EQ(compute(AggregateKind::kFirst, {"sku"}), Value::of(std::string("a")));
  EXPECT_EQ(compute(AggregateKind::kLast, {"sku"}), Value::of(std::string("c")));
  EXPECT_EQ(compute(AggregateKind::kLast, {"total"}), Value::of(20.0));
  EXPECT_EQ(compute(AggregateKind::kUniqueList, {"sku"}),
            Value::array({Value::of(std::string("a")), Value::of(std::string("b")),
                          Value::of(std::string("c"))}));
  EXPECT_EQ(compute(AggregateKind::kUniqueCount, {"sku"}), Value::of(3.0));
}

TEST(AggregateTest, NoEventsGiveZeroOrNothing) {
  Aggregate count(AggregateSpec{AggregateKind::kCount, "Order", {}, {}, 0});
  EXPECT_EQ(count.value({}, 0), Value::of(0.0));
  Aggregate average(AggregateSpec{AggregateKind::kAverage, "Order", {}, {"total"}, 0});
  EXPECT_EQ(average.value({}, 0), std::nullopt);
  Aggregate unique(AggregateSpec{AggregateKind::kUniqueList, "Order", {}, {"sku"}, 0});
  EXPECT_EQ(unique.value({}, 0), Value::array({}));
}

TEST(AggregateTest, FiltersSelectEvents) {
  Aggregate aggregate(
      AggregateSpec{AggregateKind::kSum, "Order", filter(R"(property.sku = "a")"), {"total"}, 0});
  EXPECT_EQ(aggregate.value(add_all(aggregate, kOrders), 10 * kDay), Value::of(30.0));
  Aggregate any_event(AggregateSpec{AggregateKind::kCount, "", {}, {}, 0});
  EXPECT_EQ(any_event.value(add_all(any_event, kOrders), 10 * kDay), Value::of(5.0));
}

TEST(AggregateTest, WindowedValuesChangeWhenTimePasses) {
  // Last 2 days at a resolution of 168 s: an order counts until the end of its 168 s step plus
  // two days.
  Aggregate aggregate(AggregateSpec{AggregateKind::kCount, "Order", {}, {}, 2 * kDay});
  ASSERT_EQ(aggregate.resolution_ms(), 168'000);
  const auto leaves = [](int64_t t) { return t / 168'000 * 168'000 + 168'000 + 2 * kDay; };
  auto state = add_all(aggregate, kOrders);
  EXPECT_EQ(aggregate.value(state, 5 * kDay), Value::of(2.0));  // days 3 and 5
  EXPECT_EQ(aggregate.next_expiry_ms(state), leaves(1 * kDay));
  // Days 1, 2, 3 and 5 (an event after "now" counts: clocks differ).
  EXPECT_EQ(aggregate.value(state, leaves(1 * kDay) - 1), Value::of(4.0));
  EXPECT_EQ(aggregate.value(state, leaves(1 * kDay)), Value::of(3.0));
  EXPECT_EQ(aggregate.value(state, leaves(3 * kDay)), Value::of(1.0));
  EXPECT_EQ(aggregate.value(state, leaves(5 * kDay)), Value::of(0.0));

  aggregate.expire(state, leaves(3 * kDay));
  EXPECT_EQ(state.buckets.size(), 1u);
  EXPECT_EQ(aggregate.next_expiry_ms(state), leaves(5 * kDay));
  aggregate.expire(state, leaves(5 * kDay));
  EXPECT_TRUE(state.empty());
  EXPECT_EQ(aggregate.next_expiry_ms(state), std::nullopt);
}

TEST(AggregateTest, UniqueValuesAreCappedToTheSmallest) {
  Aggregate aggregate(AggregateSpec{AggregateKind::kUniqueCount, "", {}, {"n"}, 0});
  AggregateState state;
  ingest::JsonParser parser;
  for (int i = 2000; i > 0; --i) {
    auto root = parser.parse(R"({"n":")" + std::to_string(10000 + i) + R"("})");
    aggregate.add(state, i, static_cast<uint64_t>(i), *root);
  }
  EXPECT_EQ(aggregate.value(state, 0), Value::of(1000.0));
  ASSERT_EQ(state.buckets.size(), 1u);
  EXPECT_EQ(state.buckets[0].values.begin()->first, "\"10001\"");
  EXPECT_EQ(state.buckets[0].values.rbegin()->first, "\"11000\"");
}

// The incremental value equals a brute-force one over random histories, specs and times, and
// the state does not depend on the order events arrive in or on how it was split by merges.
TEST(AggregateTest, MatchesBruteForceInAnyOrderAndAfterMerges) {
  std::mt19937 random(7);
  const std::vector<std::vector<Condition>> filters = {
      {}, filter("property.price > 20"), filter(R"(property.sku in ("s1", "s2"))")};
  for (int round = 0; round < 300; ++round) {
    AggregateSpec spec;
    spec.kind = static_cast<AggregateKind>(random() % 10);
    spec.event = random() % 4 == 0 ? "" : std::string(1, static_cast<char>('A' + random() % 3));
    spec.filter = filters[random() % filters.size()];
    spec.property = {random() % 2 == 0 ? "price" : "sku"};
    const int64_t windows[] = {0, 3'600'000, kDay, 7 * kDay};
    spec.window_ms = windows[random() % 4];
    Aggregate aggregate(spec);

    std::vector<TestEvent> events;
    const int n = static_cast<int>(random() % 40);
    for (int i = 0; i < n; ++i) {
      events.push_back(random_event(random, static_cast<uint64_t>(i + 1),
                                    static_cast<int64_t>(random() % (10 * kDay))));
    }
    auto shuffled = events;
    std::shuffle(shuffled.begin(), shuffled.end(), random);
    const auto state = add_all(aggregate, events);
    const size_t cut = shuffled.empty() ? 0 : random() % shuffled.size();
    auto left = add_all(aggregate, {shuffled.begin(), shuffled.begin() + cut});
    aggregate.merge(left, add_all(aggregate, {shuffled.begin() + cut, shuffled.end()}));

    for (int64_t now : {int64_t{0}, 5 * kDay, 10 * kDay, 10 * kDay + 3'600'000, 12 * kDay,
                        20 * kDay, static_cast<int64_t>(random() % (20 * kDay))}) {
      SCOPED_TRACE("round " + std::to_string(round) + " kind " +
                   std::string(aggregate_kind_name(spec.kind)) + " window " +
                   std::to_string(spec.window_ms) + " now " + std::to_string(now));
      const auto expected = brute_force_value(spec, events, now);
      EXPECT_TRUE(close(aggregate.value(state, now), expected));
      EXPECT_TRUE(close(aggregate.value(left, now), expected));
      auto expired = state;
      aggregate.expire(expired, now);
      EXPECT_TRUE(close(aggregate.value(expired, now), expected));
    }
  }
}

TEST(AggregateTest, SumsSaturateInsteadOfOverflowing) {
  Aggregate aggregate(AggregateSpec{AggregateKind::kSum, "", {}, {"n"}, 0});
  ingest::JsonParser parser;
  AggregateState state;
  aggregate.add(state, 1, 1, *parser.parse(R"({"n":1e308})"));
  aggregate.add(state, 2, 2, *parser.parse(R"({"n":1e308})"));
  AggregateState other;
  aggregate.add(other, 3, 3, *parser.parse(R"({"n":-1e308})"));
  aggregate.add(other, 4, 4, *parser.parse(R"({"n":-1e308})"));
  aggregate.add(other, 5, 5, *parser.parse(R"({"n":-1e308})"));
  EXPECT_EQ(aggregate.value(state, 0), Value::of(std::numeric_limits<double>::max()));
  aggregate.merge(state, other);
  const auto value = aggregate.value(state, 0);
  ASSERT_TRUE(value);
  EXPECT_TRUE(std::isfinite(value->number));
}

TEST(AggregateTest, KindNames) {
  for (int i = 0; i < 10; ++i) {
    const auto kind = static_cast<AggregateKind>(i);
    EXPECT_EQ(parse_aggregate_kind(aggregate_kind_name(kind)), kind);
  }
  EXPECT_EQ(parse_aggregate_kind("median"), std::nullopt);
}

}  // namespace
}  // namespace cdp::audience
