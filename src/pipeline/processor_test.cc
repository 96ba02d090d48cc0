#include "pipeline/processor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pipeline/internal/processor_fixture.h"

namespace cdp::pipeline {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class ProcessorTest : public internal::ProcessorFixture {
 protected:
  std::vector<std::string> identifier_list(const profile::Profile& profile) {
    std::vector<std::string> out;
    for (const auto& held : profile.identifiers) out.push_back(held.identifier.display());
    return out;
  }
};

TEST_F(ProcessorTest, IdentifyAndTrackBuildOneProfileWithTraitsAndATimeline) {
  append(R"({"type":"identify","messageId":"m1","userId":"42","anonymousId":"anon-1",
    "timestamp":"2024-05-01T10:00:00.000Z","traits":{"email":"Jane@Example.com","plan":"pro"}})");
  append(R"({"type":"track","messageId":"m2","anonymousId":"anon-1","event":"Order Completed",
    "timestamp":"2024-05-01T10:05:00.000Z","properties":{"total":30}})");
  process();
  const auto id = find("user_id", "42");
  ASSERT_NE(id, 0u);
  EXPECT_EQ(find("email", "jane@example.com"), id) << "emails are normalised";
  EXPECT_EQ(find("anonymous_id", "anon-1"), id);
  const auto profile = get(id);
  EXPECT_THAT(identifier_list(profile),
              ElementsAre("user_id:42", "email:jane@example.com", "anonymous_id:anon-1"));
  EXPECT_EQ(profile.traits.at("plan").json, "\"pro\"");
  EXPECT_EQ(profile.traits.at("plan").source, "web");
  EXPECT_EQ(profile.traits.at("plan").message_id, "m1");
  EXPECT_EQ(profile.event_count, 2u);
  EXPECT_EQ(profile.first_seen_ms, 1714557600000);
  EXPECT_EQ(profile.last_seen_ms, 1714557900000);
  auto timeline = store_->timeline(profile, {});
  ASSERT_TRUE(timeline.has_value());
  ASSERT_THAT(*timeline, SizeIs(2));
  EXPECT_EQ((*timeline)[0].event, "Order Completed") << "newest first";
  EXPECT_EQ((*timeline)[1].type, "identify");
}

TEST_F(ProcessorTest, TraitsTakeTheValueWithTheLatestTimestampNotTheLatestArrival) {
  append(R"({"type":"identify","messageId":"new","userId":"u","timestamp":"2024-05-02T00:00:00Z",
    "traits":{"city":"Berlin"}})");
  append(R"({"type":"identify","messageId":"old","userId":"u","timestamp":"2024-05-01T00:00:00Z",
    "traits":{"city":"Paris","name":"Ada"}})");
  process();
  const auto profile = get(find("user_id", "u"));
  EXPECT_EQ(profile.traits.at("city").json, "\"Berlin\"");
  EXPECT_EQ(profile.traits.at("name").json, "\"Ada\"") << "older, but the only value";
}

TEST_F(ProcessorTest, OnATimestampTieTheLaterEventWinsAlsoAcrossAMerge) {
  append(R"({"type":"identify","userId":"u1","timestamp":"2024-05-01T00:00:00Z",
    "traits":{"plan":"from the survivor"}})");
  append(R"({"type":"identify","anonymousId":"x","timestamp":"2024-05-01T00:00:00Z",
    "traits":{"plan":"from the later event"}})");
  append(R"({"type":"track","userId":"u1","anonymousId":"x","event":"e",
    "timestamp":"2024-04-01T00:00:00Z"})");
  process();
  const auto profile = get(find("user_id", "u1"));
  ASSERT_EQ(profile.merged_from.size(), 1u);
  EXPECT_EQ(profile.traits.at("plan").json, "\"from the later event\"")
      << "as if both events had gone to one profile";
}

TEST_F(ProcessorTest, IdentifyingMergesTheAnonymousProfileIntoTheKnownOne) {
  append(
      R"({"type":"identify","userId":"u1","traits":{"email":"a@x.org"},"timestamp":"2024-01-01T00:00:00Z"})");
  append(R"({"type":"page","anonymousId":"browser-7","timestamp":"2024-01-02T00:00:00Z"})");
  process();
  const auto known = find("user_id", "u1");
  const auto anonymous = find("anonymous_id", "browser-7");
  ASSERT_NE(known, anonymous);
  append(
      R"({"type":"identify","anonymousId":"browser-7","traits":{"email":"A@x.org"},"messageId":"join"})");
  process();
  EXPECT_EQ(find("anonymous_id", "browser-7"), known) << "the older profile survives";
  EXPECT_EQ(get(anonymous).merged_into, known);
  const auto survivor = get(known);
  EXPECT_THAT(survivor.merged_from, ElementsAre(anonymous));
  EXPECT_EQ(survivor.event_count, 3u);
  auto timeline = store_->timeline(survivor, {});
  EXPECT_THAT(*timeline, SizeIs(3)) << "the merged profile's events are in the timeline";
  auto edges = store_->edges(survivor);
  ASSERT_TRUE(edges.has_value());
  bool explained = false;
  for (const auto& edge : *edges) {
    if (edge.kind == profile::EdgeKind::kMerge) {
      EXPECT_EQ(edge.message_id, "join");
      EXPECT_EQ(edge.other_profile, anonymous);
      EXPECT_THAT(edge.identifiers, ElementsAre("email:a@x.org", "anonymous_id:browser-7"));
      explained = true;
    }
  }
  EXPECT_TRUE(explained) << "the merge is recorded with the event that caused it";
}

TEST_F(ProcessorTest, AliasLinksThePreviousAnonymousId) {
  append(R"({"type":"track","anonymousId":"anon-9","event":"Viewed"})");
  append(R"({"type":"alias","userId":"user-9","previousId":"anon-9"})");
  process();
  EXPECT_EQ(find("user_id", "user-9"), find("anonymous_id", "anon-9"));
}

TEST_F(ProcessorTest, GroupCreatesAnAccountWithTraitsAndMembership) {
  append(R"({"type":"group","userId":"u1","groupId":"acme","traits":{"industry":"retail"}})");
  process();
  const auto profile = get(find("user_id", "u1"));
  EXPECT_THAT(profile.groups, ElementsAre("acme"));
  auto account = store_->account("acme");
  ASSERT_TRUE(account.has_value() && account->has_value());
  EXPECT_EQ((*account)->traits.at("industry").json, "\"retail\"");
}

TEST_F(ProcessorTest, PhonesInDifferentFormatsAreOneIdentifier) {
  append(R"({"type":"identify","userId":"u1","traits":{"phone":"(415) 555-0132"}})");
  append(R"({"type":"identify","anonymousId":"x","traits":{"phone":"+1 415 555 0132"}})");
  process();
  EXPECT_EQ(find("anonymous_id", "x"), find("user_id", "u1"));
  EXPECT_EQ(find("phone", "+14155550132"), find("user_id", "u1"));
}

TEST_F(ProcessorTest, ASharedDeviceIsQuarantinedInsteadOfMakingASuperProfile) {
  auto rules = identity::IdentityRules::defaults();
  rules.quarantine_after_profiles = 3;
  reopen(rules);
  for (int user = 1; user <= 6; ++user) {
    append(R"({"type":"track","event":"Checkout","userId":"u)" + std::to_string(user) +
           R"(","context":{"device":{"id":"store-ipad"}}})");
  }
  process();
  std::set<profile::ProfileId> profiles;
  for (int user = 1; user <= 6; ++user)
    profiles.insert(find("user_id", "u" + std::to_string(user)));
  EXPECT_THAT(profiles, SizeIs(6)) << "user_id limit 1 keeps them apart";
  auto quarantined = store_->quarantined(10);
  ASSERT_TRUE(quarantined.has_value());
  ASSERT_THAT(*quarantined, SizeIs(1));
  EXPECT_EQ((*quarantined)[0].identifier.display(), "device_id:store-ipad");
}

TEST_F(ProcessorTest, PlaceholderIdsDoNotJoinStrangers) {
  for (int user = 1; user <= 5; ++user) {
    append(R"({"type":"identify","userId":"u)" + std::to_string(user) +
           R"(","anonymousId":"00000000","traits":{"email":"null"}})");
  }
  process();
  std::set<profile::ProfileId> profiles;
  for (int user = 1; user <= 5; ++user)
    profiles.insert(find("user_id", "u" + std::to_string(user)));
  EXPECT_THAT(profiles, SizeIs(5));
  EXPECT_EQ(find("anonymous_id", "00000000"), 0u);
}

TEST_F(ProcessorTest, EventsWithoutUsableIdentifiersChangeNoProfile) {
  append(R"({"type":"track","anonymousId":"undefined","event":"X"})");
  process();
  EXPECT_EQ(processor_->stats().cursor, 1u) << "applied (and skipped), not retried forever";
  EXPECT_EQ(processor_->stats().profiles, 0u);
}

TEST_F(ProcessorTest, ARestartResumesAtTheCursorAndAppliesNothingTwice) {
  for (int i = 0; i < 5; ++i) append(R"({"type":"track","userId":"u","event":"E"})");
  process();
  EXPECT_EQ(get(find("user_id", "u")).event_count, 5u);
  reopen();
  process();
  EXPECT_EQ(get(find("user_id", "u")).event_count, 5u);
  for (int i = 0; i < 3; ++i) append(R"({"type":"track","userId":"u","event":"E"})");
  reopen();
  process();
  EXPECT_EQ(get(find("user_id", "u")).event_count, 8u);
  EXPECT_EQ(processor_->stats().cursor, 8u);
}

TEST_F(ProcessorTest, TimelinePagesWithACursorAndFilters) {
  for (int i = 0; i < 7; ++i) {
    append(R"({"type":"track","userId":"u","event":")" + std::string(i % 2 ? "A" : "B") +
           R"(","timestamp":"2024-01-01T00:00:0)" + std::to_string(i) + R"(.000Z"})");
  }
  process();
  const auto profile = get(find("user_id", "u"));
  profile::ProfileStore::TimelineQuery query;
  query.limit = 3;
  auto page1 = *store_->timeline(profile, query);
  ASSERT_THAT(page1, SizeIs(3));
  EXPECT_EQ(page1[0].seq, 7u);
  query.before = {{page1.back().timestamp_ms, page1.back().seq}};
  auto page2 = *store_->timeline(profile, query);
  ASSERT_THAT(page2, SizeIs(3));
  EXPECT_EQ(page2[0].seq, 4u);
  query.before.reset();
  query.event = "A";
  query.limit = 10;
  EXPECT_THAT(*store_->timeline(profile, query), SizeIs(3));
}

TEST_F(ProcessorTest, BackgroundThreadAppliesWhenNotified) {
  processor_->start();
  append(R"({"type":"identify","userId":"live"})");
  processor_->notify();
  for (int i = 0; i < 200 && processor_->stats().cursor < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(find("user_id", "live"), 0u);
  processor_->stop();
}

}  // namespace
}  // namespace cdp::pipeline
