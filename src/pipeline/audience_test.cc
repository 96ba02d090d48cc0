// Audiences and computed traits in the processor: definitions are log entries, events move
// profiles in and out, ticks let time pass, merges and unmerges carry state, and everything is
// written with the processor's batch (members, history, change log) as a pure function of the log.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "common/time_format.h"
#include "pipeline/internal/processor_fixture.h"
#include "pipeline/rules_change.h"
#include "profile/audience_preview.h"
#include "profile/audience_records.h"
#include "profile/profile_pass.h"

namespace cdp::pipeline {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr int64_t kDay = 86'400'000;

class AudienceTest : public internal::ProcessorFixture {
 protected:
  uint64_t command(const std::string& json, int64_t received_at_ms = 0) {
    return append(json, std::string(storage::kAdminSource), received_at_ms);
  }
  uint64_t define_audience(const std::string& name, const std::string& condition) {
    return command(R"({"type":"define_audience","name":")" + name +
                   R"(","definition":{"condition":)" + condition + "}}");
  }
  uint64_t view(const std::string& user, int64_t received_at_ms = 0) {
    return append(R"({"type":"track","event":"View","userId":")" + user + R"("})", "web",
                  received_at_ms);
  }

  std::vector<std::string> audiences_of(profile::ProfileId id) {
    std::vector<std::string> names;
    for (const auto& [name, since] : get(id).audience.audiences) {
      names.emplace_back(name.data(), name.size());
    }
    return names;
  }

  std::vector<std::string> scan(rocksdb::ColumnFamilyHandle* family, const std::string& prefix) {
    std::vector<std::string> out;
    std::unique_ptr<rocksdb::Iterator> it(
        database_->db().NewIterator(rocksdb::ReadOptions(), family));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      out.push_back(it->value().ToString());
    }
    return out;
  }

  // The change log's audience changes (`everything`: its trait changes too).
  std::vector<std::string> changes(bool everything = false) {
    std::vector<std::string> items;
    EXPECT_TRUE(
        profile::read_change_log(*database_, std::nullopt, [&](const profile::ChangeLogItem& item) {
          if (everything || item.json.find(R"("type":"traits_changed")") == std::string::npos) {
            items.push_back(item.json);
          }
          return true;
        }).is_ok());
    return items;
  }
  std::vector<std::string> members(const std::string& audience) {
    std::vector<std::string> ids;
    std::unique_ptr<rocksdb::Iterator> it(
        database_->db().NewIterator(rocksdb::ReadOptions(), database_->audiences()));
    const auto prefix = profile::member_prefix(audience);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      ids.push_back(profile::profile_id_text(
          storage::read_u64_be(it->key().ToStringView().substr(prefix.size()))));
    }
    return ids;
  }

  std::optional<audience::Value> computed(profile::ProfileId id, const std::string& name,
                                          int64_t now_ms) {
    auto definitions = profile::load_definitions(*database_);
    EXPECT_TRUE(definitions) << definitions.status().message();
    const audience::Engine engine(*definitions);
    for (auto& [trait, value] : engine.computed_values(get(id).audience, now_ms)) {
      if (trait == name) return value;
    }
    return std::nullopt;
  }
};

TEST_F(AudienceTest, EventsEnterAProfileAndTimePassingMakesItLeave) {
  define_audience("engaged", R"("performed \"View\" at least 2 times in last 1 day")");
  view("u1");
  process();
  EXPECT_THAT(audiences_of(1), IsEmpty());
  view("u1");
  process();
  EXPECT_THAT(audiences_of(1), ElementsAre("engaged"));
  EXPECT_THAT(members("engaged"), ElementsAre("p_1"));
  ASSERT_EQ(changes().size(), 1u);
  EXPECT_THAT(changes()[0],
              HasSubstr(R"("type":"audience_entered","audience":"engaged","profile":"p_1")"));

  // Nothing happens until time passes: a tick two days later takes the profile out.
  command(R"({"type":"tick"})", received_at_ms_ + 2 * kDay);
  process();
  EXPECT_THAT(audiences_of(1), IsEmpty());
  EXPECT_THAT(members("engaged"), IsEmpty());
  ASSERT_EQ(changes().size(), 2u);
  EXPECT_THAT(changes()[1], HasSubstr(R"("type":"audience_exited")"));
  EXPECT_THAT(changes()[1], HasSubstr(R"("cause":"time")"));
  EXPECT_THAT(scan(database_->audiences(), profile::history_prefix("engaged")),
              ElementsAre(profile::history_value(true), profile::history_value(false)));
  EXPECT_EQ(get(1).audience.next_check_ms, 0) << "nothing left to expire";
}

TEST_F(AudienceTest, NewDefinitionsSeeTheHistory) {
  view("u1");
  append(R"({"type":"track","event":"Order","userId":"u1","properties":{"total":30}})");
  append(R"({"type":"track","event":"Order","userId":"u1","properties":{"total":"12.5"}})");
  view("u2");
  process();
  command(
      R"({"type":"define_trait","name":"spend","definition":{"kind":"sum","event":"Order","property":"total"}})");
  define_audience("buyers", R"("computed.spend > 40 or performed \"Order\" at least 2 times")");
  define_audience("browsers", R"("performed \"View\" and not in audience \"buyers\"")");
  process();
  EXPECT_EQ(computed(1, "spend", received_at_ms_), audience::Value::of(42.5));
  EXPECT_EQ(computed(2, "spend", received_at_ms_), audience::Value::of(0.0));
  EXPECT_THAT(audiences_of(1), ElementsAre("buyers"));
  EXPECT_THAT(audiences_of(2), ElementsAre("browsers"));
  EXPECT_THAT(changes()[0], HasSubstr(R"("cause":"definition of buyers")"));
}

// A pass decodes the rest of a stored profile only when it needs it: a condition on traits reads
// them, and a change log entry names the profile's user_id.
TEST_F(AudienceTest, ADefinitionOverStoredProfilesReadsTheirTraitsAndUsers) {
  append(R"({"type":"identify","userId":"u1","traits":{"plan":"pro"}})");
  append(R"({"type":"identify","userId":"u2","traits":{"plan":"free"}})");
  view("u3");
  process();
  define_audience("pro", R"("trait.plan = \"pro\"")");
  define_audience("viewers", R"("performed \"View\"")");
  process();
  EXPECT_THAT(members("pro"), ElementsAre("p_1"));
  EXPECT_THAT(members("viewers"), ElementsAre("p_3"));
  const auto all = changes();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_THAT(all[0], HasSubstr(R"("audience":"pro","profile":"p_1","user_id":"u1",)"));
  EXPECT_THAT(all[1], HasSubstr(R"("audience":"viewers","profile":"p_3","user_id":"u3",)"));
}

// A windowed counter built from history starts with events long gone: the member it makes still
// leaves when its last event leaves the window.
TEST_F(AudienceTest, ADefinitionOverOldHistorySchedulesTheExit) {
  const int64_t start = received_at_ms_ + 1;
  view("u1", start);
  view("u1", start + 30 * kDay);
  define_audience("recent", R"("performed \"View\" in last 7 days")");
  command(R"({"type":"tick"})", start + 31 * kDay);
  process();
  EXPECT_THAT(members("recent"), ElementsAre("p_1"));
  command(R"({"type":"tick"})", start + 38 * kDay);
  process();
  EXPECT_THAT(members("recent"), IsEmpty());
}

// A date in the future enters the profile when it comes, although the definition found it out.
TEST_F(AudienceTest, ADefinitionSchedulesDatesThatHaveNotComeYet) {
  const int64_t start = 1'700'000'000'000;  // 2023-11-14T22:13:20Z
  append(R"({"type":"identify","userId":"u1","traits":{"trial_end":"2023-11-16T00:00:00Z"}})",
         "web", start);
  append(R"({"type":"identify","userId":"u2","traits":{"trial_end":"2023-10-01T00:00:00Z"}})");
  define_audience("ending", R"("trait.trial_end in last 1 days")");
  process();
  EXPECT_THAT(members("ending"), IsEmpty());
  command(R"({"type":"tick"})", start + kDay + kDay / 2);
  process();
  EXPECT_THAT(members("ending"), ElementsAre("p_1"));
}

TEST_F(AudienceTest, TraitsFromIdentifyMoveProfiles) {
  define_audience("pro", R"("trait.plan = \"pro\"")");
  append(R"({"type":"identify","userId":"u1","traits":{"plan":"pro"}})");
  append(R"({"type":"identify","userId":"u2","traits":{"plan":"free"}})");
  process();
  EXPECT_THAT(members("pro"), ElementsAre("p_1"));
  append(R"({"type":"identify","userId":"u1","traits":{"plan":"free"}})");
  append(R"({"type":"track","event":"x","userId":"u2","context":{"traits":{"plan":"pro"}}})");
  process();
  EXPECT_THAT(members("pro"), ElementsAre("p_2"));
}

// One entry holds every change an event made to a profile; readers see one item per change and
// may resume after any of them.
TEST_F(AudienceTest, TheChangeLogPagesThroughTheChangesOfOneEntry) {
  define_audience("pro", R"("trait.plan = \"pro\"")");
  define_audience("known", R"("trait.plan exists")");
  define_audience("free", R"("trait.plan = \"free\"")");
  append(R"({"type":"identify","userId":"u1","traits":{"plan":"pro"}})");
  append(R"({"type":"identify","userId":"u1","traits":{"plan":"free"}})");
  process();
  const auto all = changes(true);
  ASSERT_EQ(all.size(), 6u);
  EXPECT_THAT(all[0], HasSubstr(R"("type":"traits_changed","profile":"p_1")"));
  EXPECT_THAT(all[1], HasSubstr(R"("type":"audience_entered","audience":"known","profile":"p_1",)"
                                R"("user_id":"u1","time")"));
  EXPECT_THAT(all[2], HasSubstr(R"("type":"audience_entered","audience":"pro")"));
  EXPECT_THAT(all[3], HasSubstr(R"("type":"traits_changed")"));
  EXPECT_THAT(all[4], HasSubstr(R"("type":"audience_entered","audience":"free")"));
  EXPECT_THAT(all[5], HasSubstr(R"("type":"audience_exited","audience":"pro")"));
  EXPECT_EQ(scan(database_->changes(), "").size(), 4u)
      << "per event, one entry for its trait changes and one for its audience changes";
  // From every cursor, the rest.
  std::vector<profile::ChangeLogItem> items;
  ASSERT_TRUE(profile::read_change_log(*database_, std::nullopt, [&](const auto& item) {
                items.push_back(item);
                return true;
              }).is_ok());
  for (size_t k = 0; k < items.size(); ++k) {
    std::vector<std::string> rest;
    ASSERT_TRUE(profile::read_change_log(*database_,
                                         profile::ChangeCursor{items[k].seq, items[k].index},
                                         [&](const auto& item) {
                                           rest.push_back(item.json);
                                           return true;
                                         })
                    .is_ok());
    EXPECT_EQ(rest,
              std::vector<std::string>(all.begin() + static_cast<std::ptrdiff_t>(k) + 1, all.end()))
        << "after change " << k;
  }
}

TEST_F(AudienceTest, TraitChangesAreInTheChangeLogWithTheirNewValues) {
  append(R"({"type":"identify","userId":"u1","messageId":"m1","timestamp":"2026-01-02T00:00:00Z",)"
         R"("traits":{"plan":"pro","seats":3}})");
  // The same values again: no change. An older value: no change either.
  append(R"({"type":"identify","userId":"u1","messageId":"m2","timestamp":"2026-01-02T00:00:00Z",)"
         R"("traits":{"plan":"pro"}})");
  append(R"({"type":"identify","userId":"u1","messageId":"m3","timestamp":"2026-01-01T00:00:00Z",)"
         R"("traits":{"plan":"free"}})");
  // A new value in traits and another in context.traits: one entry with both.
  append(R"({"type":"track","event":"E","userId":"u1","messageId":"m4",)"
         R"("timestamp":"2026-01-03T00:00:00Z","context":{"traits":{"seats":4,"name":"Jo"}}})");
  process();
  const auto all = changes(true);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_THAT(all[0], HasSubstr(R"({"type":"traits_changed","profile":"p_1","user_id":"u1",)"
                                R"("traits":{"plan":"pro","seats":3},"time":")"));
  EXPECT_THAT(all[0], HasSubstr(R"("cause":"event m1","seq":1})"));
  EXPECT_THAT(all[1], HasSubstr(R"("traits":{"seats":4,"name":"Jo"})"));
  EXPECT_THAT(all[1], HasSubstr(R"("cause":"event m4","seq":4})"));
  EXPECT_TRUE(changes().empty()) << "no audience changes without audiences";
}

// Data of format version 4 has one change per change log entry, stored in the API's form, and
// JSON history values: both read as before, next to entries of this version.
TEST_F(AudienceTest, ChangesAndHistoryOfFormatVersion4AreRead) {
  const std::string old_entry =
      R"({"type":"audience_entered","audience":"old","profile":"p_9","time":"2024-05-01T12:30:00.000Z","cause":"event m1","seq":1})";
  const std::string old_exit =
      R"({"type":"audience_exited","audience":"old","profile":"p_9","time":"2024-05-01T12:30:00.000Z","cause":"event m1","seq":1})";
  ASSERT_TRUE(
      database_->db()
          .Put(rocksdb::WriteOptions(), database_->changes(), profile::change_key(1, 0), old_entry)
          .ok());
  ASSERT_TRUE(
      database_->db()
          .Put(rocksdb::WriteOptions(), database_->changes(), profile::change_key(1, 1), old_exit)
          .ok());
  define_audience("pro", R"("trait.plan = \"pro\"")");
  append(R"({"type":"identify","userId":"u1","traits":{"plan":"pro"}})");
  process();
  const auto all = changes();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0], old_entry);
  EXPECT_EQ(all[1], old_exit);
  EXPECT_THAT(all[2], HasSubstr(R"("type":"audience_entered","audience":"pro","profile":"p_1")"));
  std::vector<std::string> rest;
  ASSERT_TRUE(
      profile::read_change_log(*database_, profile::ChangeCursor{1, 0}, [&](const auto& item) {
        if (item.json.find("traits_changed") == std::string::npos) rest.push_back(item.json);
        return true;
      }).is_ok());
  EXPECT_EQ(rest, std::vector<std::string>(all.begin() + 1, all.end()));

  EXPECT_TRUE(profile::history_entered(R"({"entered":true,"cause":"event m1"})"));
  EXPECT_FALSE(profile::history_entered(R"({"entered":false,"cause":"time"})"));
  EXPECT_TRUE(profile::history_entered(profile::history_value(true)));
  EXPECT_FALSE(profile::history_entered(profile::history_value(false)));
}

TEST_F(AudienceTest, MergedProfilesCountTogetherAndTheMergedAwayOneLeaves) {
  define_audience("engaged", R"("performed \"View\" at least 2 times")");
  define_audience("anyone", R"("trait.email exists or not trait.email exists")");
  append(R"({"type":"track","event":"View","anonymousId":"a1"})");
  append(R"({"type":"track","event":"View","anonymousId":"a2"})");
  process();
  EXPECT_THAT(members("anyone"), ElementsAre("p_1", "p_2"));
  EXPECT_THAT(members("engaged"), IsEmpty());
  append(R"({"type":"identify","anonymousId":"a1","traits":{"email":"j@example.com"}})");
  append(R"({"type":"identify","anonymousId":"a2","traits":{"email":"j@example.com"}})");
  process();
  EXPECT_THAT(members("engaged"), ElementsAre("p_1"));
  EXPECT_THAT(members("anyone"), ElementsAre("p_1"));
  const auto log = changes();
  EXPECT_TRUE(std::any_of(log.begin(), log.end(), [](const std::string& entry) {
    return entry.find(R"("type":"audience_exited","audience":"anyone","profile":"p_2")") !=
               std::string::npos &&
           entry.find("merged into p_1") != std::string::npos;
  }));

  // Split again: each part counts only its own events.
  command(R"({"type":"unmerge","profile":"p_1","merged":"p_2"})");
  process();
  EXPECT_THAT(members("engaged"), IsEmpty());
  EXPECT_THAT(members("anyone"), ElementsAre("p_1", "p_2"));
}

// A receiver keyed by user_id must not drop the user when the profile that held the user_id is
// merged into one that is in the same audience: that exit leaves without the user_id.
TEST_F(AudienceTest, AMergedAwayProfileLeavesWithoutTheUserIdWhereTheSurvivorStays) {
  define_audience("anyone", R"("trait.email exists or not trait.email exists")");
  append(R"({"type":"track","event":"View","anonymousId":"a1"})");
  append(R"({"type":"identify","userId":"u9","traits":{"plan":"pro"}})");
  process();
  EXPECT_THAT(members("anyone"), ElementsAre("p_1", "p_2"));
  append(R"({"type":"alias","previousId":"a1","userId":"u9"})");
  process();
  ASSERT_EQ(get(1).merged_into, 0U);
  ASSERT_EQ(get(2).merged_into, 1U);
  EXPECT_THAT(members("anyone"), ElementsAre("p_1"));
  const auto log = changes();
  const auto exit = std::find_if(log.begin(), log.end(), [](const std::string& entry) {
    return entry.find(R"("type":"audience_exited","audience":"anyone","profile":"p_2")") !=
           std::string::npos;
  });
  ASSERT_NE(exit, log.end());
  EXPECT_THAT(*exit, HasSubstr("merged into p_1"));
  EXPECT_THAT(*exit, Not(HasSubstr("u9"))) << "u9 is still in 'anyone', through p_1";
}

TEST_F(AudienceTest, AProbabilisticLinkReevaluatesTheMergedProfile) {
  define_audience("engaged", R"("performed \"View\" at least 2 times")");
  view("u1");
  append(R"({"type":"identify","anonymousId":"a9","traits":{"email":"x@example.com"}})");
  append(R"({"type":"track","event":"View","anonymousId":"a9"})");
  process();
  EXPECT_THAT(members("engaged"), IsEmpty());
  append(R"({"type":"link","a":"user_id:u1","b":"email:x@example.com","score":0.99})",
         std::string(storage::kMatchSource));
  process();
  EXPECT_THAT(members("engaged"), ElementsAre("p_1"));
  EXPECT_THAT(changes().back(), HasSubstr(R"("cause":"link")"));
}

TEST_F(AudienceTest, RedefiningAComputedTraitComputesItAgain) {
  append(R"({"type":"track","event":"Order","userId":"u1","properties":{"total":30}})");
  append(R"({"type":"track","event":"Refund","userId":"u1","properties":{"total":5}})");
  command(
      R"({"type":"define_trait","name":"t","definition":{"kind":"sum","event":"Order","property":"total"}})");
  process();
  EXPECT_EQ(computed(1, "t", received_at_ms_), audience::Value::of(30.0));
  command(
      R"({"type":"define_trait","name":"t","definition":{"kind":"sum","event":"Refund","property":"total"}})");
  process();
  EXPECT_EQ(computed(1, "t", received_at_ms_), audience::Value::of(5.0));
  // A profile that performed only the old event drops what it had, defined again or deleted
  // and defined again.
  append(R"({"type":"track","event":"Order","userId":"u2","properties":{"total":7}})");
  command(R"({"type":"define_trait","name":"t","definition":{"kind":"count","event":"Order"}})");
  process();
  EXPECT_EQ(computed(2, "t", received_at_ms_), audience::Value::of(1.0));
  command(R"({"type":"define_trait","name":"t","definition":{"kind":"count","event":"Refund"}})");
  process();
  EXPECT_EQ(computed(2, "t", received_at_ms_), audience::Value::of(0.0));
  command(R"({"type":"define_trait","name":"t","definition":{"kind":"count","event":"Order"}})");
  command(R"({"type":"delete_trait","name":"t"})");
  command(R"({"type":"define_trait","name":"t","definition":{"kind":"count","event":"Refund"}})");
  process();
  EXPECT_EQ(computed(2, "t", received_at_ms_), audience::Value::of(0.0));
  EXPECT_TRUE(get(2).audience.aggregates.empty());
}

TEST_F(AudienceTest, ARebuildRecomputesMembershipsUnderTheSameDefinitions) {
  define_audience("engaged", R"("performed \"View\" at least 2 times")");
  view("u1");
  view("u1");
  view("u2");
  process();
  const auto before = internal::dump_state(*database_);
  processor_.reset();
  ASSERT_TRUE(rebuild_profiles(*database_, *identity::CompiledRules::compile(
                                               identity::IdentityRules::defaults()))
                  .is_ok());
  reopen();
  EXPECT_THAT(members("engaged"), ElementsAre("p_1"));
  EXPECT_EQ(internal::dump_state(*database_), before);
}

TEST_F(AudienceTest, ADefinitionReportsItsProgressThroughTheProfiles) {
  for (int user = 0; user < 3000; ++user) view("u" + std::to_string(user));
  process();
  std::vector<std::pair<std::string, uint64_t>> reported;
  Processor::Options options;
  options.on_definition_progress = [&](std::string_view name, uint64_t done, uint64_t total) {
    reported.emplace_back(std::string(name), done);
    EXPECT_EQ(total, name.empty() ? 0u : 3000u);
  };
  reopen(identity::IdentityRules::defaults(), std::move(options));
  define_audience("engaged", R"("performed \"View\"")");
  process();
  EXPECT_THAT(reported, ElementsAre(std::pair<std::string, uint64_t>{"audience engaged", 1024},
                                    std::pair<std::string, uint64_t>{"audience engaged", 2048},
                                    std::pair<std::string, uint64_t>{"", 0}));
  EXPECT_EQ(processor_->definition_progress().name, "");
  EXPECT_EQ(members("engaged").size(), 3000u);
}

TEST_F(AudienceTest, DeletingAnAudienceEmptiesIt) {
  define_audience("engaged", R"("performed \"View\"")");
  view("u1");
  process();
  EXPECT_THAT(members("engaged"), ElementsAre("p_1"));
  command(R"({"type":"delete_audience","name":"engaged"})");
  process();
  EXPECT_THAT(members("engaged"), IsEmpty());
  EXPECT_THAT(audiences_of(1), IsEmpty());
  EXPECT_THAT(changes().back(), HasSubstr(R"("type":"audience_exited","audience":"engaged")"));
  EXPECT_THAT(changes().back(), HasSubstr(R"("cause":"deletion of engaged")"));
}

TEST_F(AudienceTest, AnInvalidDefinitionInTheLogChangesNothing) {
  define_audience("a", R"("in audience \"missing\"")");
  view("u1");
  process();
  EXPECT_THAT(scan(database_->audiences(), "d/"), IsEmpty());
  EXPECT_THAT(audiences_of(1), IsEmpty());
}

TEST_F(AudienceTest, StateIsAPureFunctionOfTheLogAcrossRestarts) {
  define_audience("engaged", R"("performed \"View\" at least 2 times in last 1 day")");
  view("u1");
  view("u1");
  append(R"({"type":"identify","anonymousId":"a1","userId":"u1","traits":{"plan":"pro"}})");
  process();
  reopen();  // definitions are read back from the database
  view("u2");
  define_audience("pro", R"("trait.plan = \"pro\" and in audience \"engaged\"")");
  command(R"({"type":"tick"})", received_at_ms_ + 3 * kDay);
  view("u2");
  process();
  EXPECT_THAT(members("pro"), IsEmpty());
  EXPECT_EQ(
      internal::dump_state(*database_),
      internal::replay_log(*database_, dir_.sub("replay"),
                           *identity::CompiledRules::compile(identity::IdentityRules::defaults())));
}

// The candidate index only narrows which profiles a definition command reads: a random log of
// identifies, events, merges, definitions and deletions (with restarts, which build the index
// anew and drop its stale bits) builds exactly the state that reading every profile builds.
TEST_F(AudienceTest, TheCandidateIndexChangesNoOutcome) {
  std::mt19937 random(11);
  const std::vector<std::string> conditions = {
      R"("trait.plan = \"pro\"")",
      R"("trait.plan in (\"pro\", \"team\") and performed \"View\"")",
      R"("performed \"Buy\" where property.total > 20 at least 2 times in last 2 days")",
      R"("performed \"View\" then \"Buy\" within 1 day")",
      R"("trait.visits > 3 or in audience \"a0\"")",
      R"("not trait.plan = \"free\" and performed \"View\" at most 2 times")",
      R"("computed.spend > 30")",
      R"("trait.seen in last 1 days and trait.plan = \"pro\"")"};  // last: "dated"
  command(R"({"type":"define_trait","name":"spend","definition":{"kind":"sum","event":"Buy",)"
          R"("property":"total"}})");
  size_t defined = 0;
  for (int step = 0; step < 600; ++step) {
    const auto user = std::to_string(random() % 40);
    const auto kind = random() % 20;
    if (kind < 5) {
      // Users 20 and up stay on "free": the index never lets them through on `plan = "pro"`.
      const char* plans[] = {"pro", "free", "team"};
      const char* plan = std::stoi(user) < 20 ? plans[random() % 3] : "free";
      // They also never share an anonymous id with a buyer (whose windowed counters give the
      // profile a check time anyway), and their `seen` dates are still to come when "dated" is
      // defined: the index must let them through for their checks.
      const auto anonymous = std::stoi(user) < 20 ? random() % 30 : 30 + random() % 30;
      append(R"({"type":"identify","userId":"u)" + user + R"(","anonymousId":"a)" +
             std::to_string(anonymous) + R"(","traits":{"plan":")" + plan + R"(","visits":)" +
             std::to_string(random() % 8) + R"(,"seen":")" +
             format_iso8601_ms(received_at_ms_ + (static_cast<int64_t>(random() % 40) - 2) * kDay) +
             "\"}}");
    } else if (kind < 11) {
      view("u" + user);
    } else if (kind < 12 && step > 300 && random() % 4 == 0) {
      // An audience on a date, defined when many profiles have one: it schedules their checks.
      if (random() % 2 == 0) {
        command(R"({"type":"delete_audience","name":"dated"})");
      } else {
        define_audience("dated", conditions.back());
      }
    } else if (kind < 17) {
      append(R"({"type":"track","event":"Buy","anonymousId":"a)" + std::to_string(random() % 30) +
                 R"(","properties":{"total":)" + std::to_string(random() % 40) + "}}",
             "web", received_at_ms_ + random() % (kDay / 2));
    } else if (kind < 18 && random() % 2 == 0) {
      // A computed trait no audience reads: defined anew on another event, deleted, defined again.
      if (random() % 3 == 0) {
        command(R"({"type":"delete_trait","name":"views"})");
      } else {
        command(R"({"type":"define_trait","name":"views","definition":{"kind":"count","event":")" +
                std::string(random() % 2 == 0 ? "View" : "Buy") + R"("}})");
      }
    } else if (kind < 19) {
      const auto name = "a" + std::to_string(defined < 3 ? defined : random() % 3);
      // a0 is read by another audience: redefine it, never delete it.
      if (defined >= 3 && name != "a0" && random() % 3 == 0) {
        command(R"({"type":"delete_audience","name":")" + name + R"("})");
      } else {
        define_audience(name, conditions[random() % (name == "a0" ? 4 : conditions.size() - 1)]);
      }
      ++defined;
    } else {
      command(R"({"type":"tick"})", received_at_ms_ + kDay / 4);
    }
    if (step % 150 == 149) {
      process();
      reopen();
    }
  }
  process();
  const auto with_index = internal::dump_state(*database_);
  Processor::Options reading_everything;
  reading_everything.candidate_index = false;
  EXPECT_EQ(with_index, internal::replay_log(
                            *database_, dir_.sub("everything"),
                            *identity::CompiledRules::compile(identity::IdentityRules::defaults()),
                            std::move(reading_everything)));
  // The log did move profiles in and out.
  EXPECT_GT(changes().size(), 50u);
}

// A definition command over many profiles is written in parts (a WriteBatch each, not one of
// gigabytes); a restart between parts goes on where the last part ended, and the state is what
// one batch would have built.
TEST_F(AudienceTest, ADefinitionIsAppliedInPartsThatSurviveRestarts) {
  std::mt19937 random(5);
  for (int step = 0; step < 600; ++step) {
    const auto user = "u" + std::to_string(random() % 120);
    if (random() % 3 == 0) {
      append(R"({"type":"identify","userId":")" + user + R"(","traits":{"plan":")" +
             (random() % 2 == 0 ? "pro" : "free") + R"("}})");
    } else {
      append(R"({"type":"track","event":"Buy","userId":")" + user + R"(","properties":{"total":)" +
             std::to_string(random() % 40) + "}}");
    }
  }
  define_audience("pro", R"("trait.plan = \"pro\"")");
  process();
  const auto buyers = define_audience(
      "buyers", R"("performed \"Buy\" where property.total > 20 at least 2 times")");
  command(R"({"type":"define_trait","name":"spend","definition":{"kind":"sum","event":"Buy",)"
          R"("property":"total"}})");
  define_audience("spenders", R"("computed.spend > 100 and in audience \"buyers\"")");
  command(R"({"type":"delete_audience","name":"pro"})");
  view("u1");

  Processor::Options small_parts;
  small_parts.definition_batch_bytes = 1;  // a part per profile it rewrites
  reopen(identity::IdentityRules::defaults(), small_parts);
  // A call applies up to Processor::kPartsPerCall parts, each written before it returns (one
  // while the next is worked out).
  size_t parts = 0;
  for (int call = 0; call < 3; ++call) {
    auto applied = processor_->process_batch();
    ASSERT_TRUE(applied.has_value()) << applied.status().to_string();
    EXPECT_EQ(*applied, Processor::kPartsPerCall);
    parts += *applied;
  }
  // Part of the way through "buyers": some profiles are in it, its definition is not stored yet
  // and the cursor has not passed it.
  EXPECT_LT(processor_->stats().cursor, buyers);
  EXPECT_THAT(scan(database_->audiences(), profile::audience_definition_key("buyers")), IsEmpty());
  EXPECT_THAT(members("buyers"), Not(IsEmpty()));
  for (size_t calls = 3;; ++calls) {
    auto applied = processor_->process_batch();
    ASSERT_TRUE(applied.has_value()) << applied.status().to_string();
    if (*applied == 0) break;
    parts += *applied;
    if (calls % 7 == 0) reopen(identity::IdentityRules::defaults(), small_parts);
  }
  EXPECT_GT(parts, 100u);
  auto resume = database_->get_meta(kDefinitionResumeKey);
  ASSERT_TRUE(resume.has_value());
  EXPECT_FALSE(resume->has_value());
  EXPECT_THAT(members("buyers"), Not(IsEmpty()));
  EXPECT_THAT(members("spenders"), Not(IsEmpty()));
  EXPECT_THAT(members("pro"), IsEmpty());
  EXPECT_EQ(
      internal::dump_state(*database_),
      internal::replay_log(*database_, dir_.sub("replay"),
                           *identity::CompiledRules::compile(identity::IdentityRules::defaults())));
}

// History (what a definition over existing profiles reads) adds up to what the same computed
// traits added up to as the events came: with merged profiles, numbers as strings, events
// without the property, events out of time order, and the definitions applied in parts.
TEST_F(AudienceTest, HistoryAddsUpAsTheEventsDid) {
  const std::vector<std::pair<std::string, std::string>> traits = {
      {"sum", R"("kind":"sum","event":"Buy","property":"total","where":"property.total > 10")"},
      {"count", R"("kind":"count","event":"Buy","where":"property.total > 20")"},
      {"max", R"("kind":"max","event":"Buy","property":"total")"},
      {"skus", R"("kind":"unique_count","event":"Buy","property":"sku")"},
      {"last", R"("kind":"last","property":"sku")"},  // of any event
      // Read from the timeline where its entry keeps the pad, from the raw log where it is long
      // and left out.
      {"pads", R"("kind":"unique_count","event":"Buy","property":"pad")"},
      {"padded", R"("kind":"count","event":"Buy","where":"property.pad contains \"y\"")"}};
  auto define = [&](const std::string& prefix) {
    for (const auto& [name, body] : traits) {
      command(R"({"type":"define_trait","name":")" + prefix + name + R"(","definition":{)" + body +
              "}}");
    }
  };
  define("live_");
  std::mt19937 random(17);
  for (int step = 0; step < 500; ++step) {
    const auto user = std::to_string(random() % 50);
    const auto anonymous = "a" + user + "-" + std::to_string(random() % 3);
    const auto who =
        random() % 2 == 0 ? R"("userId":"u)" + user + '"' : R"("anonymousId":")" + anonymous + '"';
    switch (random() % 6) {
      case 0:  // merges the anonymous profile into the user's
        append(R"({"type":"identify","userId":"u)" + user + R"(","anonymousId":")" + anonymous +
               R"("})");
        break;
      case 1: append(R"({"type":"track","event":"View",)" + who + "}"); break;
      default: {
        const auto total = random() % 4 == 0 ? R"("12.5")" : std::to_string(random() % 40);
        auto properties = random() % 8 == 0 ? std::string(R"({"sku":"s1"})")
                                            : R"({"total":)" + total + R"(,"sku":"s)" +
                                                  std::to_string(random() % 10) + "\"}";
        // A pad too long to be kept beside the timeline entry (history reads it from the raw
        // log), or a short one.
        if (random() % 5 == 0) {
          const auto length = random() % 2 == 0 ? profile::kTimelineValueLimit : 10;
          properties.insert(
              1, R"("pad":")" + std::string(length, random() % 2 == 0 ? 'x' : 'y') + "\",");
        }
        append(R"({"type":"track","event":"Buy",)" + who + R"(,"properties":)" + properties + "}",
               "web", received_at_ms_ + static_cast<int64_t>(random() % 1000) - 500);
      }
    }
  }
  process();
  Processor::Options small_parts;
  small_parts.definition_batch_bytes = 4096;  // a few profiles per part
  reopen(identity::IdentityRules::defaults(), small_parts);
  define("late_");
  process();
  auto compare = [&](const std::string& when) {
    size_t compared = 0;
    size_t merged = 0;
    for (profile::ProfileId id = 1; id < 1000; ++id) {
      auto stored = store_->get(id);
      if (!stored || !stored->has_value() || !(*stored)->live()) continue;
      merged += (*stored)->merged_from.size();
      for (const auto& [name, body] : traits) {
        const auto live = computed(id, "live_" + name, received_at_ms_);
        EXPECT_EQ(live, computed(id, "late_" + name, received_at_ms_))
            << when << ": p_" << id << " " << name;
        compared += live && !live->is_null() ? 1 : 0;
      }
    }
    EXPECT_GT(compared, 200u) << when;
    EXPECT_GT(merged, 10u) << when;
  };
  compare("after the definition");
  // The definition wrote its state as merge operands of the records: events applied after it
  // read and rewrite those records, and compaction folds the others in.
  for (int user = 0; user < 50; user += 2) {
    append(R"({"type":"track","event":"Buy","userId":"u)" + std::to_string(user) +
           R"(","properties":{"total":30,"sku":"s99"}})");
  }
  process();
  compare("after more events");
  rocksdb::CompactRangeOptions everything;
  everything.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  ASSERT_TRUE(
      database_->db().CompactRange(everything, database_->profiles(), nullptr, nullptr).ok());
  reopen();
  compare("after compaction and a restart");
}

// An event whose raw record retention deleted still feeds a new definition from what its
// timeline entry kept: a counter on a kept property counts it, one on a left-out property cannot,
// even when both are in one definition (whose other events are read from the raw log).
TEST_F(AudienceTest, HistoryWithoutTheRawRecordReadsWhatTheTimelineEntryKept) {
  define_audience("live",
                  R"("performed \"Buy\" where property.total > 6 at least 2 times and )"
                  R"(performed \"Buy\" where property.pad contains \"x\" at least 1 times")");
  const std::string pad(profile::kTimelineValueLimit, 'x');
  auto buy = [&](const std::string& user, int total) {
    return append(R"({"type":"track","event":"Buy","userId":")" + user +
                  R"(","properties":{"total":)" + std::to_string(total) + R"(,"pad":")" + pad +
                  R"("}})");
  };
  // u1's first purchase loses its raw record; u2's second.
  const auto u1_first = buy("u1", 7);
  buy("u1", 11);
  buy("u2", 8);
  const auto u2_second = buy("u2", 9);
  process();
  EXPECT_THAT(members("live"), ElementsAre("p_1", "p_2"));
  for (const auto seq : {u1_first, u2_second}) {
    ASSERT_TRUE(database_->db()
                    .Delete(rocksdb::WriteOptions(), database_->raw_log(), storage::u64_be(seq))
                    .ok());
  }
  // New counters (their own filters): history builds them.
  define_audience("late",
                  R"("performed \"Buy\" where property.total > 6.5 at least 2 times and )"
                  R"(performed \"Buy\" where property.pad contains \"xxx\" at least 1 times")");
  process();
  // Both still have two purchases over 6.5 (one from its entry alone) and one with a pad read
  // from the raw log.
  EXPECT_THAT(members("late"), ElementsAre("p_1", "p_2"));
  // A new counter on the left-out pad counts only the events still in the raw log.
  define_audience("padded_twice",
                  R"("performed \"Buy\" where property.pad contains \"xx\" at least 2 times")");
  process();
  EXPECT_THAT(members("padded_twice"), IsEmpty());
}

// A pass over stored profiles reads the same history on any number of threads, visits the
// profiles in id order, and stops where its visitor says.
TEST_F(AudienceTest, APassReadsTheSameHistoryOnAnyNumberOfThreads) {
  std::mt19937 random(3);
  for (int step = 0; step < 3000; ++step) {
    append(R"({"type":"track","event":"Buy","userId":"u)" + std::to_string(random() % 1200) +
           R"(","properties":{"total":)" + std::to_string(random() % 40) + "}}");
  }
  process();
  ingest::JsonParser parser;
  auto trait = audience::parse_computed_trait(
      "spend", **parser.parse(R"({"kind":"sum","event":"Buy","property":"total",)"
                              R"("where":"property.total > 10"})"));
  ASSERT_TRUE(trait.has_value()) << trait.status().message();
  auto compiled = audience::Definitions::compile({*trait}, {});
  ASSERT_TRUE(compiled.has_value()) << compiled.status().message();
  const audience::Engine engine(*compiled);
  const auto keys = profile::keys_added(*processor_->definitions(), **compiled);
  ASSERT_THAT(keys, ::testing::SizeIs(1));
  using States = std::vector<std::pair<profile::ProfileId, audience::ProfileAudienceState>>;
  auto states = [&](size_t threads, size_t stop_after) {
    States out;
    profile::ProfilePass pass(*database_, *database_, rocksdb::ReadOptions(), threads);
    EXPECT_EQ(pass.threads(), threads);
    auto status = pass.run(
        std::nullopt, 0,
        [&](profile::PassProfile& item, profile::HistoryReader& history) {
          return history.add(engine, item.profile, keys);
        },
        [&](profile::PassProfile& item) -> Result<bool> {
          out.emplace_back(item.profile.id, item.profile.audience);
          return out.size() < stop_after;
        });
    EXPECT_TRUE(status.is_ok()) << status.message();
    return out;
  };
  const auto one = states(1, SIZE_MAX);
  ASSERT_GT(one.size(), 1000u);
  EXPECT_TRUE(std::is_sorted(one.begin(), one.end(),
                             [](const auto& a, const auto& b) { return a.first < b.first; }));
  size_t fed = 0;
  for (const auto& [id, state] : one) fed += state.aggregates.empty() ? 0 : 1;
  EXPECT_GT(fed, 900u);
  EXPECT_EQ(states(3, SIZE_MAX), one);
  EXPECT_EQ(states(3, 700), States(one.begin(), one.begin() + 700));
}

// `cdp identity apply` while a definition is half applied rebuilds it from its start.
TEST_F(AudienceTest, ARebuildAppliesAHalfAppliedDefinitionFromItsStart) {
  for (int step = 0; step < 200; ++step) {
    append(R"({"type":"track","event":"Buy","userId":"u)" + std::to_string(step % 60) +
           R"(","properties":{"total":)" + std::to_string(step % 41) + "}}");
  }
  define_audience("buyers", R"("performed \"Buy\" where property.total > 30")");
  Processor::Options small_parts;
  small_parts.definition_batch_bytes = 1;
  small_parts.candidate_index = false;  // parts that seek from a profile id in every profile
  reopen(identity::IdentityRules::defaults(), small_parts);
  for (int call = 0; call < 3; ++call) ASSERT_TRUE(processor_->process_batch().has_value());
  ASSERT_TRUE(database_->get_meta(kDefinitionResumeKey)->has_value());
  processor_.reset();
  ASSERT_TRUE(rebuild_profiles(*database_, *identity::CompiledRules::compile(
                                               identity::IdentityRules::defaults()))
                  .is_ok());
  reopen();
  EXPECT_FALSE(database_->get_meta(kDefinitionResumeKey)->has_value());
  EXPECT_THAT(members("buyers"), Not(IsEmpty()));
  EXPECT_EQ(
      internal::dump_state(*database_),
      internal::replay_log(*database_, dir_.sub("replay"),
                           *identity::CompiledRules::compile(identity::IdentityRules::defaults())));
}

// The size a sample gives: the point estimate, and a 95% interval that holds the true size about
// 95 times in 100 and closes as the sample becomes the population.
TEST(PreviewEstimateTest, TheIntervalHoldsTheTrueSizeAsOftenAsItSays) {
  EXPECT_EQ(profile::estimate_size(7, 10, 10).size, 7u);
  EXPECT_EQ(profile::estimate_size(7, 10, 10).low, 7u);
  EXPECT_EQ(profile::estimate_size(7, 10, 10).high, 7u);
  EXPECT_EQ(profile::estimate_size(0, 0, 10).high, 10u);
  // What was read bounds it: 3 members found, 5 non-members found, 2 unread.
  EXPECT_GE(profile::estimate_size(3, 8, 10).low, 3u);
  EXPECT_LE(profile::estimate_size(3, 8, 10).high, 5u);
  std::mt19937 random(3);
  int held = 0;
  const int trials = 1000;
  for (int trial = 0; trial < trials; ++trial) {
    const size_t population = 2000 + random() % 20'000;
    const double share = std::vector<double>{0.002, 0.03, 0.3, 0.5, 0.9}[trial % 5];
    std::vector<bool> holds(population);
    size_t size = 0;
    for (size_t i = 0; i < population; ++i) size += (holds[i] = random() % 100'000 < share * 1e5);
    std::vector<size_t> order(population);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), random);
    const size_t read = 200 + random() % (population / 2);
    size_t found = 0;
    for (size_t i = 0; i < read; ++i) found += holds[order[i]];
    const auto estimate = profile::estimate_size(found, read, population);
    ASSERT_LE(estimate.low, estimate.size);
    ASSERT_LE(estimate.size, estimate.high);
    held += estimate.low <= size && size <= estimate.high;
  }
  EXPECT_GE(held, trials * 93 / 100);
  EXPECT_LE(held, trials * 99 / 100);  // not an interval so wide that it says nothing
}

// A preview with a budget reads a random sample of the candidates once it is spent and estimates
// the size with an interval; without one (or when the budget lets it read every candidate) it is
// exact. Both evaluate history the same way.
TEST_F(AudienceTest, APreviewPastItsBudgetEstimatesTheSizeFromASample) {
  std::mt19937 random(9);
  for (int user = 0; user < 3000; ++user) {
    append(R"({"type":"identify","userId":"u)" + std::to_string(user) + R"(","traits":{"plan":")" +
           (user % 3 == 0 ? "pro" : "free") + R"(","visits":)" + std::to_string(random() % 10) +
           R"(,"cohort":)" + std::to_string(user / 600) + "}}");
    if (user % 2 == 0) {
      for (int buy = 0; buy < 3; ++buy) {
        append(R"({"type":"track","event":"Buy","userId":"u)" + std::to_string(user) +
               R"(","properties":{"total":)" + std::to_string(random() % 40) + "}}");
      }
    }
  }
  process();
  reopen();  // the index as a restart builds it
  auto preview = [&](const std::string& condition, std::optional<std::chrono::milliseconds> budget,
                     size_t sample = 5) {
    ingest::JsonParser parser;
    auto candidate =
        audience::parse_audience("preview", **parser.parse(R"({"condition":)" + condition + "}"));
    EXPECT_TRUE(candidate.has_value()) << candidate.status().message();
    candidate->name.clear();
    profile::PreviewOptions options;
    options.sample = sample;
    options.budget = budget;
    options.min_read = 300;
    auto result = profile::preview_audience(*database_, *processor_->definitions(), *candidate,
                                            processor_->candidate_index(), options, 0);
    EXPECT_TRUE(result.has_value()) << result.status().message();
    return *result;
  };
  const std::vector<std::string> conditions = {
      R"("trait.visits >= 5")",                          // every profile a candidate
      R"("trait.plan = \"pro\" and trait.visits < 3")",  // a third of them
      R"("performed \"Buy\" where property.total > 20 at least 2 times")",  // history, half
      R"("not trait.plan = \"pro\"")",  // the index cannot narrow
      // Members are the last fifth of the profile ids: a sample taken in id order would miss them.
      R"("trait.cohort >= 4")"};
  for (const auto& condition : conditions) {
    SCOPED_TRACE(condition);
    const auto exact = preview(condition, std::nullopt);
    EXPECT_TRUE(exact.exact);
    EXPECT_EQ(exact.size_low, exact.size);
    EXPECT_EQ(exact.size_high, exact.size);
    EXPECT_EQ(exact.read, exact.candidates);
    EXPECT_GT(exact.size, 100u);
    EXPECT_THAT(exact.sample, ::testing::SizeIs(5));
    EXPECT_TRUE(std::is_sorted(exact.sample.begin(), exact.sample.end()));
    // A budget spent at once: the first round of 300 candidates (drawn at random), then the
    // estimate.
    const auto estimated = preview(condition, std::chrono::milliseconds(0));
    EXPECT_FALSE(estimated.exact);
    EXPECT_EQ(estimated.candidates, exact.candidates);
    EXPECT_EQ(estimated.read, 300u);
    EXPECT_LT(estimated.evaluated, exact.evaluated);
    EXPECT_LE(estimated.size_low, exact.size);
    EXPECT_GE(estimated.size_high, exact.size);
    EXPECT_LT(estimated.size_high - estimated.size_low, exact.candidates / 4);
    // Its sample is members too, sorted.
    EXPECT_THAT(estimated.sample, ::testing::SizeIs(5));
    EXPECT_TRUE(std::is_sorted(estimated.sample.begin(), estimated.sample.end()));
    const auto members = preview(condition, std::nullopt, 3000).sample;
    for (const auto id : estimated.sample) EXPECT_THAT(members, ::testing::Contains(id));
    const auto again = preview(condition, std::chrono::milliseconds(0));
    EXPECT_EQ(again.sample, estimated.sample);  // the same state reads the same profiles
    // A budget that lets it read every candidate is exact.
    const auto ample = preview(condition, std::chrono::milliseconds(60'000));
    EXPECT_TRUE(ample.exact);
    EXPECT_EQ(ample.size, exact.size);
    EXPECT_EQ(ample.evaluated, exact.evaluated);
  }
}

}  // namespace
}  // namespace cdp::pipeline
