#include <gtest/gtest.h>

#include "common/json_writer.h"
#include "profile/profile.h"

namespace cdp::profile {
namespace {

Profile with_audience_state() {
  Profile profile;
  profile.id = 42;
  profile.merged_from = {7};
  profile.first_seen_ms = 1'714'560'000'000;
  profile.last_seen_ms = 1'714'566'600'000;
  profile.event_count = 3;
  profile.identifiers.push_back({{"user_id", "u1"}, 1'714'560'000'000, 1'714'566'600'000, "m-1"});
  profile.traits["plan"] = {R"("pro")", "web", 1'714'560'000'000, "m-1", 5};
  profile.groups = {"acme"};
  audience::AggregateBucket bucket;
  bucket.start_ms = 60'000;
  bucket.count = 2;
  profile.audience.aggregates["c:0123456789abcdef"].buckets.push_back(bucket);
  profile.audience.funnels["f:aa"].steps = {{{1'714'560'000'000, 5}}, {}};
  profile.audience.audiences["buyers"] = 1'714'566'600'512;
  profile.audience.next_check_ms = 1'717'159'737'000;
  return profile;
}

void expect_same(const Profile& a, const Profile& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.merged_from, b.merged_from);
  EXPECT_EQ(a.event_count, b.event_count);
  ASSERT_EQ(a.identifiers.size(), b.identifiers.size());
  EXPECT_EQ(a.identifiers[0].identifier, b.identifiers[0].identifier);
  ASSERT_EQ(a.traits.size(), b.traits.size());
  EXPECT_EQ(a.traits.at("plan").json, b.traits.at("plan").json);
  EXPECT_EQ(a.groups, b.groups);
  EXPECT_EQ(a.audience, b.audience);
}

TEST(ProfileRecordTest, AudienceStateFollowsTheJsonInBinary) {
  const auto profile = with_audience_state();
  const auto record = encode_profile(profile);
  const auto nul = record.find('\0');
  ASSERT_NE(nul, std::string::npos);
  EXPECT_TRUE(record.starts_with(R"({"v":1,"id":42,)")) << record.substr(0, nul);
  EXPECT_EQ(record.find("aud"), std::string::npos);
  auto back = decode_profile(record);
  ASSERT_TRUE(back) << back.status().message();
  expect_same(*back, profile);

  auto without = profile;
  without.audience = {};
  EXPECT_EQ(encode_profile(without).find('\0'), std::string::npos);
  EXPECT_TRUE(decode_profile(encode_profile(without))->audience.empty());
}

TEST(ProfileRecordTest, RecordsWithTheStateAsJsonAreStillRead) {
  // What builds before format version 8 wrote: the state as the JSON member `aud`.
  const auto profile = with_audience_state();
  auto bare = profile;
  bare.audience = {};
  auto record = encode_profile(bare);
  ASSERT_TRUE(record.ends_with("}"));
  JsonWriter aud;
  audience::write_audience_state(aud, profile.audience);
  record.insert(record.size() - 1, ",\"aud\":" + aud.str());
  auto back = decode_profile(record);
  ASSERT_TRUE(back) << back.status().message() << "\n" << record;
  expect_same(*back, profile);
}

TEST(ProfileRecordTest, ACorruptBinaryStateIsReported) {
  auto record = encode_profile(with_audience_state());
  record.pop_back();
  auto back = decode_profile(record);
  ASSERT_FALSE(back);
  EXPECT_EQ(back.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(back.status().message(), "stored audience state has a malformed check time");
}

}  // namespace
}  // namespace cdp::profile
