// Scenario tests for probabilistic links (source cdp:match): a link merges the profiles holding
// its two identifiers with a `probabilistic` edge carrying the score and explanation; the rules
// still apply to it; the same unmerge undoes it; an unmerge of something else keeps it; and the
// state stays a pure function of the log.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pipeline/internal/processor_fixture.h"
#include "profile/state_records.h"

namespace cdp::pipeline {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class ProbabilisticLinkTest : public internal::ProcessorFixture {
 protected:
  uint64_t link(const std::string& a, const std::string& b, double score = 0.97) {
    return append(R"({"type":"link","messageId":"match-1","a":")" + a + R"(","b":")" + b +
                      R"(","score":)" + std::to_string(score) +
                      R"(,"explanation":{"weight":5.1,"fields":[{"comparison":"first_name",)"
                      R"("level":"nickname"}]}})",
                  std::string(storage::kMatchSource));
  }
  uint64_t command(const std::string& json) {
    return append(json, std::string(storage::kAdminSource));
  }

  std::vector<profile::Edge> edges(profile::ProfileId id) {
    auto all = store_->edges(get(id));
    EXPECT_TRUE(all.has_value());
    return all ? *all : std::vector<profile::Edge>{};
  }

  // Two CRM records that share no key: Jon (crm 1) and Jonathan (crm 2), each with an order.
  void two_records() {
    append(R"({"type":"identify","messageId":"r1","userId":"u-jon",
      "timestamp":"2024-05-01T10:00:00Z","traits":{"firstName":"Jon","city":"Leeds"}})",
           "crm");
    append(R"({"type":"identify","messageId":"r2","traits":{"email":"jonathan@example.com",
      "firstName":"Jonathan","phone_verified":true},"timestamp":"2024-05-02T10:00:00Z"})",
           "crm");
    append(R"({"type":"track","messageId":"e1","userId":"u-jon","event":"Order Completed",
      "timestamp":"2024-05-03T10:00:00Z"})");
    process();
    ASSERT_EQ(find("user_id", "u-jon"), 1u);
    ASSERT_EQ(find("email", "jonathan@example.com"), 2u);
  }
};

TEST_F(ProbabilisticLinkTest, ALinkMergesTheTwoProfilesWithAProbabilisticEdge) {
  two_records();
  const auto seq = link("user_id:u-jon", "email:jonathan@example.com", 0.987);
  process();
  EXPECT_EQ(find("email", "jonathan@example.com"), 1u) << "the oldest profile survives";
  const auto survivor = get(1);
  EXPECT_THAT(survivor.merged_from, ElementsAre(2u));
  EXPECT_EQ(survivor.traits.at("firstName").json, "\"Jonathan\"") << "newest trait wins";
  EXPECT_EQ(survivor.traits.at("city").json, "\"Leeds\"");
  EXPECT_EQ(survivor.event_count, 3u) << "the link itself is not an event";
  bool found = false;
  for (const auto& edge : edges(1)) {
    if (edge.kind != profile::EdgeKind::kProbabilistic) continue;
    found = true;
    EXPECT_EQ(edge.seq, seq);
    EXPECT_EQ(edge.message_id, "match-1");
    EXPECT_EQ(edge.other_profile, 2u);
    EXPECT_DOUBLE_EQ(edge.score, 0.987);
    EXPECT_THAT(edge.rule, HasSubstr("match probability 0.9870"));
    EXPECT_THAT(edge.explanation, HasSubstr("\"level\":\"nickname\""));
    EXPECT_THAT(edge.identifiers, ElementsAre("user_id:u-jon", "email:jonathan@example.com"));
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(profile::decode_edge(profile::encode_edge(edges(1).back()))->explanation,
            edges(1).back().explanation)
      << "the explanation round-trips through storage";
}

TEST_F(ProbabilisticLinkTest, ALinkBetweenUnknownIdentifiersOrOneProfileChangesNothing) {
  two_records();
  link("user_id:u-jon", "email:nobody@example.com");
  link("user_id:u-jon", "user_id:u-jon");
  process();
  EXPECT_EQ(find("email", "nobody@example.com"), 0u) << "a link creates no identifier";
  EXPECT_EQ(find("email", "jonathan@example.com"), 2u);
  EXPECT_TRUE(get(1).merged_from.empty());
}

TEST_F(ProbabilisticLinkTest, RulesStillApplyAndARefusedLinkSaysWhy) {
  two_records();
  append(R"({"type":"identify","messageId":"r3","userId":"u-other",
    "traits":{"email":"jonathan@example.com"}})");
  process();
  ASSERT_EQ(find("user_id", "u-other"), 2u);
  // Profile 2 now has a user_id of its own: one user_id per profile forbids the merge.
  link("user_id:u-jon", "user_id:u-other");
  process();
  EXPECT_EQ(find("user_id", "u-other"), 2u);
  EXPECT_TRUE(get(1).merged_from.empty());
  bool refused = false;
  for (const auto& edge : edges(1)) {
    if (edge.kind == profile::EdgeKind::kDrop) {
      refused = true;
      EXPECT_THAT(edge.rule, HasSubstr("probabilistic link refused: limit"));
    }
  }
  EXPECT_TRUE(refused);
}

TEST_F(ProbabilisticLinkTest, TheSameUnmergeUndoesALinkAndKeepsItUndone) {
  two_records();
  link("user_id:u-jon", "email:jonathan@example.com");
  process();
  ASSERT_THAT(get(1).merged_from, ElementsAre(2u));
  command(R"({"type":"unmerge","messageId":"u1","profile":"p_1","merged":"p_2",
    "anchor":"user_id:u-jon","merged_anchor":"email:jonathan@example.com"})");
  process();
  EXPECT_EQ(find("user_id", "u-jon"), 1u);
  EXPECT_EQ(find("email", "jonathan@example.com"), 2u) << "split back";
  EXPECT_TRUE(get(1).merged_from.empty());
  EXPECT_EQ(get(2).traits.at("firstName").json, "\"Jonathan\"");
  EXPECT_EQ(get(1).traits.at("firstName").json, "\"Jon\"");
  // The matcher proposing the same pair again is refused by the unmerge's block, and says so.
  link("user_id:u-jon", "email:jonathan@example.com");
  process();
  EXPECT_EQ(find("email", "jonathan@example.com"), 2u);
  bool refused = false;
  for (const auto& edge : edges(1)) {
    refused = refused || edge.rule.starts_with("probabilistic link refused: unmerged");
  }
  EXPECT_TRUE(refused);
}

TEST_F(ProbabilisticLinkTest, AnUnmergeOfSomethingElseKeepsTheProbabilisticMerge) {
  two_records();
  link("user_id:u-jon", "email:jonathan@example.com");
  append(R"({"type":"track","messageId":"e2","userId":"u-jon","anonymousId":"shared-tablet",
    "event":"Viewed"})");
  process();
  ASSERT_THAT(get(1).merged_from, ElementsAre(2u));
  command(R"({"type":"unmerge","messageId":"u2","profile":"p_1",
    "identifier":"anonymous_id:shared-tablet"})");
  process();
  EXPECT_NE(find("anonymous_id", "shared-tablet"), 1u) << "the tablet is split off";
  EXPECT_EQ(find("email", "jonathan@example.com"), 1u) << "the link was re-applied";
  EXPECT_THAT(get(1).merged_from, ElementsAre(2u));
}

TEST_F(ProbabilisticLinkTest, ALinkBetweenOneProfileIsKeptAndHoldsItTogetherAfterAnUnmerge) {
  // Jon's CRM record and his email are on one profile only through a shared tablet id.
  append(R"({"type":"identify","userId":"u-jon","anonymousId":"tablet"})");
  append(R"({"type":"identify","anonymousId":"tablet","traits":{"email":"jon@example.com"}})");
  process();
  ASSERT_EQ(find("email", "jon@example.com"), find("user_id", "u-jon"));
  link("user_id:u-jon", "email:jon@example.com");
  process();
  bool kept = false;
  for (const auto& edge : edges(find("user_id", "u-jon"))) {
    kept = kept || (edge.kind == profile::EdgeKind::kProbabilistic &&
                    edge.rule.ends_with("(already one profile)"));
  }
  EXPECT_TRUE(kept) << "a link that merged nothing is still an edge";
  // The tablet turns out to be shared: without it, the link alone keeps Jon together.
  command(R"({"type":"unmerge","profile":"p_1","identifier":"anonymous_id:tablet"})");
  process();
  EXPECT_NE(find("anonymous_id", "tablet"), find("user_id", "u-jon"));
  EXPECT_EQ(find("email", "jon@example.com"), find("user_id", "u-jon"));
}

TEST_F(ProbabilisticLinkTest, StateWithLinksAndUnmergesIsAPureFunctionOfTheLog) {
  two_records();
  link("user_id:u-jon", "email:jonathan@example.com");
  append(R"({"type":"identify","userId":"u-3","traits":{"email":"third@example.com"}})");
  link("email:third@example.com", "user_id:u-jon", 0.93);
  command(R"({"type":"unmerge","profile":"p_1","merged":"p_2"})");
  append(R"({"type":"track","userId":"u-jon","event":"Viewed"})");
  process();
  reopen();
  EXPECT_EQ(
      internal::dump_state(*database_),
      internal::replay_log(*database_, dir_.sub("replay"),
                           *identity::CompiledRules::compile(identity::IdentityRules::defaults())));
}

}  // namespace
}  // namespace cdp::pipeline
