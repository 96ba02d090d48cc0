#include "audience/candidate_index.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "audience/condition_text.h"
#include "audience/evaluator.h"

namespace cdp::audience {
namespace {

using ::testing::ElementsAre;

// A profile as plain values: the facts the index is told about, and what the evaluator reads.
struct TestProfile {
  std::map<std::string, std::string> traits;  // name -> compact JSON
  std::map<std::string, uint64_t> events;     // track event name -> count
  std::set<std::string> audiences;
};

class Facts final : public ProfileFacts {
 public:
  explicit Facts(const TestProfile& profile) : profile_(profile) {}
  int64_t now_ms() const override { return 0; }
  std::optional<Value> trait(const std::vector<std::string>& path) const override {
    const auto it = profile_.traits.find(path[0]);
    if (it == profile_.traits.end()) return std::nullopt;
    // Scalars parse as the element of an array (as the engine reads stored traits).
    auto root = parser_.parse("[" + it->second + "]");
    if (!root || (*root)->elements.empty()) return std::nullopt;
    const ingest::JsonValue* json = (*root)->elements[0];
    if (path.size() > 1) {
      json = find_path(json, std::vector<std::string>(path.begin() + 1, path.end()));
      if (json == nullptr) return std::nullopt;
    }
    return Value::from_json(*json);
  }
  std::optional<Value> computed(const Condition&) const override { return Value::of(0.0); }
  uint64_t performed_count(const Condition& performed) const override {
    const auto it = profile_.events.find(performed.events[0].event);
    return it != profile_.events.end() ? it->second : 0;
  }
  bool funnel_completed(const Condition& funnel) const override {
    // Every step performed: what the index may assume of a completed funnel.
    return std::all_of(funnel.events.begin(), funnel.events.end(),
                       [&](const EventMatch& step) { return profile_.events.count(step.event); });
  }
  bool member_of(const Condition& member) const override {
    return profile_.audiences.count(member.name) > 0;
  }

 private:
  const TestProfile& profile_;
  mutable ingest::JsonParser parser_;
};

void tell(CandidateIndex& index, uint64_t id, const TestProfile& profile) {
  std::vector<std::pair<std::string_view, std::string_view>> traits;
  for (const auto& [name, json] : profile.traits) traits.emplace_back(name, json);
  index.add_traits(id, traits);
  for (const auto& [name, count] : profile.events) index.add_event(id, name);
  for (const auto& audience : profile.audiences) index.add_member(id, audience);
}

Condition parse(std::string_view text) {
  ConditionParser parser;
  auto condition = parser.parse(text);
  EXPECT_TRUE(condition) << text << ": " << condition.status().message();
  return condition ? *condition : Condition{};
}

std::vector<uint32_t> ids(const std::optional<CandidateIndex::Bitmap>& bitmap) {
  std::vector<uint32_t> out;
  if (bitmap) {
    for (const auto id : *bitmap) out.push_back(id);
  }
  return out;
}

TEST(CandidateIndexTest, NarrowsByValueEventAndMembership) {
  CandidateIndex index;
  tell(index, 1, {{{"plan", R"("pro")"}, {"visits", "12"}}, {{"Order Completed", 2}}, {"vip"}});
  tell(index, 2, {{{"plan", R"("free")"}}, {{"Product Viewed", 1}}, {}});
  tell(index, 3, {{{"plan", "42"}}, {}, {}});  // not a string: could equal "42"
  tell(index, 4, {{{"plan", R"("p\"ro")"}}, {}, {}});

  EXPECT_THAT(ids(index.candidates(parse(R"(trait.plan = "pro")"))), ElementsAre(1, 3));
  EXPECT_THAT(ids(index.candidates(parse(R"(trait.plan = "p\"ro")"))), ElementsAre(3, 4));
  EXPECT_THAT(ids(index.candidates(parse(R"(trait.plan in ("pro", "free"))"))),
              ElementsAre(1, 2, 3));
  EXPECT_THAT(ids(index.candidates(parse("trait.visits > 3"))), ElementsAre(1));
  EXPECT_THAT(ids(index.candidates(parse("trait.unknown exists"))), ElementsAre());
  EXPECT_THAT(ids(index.candidates(parse(R"(performed "Order Completed" at least 2 times)"))),
              ElementsAre(1));
  EXPECT_THAT(ids(index.candidates(
                  parse(R"(performed "Product Viewed" then "Order Completed" within 1 day)"))),
              ElementsAre());
  EXPECT_THAT(ids(index.candidates(parse(R"(in audience "vip" or trait.plan = "free")"))),
              ElementsAre(1, 2, 3));
  EXPECT_THAT(ids(index.candidates(parse(R"(in audience "vip" and trait.plan = "free")"))),
              ElementsAre());
  // What the index cannot narrow: everyone.
  EXPECT_FALSE(index.candidates(parse(R"(not in audience "vip")")));
  EXPECT_FALSE(index.candidates(parse(R"(trait.plan != "pro")")));
  EXPECT_FALSE(index.candidates(parse(R"(performed "Order Completed" at most 1 times)")));
  EXPECT_FALSE(index.candidates(parse("computed.ltv > 10")));
  EXPECT_FALSE(index.candidates(parse(R"(in audience "vip" or not trait.plan exists)")));
  // An `and` narrows by the parts that can.
  EXPECT_THAT(ids(index.candidates(parse(R"(not trait.visits > 3 and trait.plan = "free")"))),
              ElementsAre(2, 3));
  EXPECT_THAT(ids(index.performed("")), ElementsAre(1, 2));
  EXPECT_GT(index.usage().bitmaps, 0U);
  EXPECT_GT(index.audience_bytes("vip"), 0U);
}

TEST(CandidateIndexTest, MergesCarryEventsAndBitsAreNeverCleared) {
  CandidateIndex index;
  tell(index, 5, {{{"plan", R"("pro")"}}, {{"Signed Up", 1}}, {"trial"}});
  index.merge(9, 5);
  index.add_traits(5, {{"plan", R"("free")"}});
  EXPECT_THAT(ids(index.candidates(parse(R"(performed "Signed Up")"))), ElementsAre(5, 9));
  EXPECT_THAT(ids(index.candidates(parse(R"(trait.plan = "pro")"))), ElementsAre(5));
  EXPECT_THAT(ids(index.candidates(parse(R"(trait.plan = "free")"))), ElementsAre(5));
}

TEST(CandidateIndexTest, TooManyValuesFallBackToWhoHasTheTrait) {
  CandidateIndex index;
  for (uint64_t id = 1; id <= 1100; ++id) {
    const std::string value = "\"v" + std::to_string(id) + "\"";
    index.add_traits(id, {{"email_hash", value}});
  }
  EXPECT_EQ(ids(index.candidates(parse(R"(trait.email_hash = "v7")"))).size(), 1100U);
}

TEST(CandidateIndexTest, IdsPastThirtyTwoBitsTurnItOff) {
  CandidateIndex index;
  index.add_member(3, "vip");
  index.add_event(1ULL << 33, "Signed Up");
  EXPECT_FALSE(index.candidates(parse(R"(performed "Signed Up")")));
  EXPECT_FALSE(index.members("vip"));
  EXPECT_FALSE(index.having("plan"));
}

TEST(CandidateIndexTest, NamesPastTheCapAreNotNarrowed) {
  CandidateIndex index;
  for (size_t i = 0; i <= 10'000; ++i) {
    index.add_event(i, "event " + std::to_string(i));
    index.add_traits(i, {{"trait_" + std::to_string(i), "1"}});
  }
  // Indexed names still narrow; the ones past the cap (and unknown ones) cannot say.
  EXPECT_THAT(ids(index.candidates(parse(R"(performed "event 7")"))), ElementsAre(7));
  EXPECT_FALSE(index.candidates(parse(R"(performed "event 10000")")));
  EXPECT_FALSE(index.candidates(parse(R"(performed "never sent")")));
  EXPECT_THAT(ids(index.having("trait_7")), ElementsAre(7));
  EXPECT_FALSE(index.having("trait_10000"));
  EXPECT_FALSE(index.candidates(parse("trait.trait_10000 exists")));
}

// Whatever a random profile and condition, a profile the condition holds for is a candidate.
TEST(CandidateIndexTest, CandidatesAreASupersetOfMatchesOnRandomProfiles) {
  std::mt19937 random(7);
  const std::vector<std::string> values = {
      R"("pro")", R"("free")", "3", "true", R"("3")", R"({"city":"Oslo"})", R"(["a","b"])", "null"};
  const std::vector<std::string> events = {"A", "B", "C"};
  std::vector<TestProfile> profiles(300);
  CandidateIndex index;
  for (size_t id = 0; id < profiles.size(); ++id) {
    auto& profile = profiles[id];
    for (const std::string name : {"plan", "visits", "address"}) {
      if (random() % 3 != 0) profile.traits[name] = values[random() % values.size()];
    }
    for (const auto& event : events) {
      if (random() % 2 == 0) profile.events[event] = 1 + random() % 3;
    }
    for (const std::string audience : {"x", "y"}) {
      if (random() % 3 == 0) profile.audiences.insert(audience);
    }
    tell(index, id, profile);
  }
  const std::vector<std::string> atoms = {R"(trait.plan = "pro")",
                                          R"(trait.plan in ("free", "3"))",
                                          "trait.plan = 3",
                                          "trait.visits > 2",
                                          R"(trait.plan != "pro")",
                                          "trait.address.city exists",
                                          R"(trait.plan contains "r")",
                                          R"(performed "A" at least 2 times)",
                                          R"(performed "B" exactly 0 times)",
                                          R"(performed "C" at most 1 times)",
                                          R"(performed "A" then "B" within 1 day)",
                                          R"(in audience "x")",
                                          "trait.visits = true",
                                          "trait.address between 1 and 5"};
  size_t narrowed = 0;
  for (int round = 0; round < 400; ++round) {
    std::string text = atoms[random() % atoms.size()];
    for (int more = random() % 3; more > 0; --more) {
      const char* joins[] = {" and ", " or ", " and not "};
      text = "(" + text + ")" + joins[random() % 3] + atoms[random() % atoms.size()];
    }
    const auto condition = parse(text);
    const auto candidates = index.candidates(condition);
    if (!candidates) continue;
    ++narrowed;
    for (size_t id = 0; id < profiles.size(); ++id) {
      if (evaluate(condition, Facts(profiles[id]))) {
        EXPECT_TRUE(candidates->contains(static_cast<uint32_t>(id))) << text << " misses " << id;
      }
    }
  }
  EXPECT_GT(narrowed, 100U);
}

}  // namespace
}  // namespace cdp::audience
