#include "audience/profile_state.h"

#include <gtest/gtest.h>

#include <random>

namespace cdp::audience {
namespace {

// A state with every kind of member and every field of a bucket, with times on both sides of
// each other (the encoding writes differences).
ProfileAudienceState full_state() {
  ProfileAudienceState state;
  AggregateBucket counted;
  counted.start_ms = 1'714'521'600'000;
  counted.count = 3;
  AggregateBucket numbers;
  numbers.start_ms = 0;
  numbers.count = 2;
  numbers.sum = -1.25;
  numbers.min = -3.5;
  numbers.max = 2.25;
  AggregateBucket stamped;
  stamped.start_ms = 1'714'521'601'000;
  stamped.first_ms = 1'714'521'601'500;
  stamped.first_seq = 9'000'000'000;
  stamped.first_json = R"("sku-1")";
  stamped.last_ms = 1'714'521'600'100;  // earlier than first: a negative difference
  stamped.last_seq = 12;
  stamped.last_json = R"({"a":[1,2]})";
  AggregateBucket valued;
  valued.start_ms = -5;
  valued.values = {{R"("x")", 1}, {"2", 1ULL << 40}, {"", 7}};
  state.aggregates["c:0123456789abcdef"].buckets = {counted, stamped};
  state.aggregates["t:ltv"].buckets = {numbers};
  state.aggregates["t:skus"].buckets = {valued};
  state.aggregates["t:empty"] = {};
  FunnelState done;
  done.completed = true;
  done.completed_ms = 1'714'566'600'000;
  done.steps = {{{1'714'560'000'000, 5}}, {{1'714'565'900'000, 6}, {1'714'566'600'000, 7}}};
  FunnelState open;
  open.steps = {{}, {{INT64_MIN, 0}, {INT64_MAX, UINT64_MAX}}};
  state.funnels["f:aa"] = done;
  state.funnels["f:bb"] = open;
  state.audiences["buyers"] = 1'714'566'600'512;
  state.audiences[""] = 0;
  state.audiences["late"] = -1;
  state.next_check_ms = 1'717'159'737'000;
  return state;
}

std::string encoded(const ProfileAudienceState& state) {
  std::string out;
  encode_audience_state(out, state);
  return out;
}

TEST(ProfileStateBinaryTest, RoundTripsEveryMemberAndField) {
  for (const auto& state : {full_state(), ProfileAudienceState{}}) {
    const auto bytes = encoded(state);
    auto back = decode_audience_state(bytes);
    ASSERT_TRUE(back) << back.status().message();
    EXPECT_EQ(*back, state);
  }
}

TEST(ProfileStateBinaryTest, IsSmallerThanTheJson) {
  JsonWriter json;
  write_audience_state(json, full_state());
  EXPECT_LT(encoded(full_state()).size() * 3, json.str().size() * 2)
      << encoded(full_state()).size() << " bytes against " << json.str().size();
}

TEST(ProfileStateBinaryTest, RandomStatesRoundTrip) {
  std::mt19937_64 random(7);
  const auto time = [&] {
    return static_cast<int64_t>(1'700'000'000'000 + random() % 100'000'000'000) *
           (random() % 10 == 0 ? -1 : 1);
  };
  for (int round = 0; round < 300; ++round) {
    ProfileAudienceState state;
    for (auto n = random() % 6; n > 0; --n) {
      auto& aggregate = state.aggregates["c:" + std::to_string(random() % 1000)];
      aggregate.buckets.clear();
      for (auto b = random() % 4; b > 0; --b) {
        AggregateBucket bucket;
        bucket.start_ms = time();
        if (random() % 2) bucket.count = random() % 100'000;
        if (random() % 2) bucket.sum = static_cast<double>(random() % 1000) / 8 - 60;
        if (random() % 3 == 0) {
          bucket.first_ms = time();
          bucket.first_seq = random();
          bucket.first_json = std::to_string(random() % 50);
          bucket.last_ms = time();
          bucket.last_seq = random() % 1000;
          bucket.last_json = "\"v\"";
        }
        for (auto v = random() % 3; v > 0; --v) bucket.values[std::to_string(random())] = random();
        aggregate.buckets.push_back(bucket);
      }
    }
    for (auto n = random() % 4; n > 0; --n) {
      auto& funnel = state.funnels["f:" + std::to_string(random() % 1000)];
      funnel.completed = random() % 2 == 0;
      funnel.completed_ms = funnel.completed ? time() : 0;
      funnel.steps.assign(1 + random() % 3, {});
      for (auto& step : funnel.steps) {
        for (auto o = random() % 4; o > 0; --o) step.emplace_back(time(), random() % 1'000'000);
      }
    }
    for (auto n = random() % 8; n > 0; --n)
      state.audiences["a" + std::to_string(random())] = time();
    state.next_check_ms = random() % 2 ? time() : 0;
    auto back = decode_audience_state(encoded(state));
    ASSERT_TRUE(back) << "round " << round << ": " << back.status().message();
    ASSERT_EQ(*back, state) << "round " << round;
  }
}

TEST(ProfileStateBinaryTest, TruncatedExtendedOrOtherVersionsAreCorrupt) {
  const auto bytes = encoded(full_state());
  for (size_t size = 0; size < bytes.size(); ++size) {
    auto back = decode_audience_state(std::string_view(bytes).substr(0, size));
    ASSERT_FALSE(back) << "truncated to " << size << " of " << bytes.size() << " bytes";
    EXPECT_EQ(back.status().code(), StatusCode::kCorruption);
    EXPECT_TRUE(back.status().message().starts_with("stored audience state has a"))
        << back.status().message();
  }
  EXPECT_FALSE(decode_audience_state(bytes + '\0'));
  auto other = bytes;
  other[0] = 2;
  EXPECT_EQ(decode_audience_state(other).status().message(),
            "stored audience state has an unknown format version");
}

TEST(ProfileStateBinaryTest, KeysOutOfOrderOrTwiceAreCorrupt) {
  // Version, no aggregates, no funnels, two memberships (a name and a time each), check time.
  const std::string twice{1, 0, 0, 2, 1, 'a', 2, 1, 'a', 4, 0};
  EXPECT_EQ(decode_audience_state(twice).status().message(),
            "stored audience state has a malformed membership list (names out of order)");
  const std::string backwards{1, 0, 0, 2, 1, 'b', 2, 1, 'a', 4, 0};
  EXPECT_EQ(decode_audience_state(backwards).status().message(),
            "stored audience state has a malformed membership list (names out of order)");
  const std::string ordered{1, 0, 0, 2, 1, 'a', 2, 1, 'b', 4, 0};
  auto back = decode_audience_state(ordered);
  ASSERT_TRUE(back) << back.status().message();
  EXPECT_EQ(back->audiences.at("a"), 1);
  EXPECT_EQ(back->audiences.at("b"), 3);
}

// What encoding could not give back: a number that is not finite, a first/last value flag
// without either value.
TEST(ProfileStateBinaryTest, WhatTheEncoderCannotWriteIsCorrupt) {
  ProfileAudienceState state;
  AggregateBucket bucket;
  bucket.sum = 1;
  state.aggregates["t:x"].buckets = {bucket};
  auto bytes = encoded(state);
  const auto one = bytes.find(std::string("\0\0\0\0\0\0\xf0\x3f", 8));
  ASSERT_NE(one, std::string::npos);
  bytes.replace(one, 8, std::string("\0\0\0\0\0\0\xf8\x7f", 8));  // NaN
  EXPECT_EQ(decode_audience_state(bytes).status().message(),
            "stored audience state has a malformed bucket number");
  // Version, one aggregate "t:x" with one bucket: fields 16 (first/last), start 0, first at 0,
  // seq 0, "", last at 0, seq 0, ""; no funnels, no memberships, check time 0.
  const std::string empty_values{1, 1, 3, 't', ':', 'x', 1, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(decode_audience_state(empty_values).status().message(),
            "stored audience state has a malformed first/last value");
  auto last_only = empty_values;
  last_only.replace(last_only.size() - 4, 1, std::string{1, '2'});
  auto back = decode_audience_state(last_only);
  ASSERT_TRUE(back) << back.status().message();
  EXPECT_EQ(back->aggregates.at("t:x").buckets.at(0).last_json, "2");
  EXPECT_EQ(encoded(*back), last_only) << "a last value without a first is written back";
}

}  // namespace
}  // namespace cdp::audience
