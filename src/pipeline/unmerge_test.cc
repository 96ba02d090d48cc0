// Scenario tests for unmerge: split a merge or remove an identifier, the block that keeps the
// sides apart, re-allowing, and that the result is a pure function of the log (a replay of the
// same log into an empty directory builds the same state).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "pipeline/internal/processor_fixture.h"
#include "profile/state_records.h"

namespace cdp::pipeline {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

class UnmergeTest : public internal::ProcessorFixture {
 protected:
  uint64_t command(const std::string& json) {
    return append(json, std::string(storage::kAdminSource));
  }

  profile::UnmergeRecord outcome(uint64_t seq) {
    auto stored = database_->get_meta(profile::unmerge_key(seq));
    EXPECT_TRUE(stored.has_value() && stored->has_value()) << "no outcome for " << seq;
    if (!stored || !stored->has_value()) return {};
    auto record = profile::decode_unmerge(**stored);
    EXPECT_TRUE(record.has_value());
    return record ? *record : profile::UnmergeRecord{};
  }

  std::vector<std::string> identifiers_of(profile::ProfileId id) {
    std::vector<std::string> out;
    for (const auto& held : get(id).identifiers) out.push_back(held.identifier.display());
    return out;
  }

  size_t timeline_size(profile::ProfileId id) {
    profile::ProfileStore::TimelineQuery query;
    query.limit = 1000;
    auto timeline = store_->timeline(get(id), query);
    return timeline ? timeline->size() : 0;
  }

  // Jane (anonymous a1, then her email) and a second browser a2 that later gives the same email:
  // a2's profile is merged into Jane's.
  void merge_two_browsers() {
    append(R"({"type":"track","messageId":"m1","anonymousId":"a1","event":"Viewed",
      "timestamp":"2024-05-01T10:00:00Z"})");
    append(R"({"type":"identify","messageId":"m2","anonymousId":"a1",
      "timestamp":"2024-05-01T10:01:00Z","traits":{"email":"jane@example.com","name":"Jane"}})");
    append(R"({"type":"track","messageId":"m3","anonymousId":"a2","event":"Viewed",
      "timestamp":"2024-05-01T11:00:00Z","context":{"traits":{"plan":"free"}}})");
    append(R"({"type":"track","messageId":"m4","anonymousId":"a2","event":"Added",
      "timestamp":"2024-05-01T11:01:00Z"})");
    append(R"({"type":"identify","messageId":"m5","anonymousId":"a2",
      "timestamp":"2024-05-01T11:02:00Z","traits":{"email":"jane@example.com"}})");
    process();
    ASSERT_EQ(find("anonymous_id", "a2"), 1u);
    ASSERT_THAT(get(1).merged_from, ElementsAre(2u));
  }
};

TEST_F(UnmergeTest, SplittingAMergeSendsEventsTraitsAndIdentifiersBack) {
  merge_two_browsers();
  const auto seq = command(R"({"type":"unmerge","messageId":"u1","profile":"p_1","merged":"p_2"})");
  process();
  const auto result = outcome(seq);
  EXPECT_TRUE(result.applied) << result.message;
  EXPECT_TRUE(result.active);
  EXPECT_THAT(result.block.sides[0], ElementsAre(identity::Identifier{"anonymous_id", "a2"}));
  EXPECT_THAT(result.profiles, ElementsAre(1u, 2u));

  EXPECT_EQ(find("anonymous_id", "a1"), 1u) << "the oldest part keeps the profile's id";
  EXPECT_EQ(find("email", "jane@example.com"), 1u);
  EXPECT_EQ(find("anonymous_id", "a2"), 2u) << "the split part takes back its old id";
  EXPECT_TRUE(get(2).live());
  EXPECT_THAT(identifiers_of(2), ElementsAre("anonymous_id:a2"));
  EXPECT_EQ(get(2).traits.at("plan").json, "\"free\"") << "its traits go with it";
  EXPECT_EQ(get(1).traits.count("plan"), 0u);
  // m5 carried a2 and Jane's email: under the block it keeps the higher-priority email.
  EXPECT_EQ(timeline_size(2), 2u);
  EXPECT_EQ(timeline_size(1), 3u);
  EXPECT_EQ(get(1).event_count + get(2).event_count, 5u);

  auto edges = store_->edges(get(2));
  ASSERT_TRUE(edges.has_value());
  ASSERT_FALSE(edges->empty());
  EXPECT_EQ(edges->back().kind, profile::EdgeKind::kUnmerge);
  EXPECT_EQ(edges->back().rule, "unmerge: p_2 split from p_1");
}

TEST_F(UnmergeTest, TheSplitStaysUntilReallowed) {
  merge_two_browsers();
  const auto seq = command(R"({"type":"unmerge","profile":"p_1","merged":"p_2"})");
  append(R"({"type":"identify","anonymousId":"a2","traits":{"email":"jane@example.com"}})");
  append(R"({"type":"track","anonymousId":"a3","userId":"","event":"x"})");
  append(R"({"type":"identify","anonymousId":"a3","traits":{"email":"jane@example.com"}})");
  append(R"({"type":"identify","anonymousId":"a3","context":{"device":{"id":"d-a2"}}})");
  process();
  EXPECT_EQ(find("anonymous_id", "a2"), 2u) << "the same evidence does not merge them again";
  EXPECT_EQ(find("anonymous_id", "a3"), 1u);

  command(R"({"type":"reallow","unmerge":)" + std::to_string(seq) + "}");
  process();
  EXPECT_FALSE(outcome(seq).active);
  append(R"({"type":"identify","anonymousId":"a2","traits":{"email":"jane@example.com"}})");
  process();
  EXPECT_EQ(find("anonymous_id", "a2"), 1u) << "re-allowed: new evidence merges again";
}

TEST_F(UnmergeTest, RemovingAnIdentifierUnlinksItFromTheProfile) {
  append(R"({"type":"identify","anonymousId":"a1","timestamp":"2024-05-01T10:00:00Z",
    "traits":{"email":"jane@example.com","phone":"+1 415 555 2671"}})");
  append(R"({"type":"track","anonymousId":"a1","event":"Viewed"})");
  process();
  ASSERT_EQ(find("phone", "+14155552671"), 1u);
  const auto seq =
      command(R"({"type":"unmerge","profile":"p_1","identifier":"phone:+14155552671"})");
  append(R"({"type":"identify","traits":{"phone":"+14155552671"},"userId":"u-9"})");
  process();
  EXPECT_TRUE(outcome(seq).applied) << outcome(seq).message;
  EXPECT_THAT(identifiers_of(1), ElementsAre("email:jane@example.com", "anonymous_id:a1"));
  EXPECT_EQ(get(1).event_count, 2u) << "the events stay: only the identifier left";
  EXPECT_NE(find("phone", "+14155552671"), 1u) << "the phone now belongs to u-9";
  EXPECT_EQ(find("phone", "+14155552671"), find("user_id", "u-9"));
}

TEST_F(UnmergeTest, ImpossibleRequestsAreRecordedAsRefusedAndChangeNothing) {
  merge_two_browsers();
  const auto before = internal::dump_state(*database_);
  const auto unknown = command(R"({"type":"unmerge","profile":"p_9","merged":"p_2"})");
  const auto not_merged = command(R"({"type":"unmerge","profile":"p_1","merged":"p_7"})");
  const auto not_held = command(R"({"type":"unmerge","profile":"p_1","identifier":"email:x@y"})");
  process();
  EXPECT_THAT(outcome(unknown).message, HasSubstr("no profile p_9"));
  EXPECT_THAT(outcome(not_merged).message, HasSubstr("p_7 was not merged into p_1"));
  EXPECT_THAT(outcome(not_held).message, HasSubstr("no profile holds email:x@y"));
  for (auto seq : {unknown, not_merged, not_held}) EXPECT_FALSE(outcome(seq).applied);
  auto after = internal::dump_state(*database_);
  for (auto seq : {unknown, not_merged, not_held}) after.erase(profile::unmerge_key(seq));
  EXPECT_EQ(after, before);
}

TEST_F(UnmergeTest, AQuarantinedIdentifierKeepsItsEventsThroughAnUnmerge) {
  auto rules = identity::IdentityRules::defaults();
  rules.quarantine_after_profiles = 2;
  reopen(rules);
  append(R"({"type":"track","event":"Opened","context":{"device":{"id":"ipad"}}})");
  append(R"({"type":"identify","userId":"u1","context":{"device":{"id":"ipad"}}})");
  append(R"({"type":"track","userId":"u2","event":"x","context":{"device":{"id":"ipad"}}})");
  append(R"({"type":"track","userId":"u3","event":"x","context":{"device":{"id":"ipad"}}})");
  process();
  const identity::Identifier ipad{"device_id", "ipad"};
  ASSERT_EQ(find("device_id", "ipad"), find("user_id", "u1"));
  ASSERT_TRUE(database_->get_meta("quarantine/" + ipad.key())->has_value()) << "quarantined";

  const auto seq = command(R"({"type":"unmerge","profile":"p_1","identifier":"user_id:u1"})");
  process();
  ASSERT_TRUE(outcome(seq).applied) << outcome(seq).message;
  const auto device = find("device_id", "ipad");
  const auto user = find("user_id", "u1");
  ASSERT_NE(device, 0u) << "the quarantined identifier is still on a profile";
  EXPECT_NE(device, user);
  EXPECT_EQ(get(device).event_count + get(user).event_count, 2u)
      << "the event only the device identified is not lost";
  auto record = database_->get_meta("quarantine/" + ipad.key());
  EXPECT_EQ(**record, profile::profile_id_text(device)) << "and it is quarantined again";
  append(R"({"type":"track","userId":"u9","event":"x","context":{"device":{"id":"ipad"}}})");
  process();
  EXPECT_NE(find("user_id", "u9"), device) << "so it still joins no one";
}

TEST_F(UnmergeTest, AnUnmergeWhoseAnchorsNoLongerMatchIsRefused) {
  merge_two_browsers();
  // As if the log were replayed under rules that numbered the profiles differently.
  const auto seq = command(R"({"type":"unmerge","profile":"p_1","merged":"p_2",
    "anchor":"anonymous_id:a1","merged_anchor":"email:jane@example.com"})");
  process();
  EXPECT_FALSE(outcome(seq).applied);
  EXPECT_THAT(outcome(seq).message, HasSubstr("p_2 did not bring email:jane@example.com"));
}

TEST_F(UnmergeTest, StateAfterUnmergesIsAPureFunctionOfTheLog) {
  merge_two_browsers();
  command(R"({"type":"unmerge","profile":"p_1","merged":"p_2"})");
  append(R"({"type":"group","anonymousId":"a2","groupId":"acme","traits":{"name":"Acme"}})");
  append(R"({"type":"identify","userId":"u1","anonymousId":"a1"})");
  command(R"({"type":"unmerge","profile":"p_1","identifier":"user_id:u1"})");
  append(R"({"type":"identify","userId":"u1","anonymousId":"a9"})");
  process();
  reopen();  // a restart between the commands and the comparison changes nothing either
  EXPECT_EQ(
      internal::dump_state(*database_),
      internal::replay_log(*database_, dir_.sub("replay"),
                           *identity::CompiledRules::compile(identity::IdentityRules::defaults())));
}

}  // namespace
}  // namespace cdp::pipeline
