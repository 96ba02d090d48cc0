// Rule changes: the dry run says what would merge and split; applying by replay gives exactly the
// state a fresh start under the new rules gives.
#include "pipeline/rules_change.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pipeline/internal/processor_fixture.h"

namespace cdp::pipeline {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class RulesChangeTest : public internal::ProcessorFixture {
 protected:
  // Two browsers that share an email (merged under the defaults: anonymous_id limit 5), and two
  // user ids that share one (kept apart by the default user_id limit 1).
  void SetUp() override {
    ProcessorFixture::SetUp();
    append(R"({"type":"identify","anonymousId":"a1","traits":{"email":"jane@example.com"}})");
    append(R"({"type":"track","anonymousId":"a2","event":"Viewed"})");
    append(R"({"type":"identify","anonymousId":"a2","traits":{"email":"jane@example.com"}})");
    append(R"({"type":"identify","userId":"u1","traits":{"email":"family@example.com"}})");
    append(R"({"type":"identify","userId":"u2","traits":{"email":"family@example.com"}})");
    process();
    ASSERT_EQ(find("anonymous_id", "a2"), find("anonymous_id", "a1"));
    ASSERT_NE(find("user_id", "u1"), find("user_id", "u2"));
  }

  static std::shared_ptr<const identity::CompiledRules> new_rules() {
    auto rules = identity::IdentityRules::defaults();
    rules.types["anonymous_id"].limit = 1;
    rules.types["user_id"].limit = 2;
    return *identity::CompiledRules::compile(std::move(rules));
  }

  static std::shared_ptr<const identity::CompiledRules> default_rules() {
    return *identity::CompiledRules::compile(identity::IdentityRules::defaults());
  }
};

TEST_F(RulesChangeTest, ThePlanNamesWhatWouldMergeAndSplitAndChangesNothing) {
  const auto before = internal::dump_state(*database_);
  uint64_t reported = 0;
  auto plan = plan_rules_change(*database_, new_rules(), dir_.sub("scratch"),
                                [&](uint64_t applied, uint64_t last) {
                                  reported = applied;
                                  EXPECT_EQ(last, 5u);
                                });
  ASSERT_TRUE(plan.has_value()) << plan.status().to_string();
  EXPECT_TRUE(plan->rules_changed);
  EXPECT_EQ(plan->events, 5u);
  EXPECT_EQ(reported, 5u);
  EXPECT_EQ(plan->profiles_before, 3u);
  EXPECT_EQ(plan->profiles_after, 3u);
  ASSERT_EQ(plan->merges, 1u);
  EXPECT_EQ(plan->merge_examples[0].before,
            (std::vector<profile::ProfileId>{find("user_id", "u1"), find("user_id", "u2")}));
  EXPECT_THAT(plan->merge_examples[0].identifiers,
              ElementsAre("email:family@example.com", "user_id:u1", "user_id:u2"));
  ASSERT_EQ(plan->splits, 1u);
  EXPECT_EQ(plan->split_examples[0].before,
            std::vector<profile::ProfileId>{find("anonymous_id", "a1")});
  EXPECT_EQ(plan->split_examples[0].after.size(), 2u);
  EXPECT_EQ(plan->split_examples[0].identifier_count, 3u);
  EXPECT_EQ(internal::dump_state(*database_), before) << "a dry run changes nothing";
  EXPECT_FALSE(std::filesystem::exists(dir_.sub("scratch"))) << "and leaves nothing behind";

  auto same = plan_rules_change(*database_, default_rules(), dir_.sub("scratch"));
  ASSERT_TRUE(same.has_value());
  EXPECT_FALSE(same->rules_changed);
  EXPECT_EQ(same->merges + same->splits + same->identifiers_linked + same->identifiers_unlinked,
            0u);
}

TEST_F(RulesChangeTest, ThePlanStopsWhereTheLiveProfilesStop) {
  // Stored but not yet applied (a running server's processor may be behind): not a change.
  append(R"({"type":"identify","anonymousId":"a9","traits":{"email":"family@example.com"}})");
  auto plan = plan_rules_change(*database_, default_rules(), dir_.sub("scratch"));
  ASSERT_TRUE(plan.has_value()) << plan.status().to_string();
  EXPECT_EQ(plan->events, 5u);
  EXPECT_EQ(plan->merges + plan->splits + plan->identifiers_linked, 0u);
}

TEST_F(RulesChangeTest, ApplyingByReplayEqualsAFreshStartUnderTheNewRules) {
  processor_.reset();
  ASSERT_TRUE(rebuild_profiles(*database_, new_rules()).is_ok());
  EXPECT_NE(find("anonymous_id", "a2"), find("anonymous_id", "a1"));
  EXPECT_EQ(find("user_id", "u1"), find("user_id", "u2"));
  const auto rebuilt = internal::dump_state(*database_);

  EXPECT_EQ(rebuilt, internal::replay_log(*database_, dir_.sub("fresh"), new_rules()))
      << "the same as the same log applied to an empty directory under the new rules";

  auto plan = plan_rules_change(*database_, new_rules(), dir_.sub("scratch"));
  ASSERT_TRUE(plan.has_value());
  EXPECT_FALSE(plan->rules_changed) << "the rebuilt state records its rules";
  EXPECT_EQ(plan->merges + plan->splits, 0u);
}

TEST_F(RulesChangeTest, ARebuildOfALogThatRetentionTrimmedNeedsConsent) {
  processor_.reset();
  ASSERT_TRUE(database_->db()
                  .Delete(rocksdb::WriteOptions(), database_->raw_log(), storage::u64_be(1))
                  .ok());
  auto plan = plan_rules_change(*database_, new_rules(), dir_.sub("scratch"));
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->first_seq, 2u);
  auto refused = rebuild_profiles(*database_, new_rules());
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.message(), HasSubstr("starts at seq 2"));
  EXPECT_EQ(find("anonymous_id", "a1"), 1u) << "refused before changing anything";
  ASSERT_TRUE(rebuild_profiles(*database_, new_rules(), nullptr, true).is_ok());
  EXPECT_EQ(find("anonymous_id", "a1"), 0u) << "its only event is gone";
}

TEST_F(RulesChangeTest, AnInterruptedRebuildIsRefusedUntilRunAgain) {
  processor_.reset();
  ASSERT_TRUE(database_->put_meta(kRebuildKey, "1").is_ok());
  auto refused = Processor::open(*database_, default_rules(), {});
  ASSERT_FALSE(refused.has_value());
  EXPECT_THAT(refused.status().message(), HasSubstr("run it again"));
  ASSERT_TRUE(rebuild_profiles(*database_, default_rules()).is_ok());
  EXPECT_TRUE(Processor::open(*database_, default_rules(), {}).has_value());
  EXPECT_EQ(find("anonymous_id", "a2"), find("anonymous_id", "a1"));
}

}  // namespace
}  // namespace cdp::pipeline
