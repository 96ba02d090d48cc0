#include "identity/resolver.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

namespace cdp::identity {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Identity state in plain maps; apply() plays the part of the processor.
class MapState final : public IdentityState {
 public:
  std::optional<ProfileId> holder(const Identifier& identifier) override {
    auto it = holders_.find(identifier);
    if (it == holders_.end()) return std::nullopt;
    return it->second;
  }
  bool is_quarantined(const Identifier& identifier) override {
    return quarantined_.count(identifier) > 0;
  }
  const ProfileIdentity& identity_of(ProfileId profile) override { return profiles_[profile]; }
  const UnmergeBlocks* unmerge_blocks() override { return &blocks_; }

  // Applies a resolution the way the processor does; returns the profile.
  ProfileId apply(const Resolution& resolution, int64_t time) {
    ProfileId target = resolution.create ? ++last_ : resolution.profile.value_or(0);
    if (target == 0) return 0;
    auto& identity = profiles_[target];
    for (auto loser : resolution.merged) {
      for (auto& held : profiles_[loser].identifiers) {
        holders_[held.identifier] = target;
        identity.identifiers.push_back(held);
      }
      identity.merges += 1 + profiles_[loser].merges;
      profiles_.erase(loser);
    }
    for (const auto& id : resolution.new_identifiers) {
      holders_[id] = target;
      identity.identifiers.push_back({id, time});
    }
    for (auto& held : identity.identifiers) {
      for (const auto& id : resolution.identifiers) {
        if (held.identifier == id) held.last_seen_ms = time;
      }
    }
    return target;
  }

  std::set<ProfileId> live() const {
    std::set<ProfileId> out;
    for (const auto& [id, identity] : profiles_) out.insert(id);
    return out;
  }

  std::set<Identifier> quarantined_;
  UnmergeBlocks blocks_;

 private:
  std::map<Identifier, ProfileId> holders_;
  std::map<ProfileId, ProfileIdentity> profiles_;
  ProfileId last_ = 0;
};

class ResolverTest : public ::testing::Test {
 protected:
  void use(IdentityRules config) { rules_ = *CompiledRules::compile(std::move(config)); }

  ProfileId send(std::vector<Identifier> identifiers, int64_t time = 1000) {
    last_ = Resolver(rules_).resolve(std::move(identifiers), time, state_);
    return state_.apply(last_, time);
  }

  std::shared_ptr<const CompiledRules> rules_ = *CompiledRules::compile(IdentityRules::defaults());
  MapState state_;
  Resolution last_;
};

const Identifier kUser1{"user_id", "abc123"};
const Identifier kUser2{"user_id", "abc456"};
const Identifier kJane{"email", "jane@example1.com"};
const Identifier kAnon1{"anonymous_id", "a1"};
const Identifier kAnon2{"anonymous_id", "a2"};

TEST_F(ResolverTest, NoMatchCreatesOneMatchAttachesSeveralMergeIntoTheOldest) {
  const auto first = send({kAnon1});
  EXPECT_TRUE(last_.create);
  const auto second = send({kAnon2});
  EXPECT_NE(first, second);
  EXPECT_EQ(send({kAnon1, kJane}), first);
  EXPECT_THAT(last_.new_identifiers, ElementsAre(kJane));
  EXPECT_EQ(send({kJane, kAnon2}), first) << "the oldest profile survives";
  EXPECT_THAT(last_.merged, ElementsAre(second));
  EXPECT_EQ(state_.live(), std::set<ProfileId>{first});
}

TEST_F(ResolverTest, SegmentsPriorityExampleCreatesANewProfileForTheSecondUserId) {
  // A profile holds user_id abc123 and jane@example1.com; an event with user_id abc456 and the
  // same email would give the profile two user_ids (limit 1): email, the lower priority, is
  // dropped and matching retried, so abc456 gets a profile of its own.
  const auto first = send({kUser1, kJane});
  const auto second = send({kUser2, kJane});
  EXPECT_NE(first, second);
  EXPECT_TRUE(last_.create);
  EXPECT_THAT(last_.identifiers, ElementsAre(kUser2));
  ASSERT_EQ(last_.dropped.size(), 1u);
  EXPECT_EQ(last_.dropped[0].identifier, kJane);
  EXPECT_EQ(last_.dropped[0].reason, DropReason::kLimit);
  EXPECT_EQ(last_.dropped[0].rule, "user_id limit 1");
  EXPECT_EQ(last_.dropped[0].holder, first);
  EXPECT_EQ(state_.holder(kJane), first) << "the email stays where it was";
}

TEST_F(ResolverTest, ANewIdentifierIsNotLostWhenAnotherOneConflicts) {
  const auto first = send({kUser1, kJane});
  const auto second = send({kUser2, kJane, kAnon1});
  EXPECT_NE(second, first);
  EXPECT_THAT(last_.identifiers, ElementsAre(kUser2, kAnon1))
      << "a1 was dropped while retrying, then offered back: no profile held it";
  EXPECT_EQ(state_.holder(kAnon1), second);
}

TEST_F(ResolverTest, BlockedValuesNeverMatch) {
  const auto first = send({{"user_id", "u1"}, {"anonymous_id", "null"}});
  const auto second = send({{"user_id", "u2"}, {"anonymous_id", "null"}});
  EXPECT_NE(first, second);
  ASSERT_EQ(last_.dropped.size(), 1u);
  EXPECT_EQ(last_.dropped[0].reason, DropReason::kBlocked);
  EXPECT_EQ(state_.holder({"anonymous_id", "null"}), std::nullopt);
}

TEST_F(ResolverTest, AnEventWithOnlyBlockedIdentifiersHasNoProfile) {
  send({{"anonymous_id", "0"}, {"user_id", "-1"}});
  EXPECT_FALSE(last_.create);
  EXPECT_FALSE(last_.profile.has_value());
  EXPECT_EQ(last_.dropped.size(), 2u);
}

TEST_F(ResolverTest, QuarantinedIdentifiersNoLongerMatch) {
  const Identifier ipad{"device_id", "store-ipad"};
  const auto first = send({kUser1, ipad});
  state_.quarantined_.insert(ipad);
  EXPECT_NE(send({kUser2, ipad}), first);
  EXPECT_EQ(last_.dropped[0].reason, DropReason::kQuarantined);
}

TEST_F(ResolverTest, LimitsWithAWindowOnlyCountRecentValues) {
  auto config = IdentityRules::defaults();
  config.types["anonymous_id"].limit = 2;
  config.types["anonymous_id"].window_ms = 7 * 86'400'000LL;
  use(config);
  const int64_t day = 86'400'000;
  const auto profile = send({kUser1, kAnon1}, 0);
  EXPECT_EQ(send({kUser1, kAnon2}, 1 * day), profile);
  EXPECT_EQ(send({kUser1, {"anonymous_id", "a3"}}, 2 * day), profile);
  EXPECT_THAT(last_.new_identifiers, IsEmpty()) << "a1, a2 and a3 within 7 days: over the limit";
  EXPECT_EQ(send({kUser1, {"anonymous_id", "a4"}}, 20 * day), profile);
  EXPECT_THAT(last_.new_identifiers, ElementsAre(Identifier{"anonymous_id", "a4"}))
      << "a1 and a2 were last seen more than 7 days before";
}

TEST_F(ResolverTest, MergesStopAtTheCap) {
  auto config = IdentityRules::defaults();
  config.max_merges_per_profile = 2;
  config.types["email"].limit = 100;
  use(config);
  const auto hub = send({{"email", "e0"}});
  for (int i = 1; i <= 3; ++i) send({{"email", "e" + std::to_string(i)}});
  send({{"email", "e0"}, {"email", "e1"}});
  send({{"email", "e0"}, {"email", "e2"}});
  EXPECT_EQ(last_.merged.size(), 1u);
  const auto refused = send({{"email", "e0"}, {"email", "e3"}});
  EXPECT_EQ(refused, hub);
  EXPECT_THAT(last_.merged, IsEmpty());
  ASSERT_EQ(last_.dropped.size(), 1u);
  EXPECT_EQ(last_.dropped[0].reason, DropReason::kMaxMerges);
}

TEST_F(ResolverTest, DuplicateIdentifiersOnOneEventCountOnce) {
  const auto profile = send({kUser1, kUser1, kJane, kJane});
  EXPECT_THAT(last_.identifiers, ElementsAre(kUser1, kJane));
  EXPECT_EQ(send({kUser1}), profile);
}

}  // namespace
}  // namespace cdp::identity

namespace cdp::identity {
namespace {

TEST_F(ResolverTest, AnUnmergeBlockKeepsItsSidesApartEvenThroughAThirdIdentifier) {
  state_.blocks_.add(UnmergeBlock{7, {{kAnon1}, {kJane, kUser1}}});
  const auto jane = send({kUser1, kJane});
  const auto anon = send({kAnon1});
  EXPECT_NE(anon, jane);
  // Directly: the lowest-priority identifier (the anonymous id) is dropped.
  EXPECT_EQ(send({kJane, kAnon1}), jane);
  ASSERT_EQ(last_.dropped.size(), 1u);
  EXPECT_EQ(last_.dropped[0].identifier, kAnon1);
  EXPECT_EQ(last_.dropped[0].reason, DropReason::kUnmerged);
  EXPECT_EQ(last_.dropped[0].rule, "split by unmerge 7");
  // Through a new identifier seen with each side in turn.
  EXPECT_EQ(send({kAnon1, kAnon2}), anon);
  EXPECT_EQ(send({kAnon2, kJane}), jane)
      << "the anonymous id, lower in priority, is dropped: the profiles stay apart";
  EXPECT_THAT(last_.merged, IsEmpty());
  EXPECT_EQ(state_.live(), (std::set<ProfileId>{jane, anon}));

  state_.blocks_.remove(7);
  send({kAnon2, kJane});
  EXPECT_THAT(last_.merged, ElementsAre(anon)) << "re-allowed: they may merge again";
}

TEST_F(ResolverTest, AnEventOffersAtMostFiftyIdentifiers) {
  std::vector<Identifier> many;
  for (int i = 0; i < 60; ++i) many.push_back({"external", "x" + std::to_string(100 + i)});
  IdentityRules rules = IdentityRules::defaults();
  rules.default_rule.limit = 100;
  use(rules);
  send(many);
  EXPECT_EQ(last_.identifiers.size(), kMaxIdentifiersPerEvent);
  ASSERT_EQ(last_.dropped.size(), 10u);
  EXPECT_EQ(last_.dropped[0].reason, DropReason::kPerEvent);
  EXPECT_EQ(last_.dropped.back().identifier.value, "x150") << "the lowest in priority order go";
}

}  // namespace
}  // namespace cdp::identity
