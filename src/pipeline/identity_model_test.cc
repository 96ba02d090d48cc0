// The processor against a small sequential reference model of identity resolution (union-find plus
// the same rules), on random identify / alias / track histories over overlapping identifiers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "pipeline/processor.h"
#include "profile/profile_store.h"
#include "storage/big_endian.h"
#include "storage/internal/temp_dir.h"
#include "storage/raw_log_record.h"

namespace cdp::pipeline {
namespace {

struct Id {
  std::string type;
  std::string value;
  std::string text() const { return type + ":" + value; }
  bool operator<(const Id& other) const {
    return std::tie(type, value) < std::tie(other.type, other.value);
  }
  bool operator==(const Id& other) const = default;
};

struct Op {
  std::string call;  // identify, track, alias
  std::optional<std::string> user_id, anonymous_id, email, previous_id;
  int64_t time_ms = 0;

  std::string json() const {
    std::string out = R"({"type":")" + call + R"(","timestamp":")" + iso(time_ms) + "\"";
    if (user_id) out += R"(,"userId":")" + *user_id + "\"";
    if (anonymous_id) out += R"(,"anonymousId":")" + *anonymous_id + "\"";
    if (previous_id) out += R"(,"previousId":")" + *previous_id + "\"";
    if (email) out += R"(,"traits":{"email":")" + *email + "\"}";
    if (call == "track") out += R"(,"event":"E")";
    return out + "}";
  }
  static std::string iso(int64_t ms) {
    // Seconds past 2024-01-01T00:00:00Z; the tests stay within one day.
    const int64_t s = ms / 1000;
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "2024-01-01T%02lld:%02lld:%02lld.%03lldZ",
                  static_cast<long long>(s / 3600), static_cast<long long>(s / 60 % 60),
                  static_cast<long long>(s % 60), static_cast<long long>(ms % 1000));
    return buffer;
  }
};

constexpr int64_t kEpoch = 1704067200000;  // 2024-01-01T00:00:00Z

struct ModelRules {
  size_t user_id_limit = 1;
  size_t other_limit = 5;
  int64_t window_ms = 0;  // for anonymous_id only
  size_t max_identifiers = 1000;
  size_t max_merges = 100;

  identity::IdentityRules engine_rules() const {
    auto rules = identity::IdentityRules::defaults();
    rules.types["user_id"].limit = user_id_limit;
    rules.default_rule.limit = other_limit;
    auto anonymous = rules.default_rule;
    anonymous.window_ms = window_ms;
    rules.types["anonymous_id"] = anonymous;
    rules.max_identifiers_per_profile = max_identifiers;
    rules.max_merges_per_profile = max_merges;
    rules.quarantine_after_profiles = 1'000'000;  // the model has no quarantine
    return rules;
  }
};

// The reference: profiles in a union-find; identifiers held with their last sighting.
class Model {
 public:
  explicit Model(ModelRules rules) : rules_(rules) {}

  void apply(const Op& op) {
    const int64_t t = kEpoch + op.time_ms;
    std::vector<Id> ids;
    if (op.user_id) ids.push_back({"user_id", *op.user_id});
    if (op.anonymous_id) ids.push_back({"anonymous_id", *op.anonymous_id});
    if (op.email) ids.push_back({"email", *op.email});
    if (op.previous_id) {
      Id as_user{"user_id", *op.previous_id};
      ids.push_back(holder_.count(as_user) ? as_user : Id{"anonymous_id", *op.previous_id});
    }
    std::erase_if(ids, [](const Id& id) { return blocked(id.value); });
    std::sort(ids.begin(), ids.end(), [](const Id& a, const Id& b) {
      return std::make_tuple(rank(a.type), a.type, a.value) <
             std::make_tuple(rank(b.type), b.type, b.value);
    });
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());

    std::vector<std::pair<Id, bool>> dropped;  // identifier, held by some profile
    while (!ids.empty() && !fits(ids, matched(ids), t)) {
      dropped.emplace_back(ids.back(), holder_.count(ids.back()) > 0);
      ids.pop_back();
    }
    const auto profiles = matched(ids);
    for (auto it = dropped.rbegin(); it != dropped.rend(); ++it) {
      if (it->second) continue;
      ids.push_back(it->first);
      if (!fits(ids, profiles, t)) ids.pop_back();
    }
    if (ids.empty()) return;
    int target = profiles.empty() ? ++last_ : *profiles.begin();
    for (int other : profiles) {
      if (other == target) continue;
      parent_[other] = target;
      for (auto& [id, seen] : held_[other]) held_[target][id] = std::max(held_[target][id], seen);
      held_.erase(other);
      merges_[target] += 1 + merges_[other];
      events_[target] += events_[other];
    }
    for (const auto& id : ids) {
      holder_.emplace(id, target);
      held_[target][id] = std::max(held_[target][id], t);
    }
    ++events_[target];
  }

  int find(int profile) const {
    while (parent_.count(profile)) profile = parent_.at(profile);
    return profile;
  }
  std::map<std::string, int> assignment() const {
    std::map<std::string, int> out;
    for (const auto& [id, profile] : holder_) out[id.text()] = find(profile);
    return out;
  }
  const std::map<int, uint64_t>& events() const { return events_; }

 private:
  static bool blocked(const std::string& value) {
    if (value == "null" || value == "-1") return true;
    return std::all_of(value.begin(), value.end(), [](char c) { return c == '0' || c == '-'; });
  }
  static int rank(const std::string& type) {
    return type == "user_id" ? 0 : type == "email" ? 1 : 2;
  }
  std::set<int> matched(const std::vector<Id>& ids) const {
    std::set<int> out;
    for (const auto& id : ids) {
      if (auto it = holder_.find(id); it != holder_.end()) out.insert(find(it->second));
    }
    return out;
  }
  size_t limit(const std::string& type) const {
    return type == "user_id" ? rules_.user_id_limit : rules_.other_limit;
  }
  bool fits(const std::vector<Id>& ids, const std::set<int>& profiles, int64_t t) const {
    const bool merging = profiles.size() > 1;
    std::map<std::string, std::set<std::string>> counted;
    std::set<Id> all;
    size_t merges = merging ? profiles.size() - 1 : 0;
    for (int profile : profiles) {
      if (merging && merges_.count(profile)) merges += merges_.at(profile);
      for (const auto& [id, seen] : held_.at(profile)) {
        all.insert(id);
        const int64_t window = id.type == "anonymous_id" ? rules_.window_ms : 0;
        if (window == 0 || seen >= t - window) counted[id.type].insert(id.value);
      }
    }
    std::set<std::string> changed;
    for (const auto& id : ids) {
      if (all.insert(id).second) changed.insert(id.type);
      counted[id.type].insert(id.value);
    }
    for (const auto& [type, values] : counted) {
      if (values.size() > limit(type) && (merging || changed.count(type))) return false;
    }
    if (all.size() > rules_.max_identifiers && (merging || !changed.empty())) return false;
    return merges <= rules_.max_merges;
  }

  ModelRules rules_;
  std::map<Id, int> holder_;
  std::map<int, std::map<Id, int64_t>> held_;
  std::map<int, int> parent_;
  std::map<int, size_t> merges_;
  std::map<int, uint64_t> events_;
  int last_ = 0;
};

struct EngineResult {
  std::map<std::string, int> assignment;  // identifier -> live profile
  std::map<int, uint64_t> events;         // live profile -> events
};

EngineResult run_engine(const std::vector<Op>& ops, const ModelRules& rules) {
  storage::internal::TempDir dir;
  storage::Database::Options options;
  options.path = dir.sub("data");
  auto opened = storage::Database::open(options);
  EXPECT_TRUE(opened.has_value());
  auto database = std::move(*opened);
  uint64_t seq = 0;
  for (const auto& op : ops) {
    std::string value;
    storage::encode_raw_log_value(value, "web", kEpoch + op.time_ms, op.json());
    EXPECT_TRUE(
        database->db()
            .Put(rocksdb::WriteOptions(), database->raw_log(), storage::u64_be(++seq), value)
            .ok());
  }
  Processor::Options processor_options;
  processor_options.max_batch_events = 7;  // many batches: state must carry across commits
  auto processor_opened = Processor::open(
      *database, *identity::CompiledRules::compile(rules.engine_rules()), processor_options);
  EXPECT_TRUE(processor_opened.has_value());
  auto processor = std::move(*processor_opened);
  auto status = processor->process_available();
  EXPECT_TRUE(status.is_ok()) << status.to_string();
  EngineResult result;
  profile::ProfileStore store(*database);
  std::unique_ptr<rocksdb::Iterator> it(
      database->db().NewIterator(rocksdb::ReadOptions(), database->identifiers()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto id = *identity::identifier_from_key(it->key().ToStringView());
    auto profile = store.find(id);
    EXPECT_TRUE(profile.has_value() && profile->has_value());
    const int live = static_cast<int>((*profile)->id);
    result.assignment[id.display()] = live;
    result.events[live] = (*profile)->event_count;
  }
  return result;
}

std::vector<Op> random_history(std::mt19937& random, size_t length) {
  auto pick = [&](const std::string& prefix, int pool) -> std::optional<std::string> {
    const int roll = static_cast<int>(random() % 100);
    if (roll < 40) return std::nullopt;
    if (roll < 44) return std::string(roll % 2 ? "null" : "000");  // placeholders
    return prefix + std::to_string(random() % pool);
  };
  std::vector<Op> ops;
  for (size_t i = 0; i < length; ++i) {
    Op op;
    const int kind = static_cast<int>(random() % 10);
    op.call = kind < 4 ? "identify" : kind < 9 ? "track" : "alias";
    op.time_ms = static_cast<int64_t>(i) * 60'000;
    op.user_id = pick("u", 6);
    op.anonymous_id = pick("a", 12);
    if (op.call == "identify") {
      if (auto email = pick("e", 6)) op.email = *email + "@x.org";
    }
    if (op.call == "alias") {
      op.user_id = "u" + std::to_string(random() % 6);
      op.anonymous_id.reset();
      op.previous_id =
          random() % 2 ? "a" + std::to_string(random() % 12) : "u" + std::to_string(random() % 6);
    }
    if (!op.user_id && !op.anonymous_id && !op.email && !op.previous_id) op.anonymous_id = "a0";
    ops.push_back(op);
  }
  return ops;
}

void expect_same(const std::vector<Op>& ops, const ModelRules& rules, unsigned seed) {
  Model model(rules);
  for (const auto& op : ops) model.apply(op);
  const auto engine = run_engine(ops, rules);
  EXPECT_EQ(engine.assignment, model.assignment()) << "seed " << seed;
  for (const auto& [profile, count] : engine.events) {
    EXPECT_EQ(count, model.events().at(profile))
        << "events of profile " << profile << ", seed " << seed;
  }
}

TEST(IdentityModelTest, EngineAgreesWithTheReferenceUnderDefaultRules) {
  for (unsigned seed = 1; seed <= 25; ++seed) {
    std::mt19937 random(seed);
    expect_same(random_history(random, 60), ModelRules{}, seed);
  }
}

TEST(IdentityModelTest, EngineAgreesWithTheReferenceUnderTightLimitsAndWindows) {
  ModelRules rules;
  rules.other_limit = 2;
  rules.window_ms = 10 * 60'000;
  rules.max_identifiers = 6;
  rules.max_merges = 3;
  for (unsigned seed = 100; seed < 125; ++seed) {
    std::mt19937 random(seed);
    expect_same(random_history(random, 60), rules, seed);
  }
}

// Without limits that can bind, resolution is connected components: any order of the same events
// gives the same profiles.
TEST(IdentityModelTest, HistoriesWithoutBindingLimitsGiveTheSameProfilesInAnyOrder) {
  ModelRules unlimited;
  unlimited.user_id_limit = 1000;
  unlimited.other_limit = 1000;
  for (unsigned seed = 200; seed < 208; ++seed) {
    std::mt19937 random(seed);
    auto ops = random_history(random, 40);
    // Alias reads previousId as a user_id only if one is already held: order-dependent by design.
    std::erase_if(ops, [](const Op& op) { return op.call == "alias"; });
    std::set<std::set<std::string>> expected;
    for (int permutation = 0; permutation < 4; ++permutation) {
      if (permutation > 0) std::shuffle(ops.begin(), ops.end(), random);
      for (size_t i = 0; i < ops.size(); ++i) ops[i].time_ms = static_cast<int64_t>(i) * 1000;
      std::map<int, std::set<std::string>> groups;
      for (const auto& [id, profile] : run_engine(ops, unlimited).assignment)
        groups[profile].insert(id);
      std::set<std::set<std::string>> partition;
      for (auto& [profile, ids] : groups) partition.insert(std::move(ids));
      if (permutation == 0) {
        expected = partition;
      } else {
        EXPECT_EQ(partition, expected) << "seed " << seed << ", permutation " << permutation;
      }
    }
  }
}

}  // namespace
}  // namespace cdp::pipeline
