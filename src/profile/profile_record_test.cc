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

// A pass reads the head of each record (who, merge links, audience state) and the details of
// the few it needs: the two together are what decode_profile reads.
TEST(ProfileRecordTest, TheHeadThenTheDetailsAreTheWholeProfile) {
  const auto profile = with_audience_state();
  const auto record = encode_profile(profile);
  auto head = decode_profile_head(record);
  ASSERT_TRUE(head) << head.status().message();
  EXPECT_EQ(head->id, 42u);
  EXPECT_EQ(head->merged_from, std::vector<ProfileId>{7});
  EXPECT_EQ(head->audience, profile.audience);
  EXPECT_TRUE(head->identifiers.empty());
  EXPECT_TRUE(head->traits.empty());
  EXPECT_TRUE(head->groups.empty());
  EXPECT_EQ(head->event_count, 0u);
  ASSERT_TRUE(decode_profile_details(record, *head).is_ok());
  expect_same(*head, profile);
  EXPECT_EQ(head->first_seen_ms, profile.first_seen_ms);
  EXPECT_EQ(head->last_seen_ms, profile.last_seen_ms);

  // A merged-away record: its survivor, no state.
  Profile merged;
  merged.id = 7;
  merged.merged_into = 42;
  auto merged_head = decode_profile_head(encode_profile(merged));
  ASSERT_TRUE(merged_head);
  EXPECT_FALSE(merged_head->live());
  EXPECT_EQ(merged_head->merged_into, 42u);

  // Errors name what was wrong, as decode_profile's do.
  EXPECT_EQ(decode_profile_head(R"({"v":2,"id":1})").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(decode_profile_head("not json").status().code(), StatusCode::kCorruption);
  Profile bad;
  const auto details = decode_profile_details(R"({"v":1,"id":1,"identifiers":[["user_id"]]})", bad);
  EXPECT_EQ(details.code(), StatusCode::kCorruption);
  EXPECT_NE(details.message().find("malformed identifier"), std::string::npos);
}

// A record as this build writes it has its head read from its first bytes; any other layout
// (members in another order, as no writer of ours has made) goes through the JSON parser. Both
// read the same head, and a record cut short is refused either way.
TEST(ProfileRecordTest, HeadsAreReadAlikeWhateverTheMembersOrder) {
  for (const auto& merged_from :
       {std::vector<ProfileId>{}, std::vector<ProfileId>{7, 9, 123'456'789'012}}) {
    auto profile = with_audience_state();
    profile.merged_from = merged_from;
    const auto record = encode_profile(profile);
    auto head = decode_profile_head(record);
    ASSERT_TRUE(head) << head.status().message();
    EXPECT_EQ(head->id, 42u);
    EXPECT_EQ(head->merged_from, merged_from);
    EXPECT_EQ(head->audience, profile.audience);

    // The same record with "v" after "id": the parser's path.
    auto reordered = record;
    const std::string written = R"({"v":1,"id":42,)";
    ASSERT_TRUE(reordered.starts_with(written));
    reordered.replace(0, written.size(), R"({"id":42,"v":1,)");
    auto parsed = decode_profile_head(reordered);
    ASSERT_TRUE(parsed) << parsed.status().message();
    EXPECT_EQ(parsed->id, head->id);
    EXPECT_EQ(parsed->merged_from, head->merged_from);
    EXPECT_EQ(parsed->audience, head->audience);
  }
  // Without audience state: no NUL, and the record ends with its groups.
  Profile bare;
  bare.id = 5;
  bare.groups = {"acme"};
  auto bare_head = decode_profile_head(encode_profile(bare));
  ASSERT_TRUE(bare_head) << bare_head.status().message();
  EXPECT_EQ(bare_head->id, 5u);
  EXPECT_TRUE(bare_head->audience.empty());
  // Cut inside the merge links, then its audience state: neither path takes it.
  auto record = encode_profile(with_audience_state());
  const auto state = record.substr(record.find('\0'));
  EXPECT_EQ(decode_profile_head(R"({"v":1,"id":42,"merged_from":[7,)" + state).status().code(),
            StatusCode::kCorruption);
  EXPECT_EQ(decode_profile_head(R"({"v":1,"id":42,"merged_into":0})").status().code(),
            StatusCode::kOk);  // the parser's reading: no survivor, so live, without state
  EXPECT_TRUE(decode_profile_head(R"({"v":1,"id":42,"merged_into":0})")->live());
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
  auto head = decode_profile_head(record);
  ASSERT_TRUE(head) << head.status().message();
  EXPECT_EQ(head->audience, profile.audience);
}

TEST(ProfileRecordTest, ACorruptBinaryStateIsReported) {
  auto record = encode_profile(with_audience_state());
  record.pop_back();
  auto back = decode_profile(record);
  ASSERT_FALSE(back);
  EXPECT_EQ(back.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(back.status().message(), "stored audience state has a malformed check time");
  EXPECT_EQ(decode_profile_head(record).status().message(),
            "stored audience state has a malformed check time");
}

}  // namespace
}  // namespace cdp::profile
