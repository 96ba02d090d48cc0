#include "audience/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "audience/internal/test_events.h"

namespace cdp::audience {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::kDay;

class Traits final : public TraitSource {
 public:
  const std::string* trait_json(std::string_view name) const override {
    auto it = values.find(std::string(name));
    return it != values.end() ? &it->second : nullptr;
  }
  std::map<std::string, std::string> values;
};

Result<ComputedTraitDefinition> trait(std::string name, std::string_view body) {
  thread_local ingest::JsonParser parser;
  auto root = parser.parse(body);
  if (!root) return root.status();
  return parse_computed_trait(std::move(name), **root);
}

Result<AudienceDefinition> audience(std::string name, std::string_view body) {
  thread_local ingest::JsonParser parser;
  auto root = parser.parse(body);
  if (!root) return root.status();
  return parse_audience(std::move(name), **root);
}

std::shared_ptr<const Definitions> compile(
    std::vector<std::pair<std::string, std::string>> traits,
    std::vector<std::pair<std::string, std::string>> audiences) {
  std::vector<ComputedTraitDefinition> t;
  for (const auto& [name, body] : traits) t.push_back(*trait(name, body));
  std::vector<AudienceDefinition> a;
  for (const auto& [name, body] : audiences) {
    auto parsed = audience(name, body);
    EXPECT_TRUE(parsed) << parsed.status().message();
    a.push_back(*parsed);
  }
  auto compiled = Definitions::compile(std::move(t), std::move(a));
  EXPECT_TRUE(compiled) << compiled.status().message();
  return *compiled;
}

EventFacts track(std::string_view name, const ingest::JsonValue* properties, int64_t time_ms,
                 uint64_t seq) {
  return {"track", name, properties, time_ms, seq};
}

TEST(DefinitionsTest, ComputedTraitBodies) {
  auto ltv = trait("ltv", R"({"kind":"sum","event":"Order Completed","property":"total",)"
                          R"("where":"property.currency = \"EUR\"","window":"365 days"})");
  ASSERT_TRUE(ltv) << ltv.status().message();
  EXPECT_EQ(ltv->spec.kind, AggregateKind::kSum);
  EXPECT_EQ(ltv->spec.window_ms, 365 * kDay);
  JsonWriter out;
  write_computed_trait(out, *ltv);
  EXPECT_EQ(out.str(), R"({"name":"ltv","kind":"sum","event":"Order Completed","property":"total",)"
                       R"("where":"property.currency = \"EUR\"","window":"365 days"})");

  EXPECT_THAT(trait("x", R"({"kind":"median","property":"p"})").status().message(),
              HasSubstr("'kind' must be one of"));
  EXPECT_THAT(trait("x", R"({"kind":"sum"})").status().message(),
              HasSubstr("'property' is required"));
  EXPECT_THAT(trait("x", R"({"kind":"count","where":"property.a >"})").status().message(),
              HasSubstr("where: line 1, column 13"));
  EXPECT_THAT(trait("x", R"({"kind":"count","windw":"1 day"})").status().message(),
              HasSubstr("unknown member 'windw'"));
  EXPECT_THAT(trait("", R"({"kind":"count"})").status().message(), HasSubstr("1 to 200 bytes"));
}

TEST(DefinitionsTest, AudienceBodiesInTextOrJson) {
  auto text = audience("a", R"({"condition":"trait.plan = \"pro\"","description":"d"})");
  auto json =
      audience("a", R"({"condition":{"trait":"plan","op":"=","value":"pro"},"description":"d"})");
  ASSERT_TRUE(text);
  ASSERT_TRUE(json);
  EXPECT_EQ(*text, *json);
  EXPECT_THAT(audience("a", R"({"condition":"trait.plan ="})").status().message(),
              HasSubstr("condition: line 1, column 13"));
  EXPECT_THAT(audience("a", R"({})").status().message(), HasSubstr("'condition' is required"));
}

TEST(DefinitionsTest, ReferencesMustExistAndNotCycle) {
  auto refuse = [](std::vector<AudienceDefinition> audiences) {
    auto compiled = Definitions::compile({}, std::move(audiences));
    EXPECT_FALSE(compiled);
    return compiled.status().message();
  };
  EXPECT_THAT(refuse({*audience("a", R"({"condition":"computed.ltv > 1"})")}),
              HasSubstr("no computed trait named 'ltv'"));
  EXPECT_THAT(refuse({*audience("a", R"({"condition":"in audience \"b\""})")}),
              HasSubstr("no audience named 'b'"));
  EXPECT_THAT(refuse({*audience("a", R"({"condition":"in audience \"b\""})"),
                      *audience("b", R"({"condition":"not in audience \"a\""})")}),
              HasSubstr("cannot depend on themselves: 'a' -> 'b' -> 'a'"));
}

TEST(DefinitionsTest, AudiencesComeAfterTheAudiencesTheyRead) {
  const auto definitions = compile({}, {{"a", R"({"condition":"in audience \"b\""})"},
                                        {"b", R"({"condition":"in audience \"c\""})"},
                                        {"c", R"({"condition":"trait.x exists"})"}});
  std::vector<std::string> order;
  for (const auto& a : definitions->audiences()) order.push_back(a.definition.name);
  EXPECT_THAT(order, ElementsAre("c", "b", "a"));
}

// The engine looks state up by position: each node's position must name what its key names.
TEST(DefinitionsTest, PositionsNameTheSameStateAsKeys) {
  const auto definitions = compile(
      {{"spend", R"({"kind":"sum","event":"Order","property":"total","window":"7 days"})"}},
      {{"z", R"({"condition":"performed \"Order\" at least 2 times and computed.spend > 5"})"},
       {"b", R"({"condition":"in audience \"z\" or performed \"A\" then \"B\" within 1 day"})"},
       {"m", R"({"condition":"performed \"Order\" at least 1 times in last 3 days"})"},
       {"v", R"({"condition":"performed \"View\""})"}});
  const auto& aggregates = definitions->aggregate_positions();
  ASSERT_EQ(aggregates.size(), definitions->aggregates().size());
  size_t i = 0;
  for (const auto& [key, aggregate] : definitions->aggregates()) {
    EXPECT_EQ(aggregates[i].first, key);
    EXPECT_EQ(aggregates[i].second, &aggregate);
    EXPECT_EQ(definitions->readers_of_aggregate(i), definitions->readers_of_key(key)) << key;
    ++i;
  }
  ASSERT_EQ(definitions->funnel_positions().size(), 1u);
  EXPECT_EQ(definitions->readers_of_funnel(0),
            definitions->readers_of_key(definitions->funnel_positions()[0].first));
  std::vector<std::pair<std::string_view, size_t>> by_name;
  for (size_t a = 0; a < definitions->audiences().size(); ++a) {
    by_name.emplace_back(definitions->audiences()[a].definition.name, a);
  }
  std::sort(by_name.begin(), by_name.end());
  EXPECT_EQ(definitions->audiences_by_name(), by_name);

  size_t checked = 0;
  std::function<void(const Condition&)> walk = [&](const Condition& c) {
    const auto position = definitions->position_of(c);
    switch (c.kind) {
      case Condition::Kind::kPerformed:
        ASSERT_NE(position, Definitions::kNoPosition);
        EXPECT_EQ(aggregates[position].first, Definitions::counter_key(c));
        ++checked;
        break;
      case Condition::Kind::kFunnel:
        ASSERT_NE(position, Definitions::kNoPosition);
        EXPECT_EQ(definitions->funnel_positions()[position].first, Definitions::funnel_key(c));
        ++checked;
        break;
      case Condition::Kind::kMember:
        ASSERT_NE(position, Definitions::kNoPosition);
        EXPECT_EQ(definitions->audiences()[position].definition.name, c.name);
        ++checked;
        break;
      case Condition::Kind::kCompare:
        ASSERT_NE(position, Definitions::kNoPosition);
        EXPECT_EQ(aggregates[position].first, Definitions::trait_key(c.operand.path[0]));
        ++checked;
        break;
      default: EXPECT_EQ(position, Definitions::kNoPosition);
    }
    for (const auto& child : c.children) walk(child);
  };
  for (const auto& a : definitions->audiences()) walk(a.definition.condition);
  EXPECT_EQ(checked, 6u);
  // The same condition elsewhere (a copy) has no position: it is looked up by key.
  const auto copy = definitions->audiences()[0].definition.condition;
  EXPECT_EQ(definitions->position_of(copy), Definitions::kNoPosition);
  // "b" reads "z". Every audience but "v" depends on time ("z" through the window of "spend",
  // "b" through "z"), so all that they read is timed; what only "v" reads is not.
  const auto& b = definitions->audiences()[by_name[0].second];
  ASSERT_EQ(b.inputs.size(), 1u);
  EXPECT_EQ(definitions->audiences()[b.inputs[0]].definition.name, "z");
  const auto& v = definitions->audiences()[by_name[2].second];
  ASSERT_EQ(v.definition.name, "v");
  std::vector<size_t> timed;
  for (size_t position = 0; position < aggregates.size(); ++position) {
    if (aggregates[position].first != Definitions::counter_key(v.definition.condition)) {
      timed.push_back(position);
    }
  }
  ASSERT_EQ(timed.size(), 3u);
  EXPECT_EQ(definitions->timed_aggregates(), timed);
  EXPECT_EQ(definitions->timed_funnels(), std::vector<size_t>{0});
}

// State under keys that the definitions no longer have (a deleted definition's, until pruned)
// lies before, between and after the defined keys: the walks by position step over it, leave
// it as it is, and still find the state they feed.
TEST(EngineTest, StateUnderUndefinedKeysIsSteppedOverAndKept) {
  const Engine engine(
      compile({}, {{"twice", R"({"condition":"performed \"Order\" at least 2 times"})"},
                   {"recent", R"({"condition":"performed \"View\" in last 1 day"})"},
                   {"old", R"({"condition":"in audience \"recent\""})"}}));
  const auto& positions = engine.definitions().aggregate_positions();
  ASSERT_EQ(positions.size(), 2u);
  AggregateState stale;
  stale.buckets.push_back({});
  stale.buckets.back().count = 7;
  ProfileAudienceState state;
  const std::vector<std::string> undefined = {"a", std::string(positions[0].first) + "0",
                                              std::string(positions[1].first) + "0", "z"};
  for (const auto& key : undefined) state.aggregates[key] = stale;
  state.audiences.emplace("gone", 5);  // a deleted audience's membership, also left to prune
  Traits traits;
  EXPECT_TRUE(engine.on_event(state, traits, track("Order", nullptr, 1000, 1), {}, 1000).empty());
  EXPECT_THAT(engine.on_event(state, traits, track("Order", nullptr, 2000, 2), {}, 2000),
              ElementsAre(MembershipChange{"twice", true}));
  EXPECT_THAT(engine.on_event(state, traits, track("View", nullptr, 3000, 3), {}, 3000),
              ElementsAre(MembershipChange{"recent", true}, MembershipChange{"old", true}));
  // A day later the view has left its window: expiry empties and drops its state, not the
  // stale state around it.
  EXPECT_THAT(engine.on_time(state, traits, 3000 + 2 * kDay),
              ElementsAre(MembershipChange{"recent", false}, MembershipChange{"old", false}));
  std::vector<std::string> keys;
  for (const auto& [key, aggregate] : state.aggregates) {
    keys.emplace_back(key.data(), key.size());
    if (key.size() == 1 || key.back() == '0') {
      EXPECT_EQ(aggregate, stale) << key;
    }
  }
  std::vector<std::string> expected = undefined;
  for (const auto& [key, aggregate] : positions) {
    if (aggregate->spec().event == "Order") expected.emplace_back(key);
  }
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(keys, expected);
  EXPECT_EQ(state.audiences.at("gone"), 5);
  EXPECT_EQ(state.audiences.count("twice"), 1u);
  engine.prune(state);
  EXPECT_EQ(state.aggregates.size(), 1u);
  EXPECT_EQ(state.audiences.count("gone"), 0u);
}

TEST(EngineTest, EventsMoveAProfileInAndTimeMovesItOut) {
  const Engine engine(compile(
      {},
      {{"engaged", R"({"condition":"performed \"View\" at least 2 times in last 1 day"})"},
       {"engaged pro", R"({"condition":"in audience \"engaged\" and trait.plan = \"pro\""})"}}));
  Traits traits;
  traits.values["plan"] = R"("pro")";
  ProfileAudienceState state;
  EXPECT_TRUE(engine.on_event(state, traits, track("View", nullptr, 1000, 1), {}, 1000).empty());
  EXPECT_THAT(
      engine.on_event(state, traits, track("View", nullptr, 2000, 2), {}, 2000),
      ElementsAre(MembershipChange{"engaged", true}, MembershipChange{"engaged pro", true}));
  EXPECT_EQ(state.audiences.at("engaged"), 2000);
  // The first view leaves the window at the end of its 84 s step plus a day.
  const int64_t leaves = 84'000 + kDay;
  EXPECT_EQ(state.next_check_ms, leaves);
  EXPECT_TRUE(engine.on_time(state, traits, leaves - 1).empty());
  EXPECT_THAT(
      engine.on_time(state, traits, leaves),
      ElementsAre(MembershipChange{"engaged", false}, MembershipChange{"engaged pro", false}));
  EXPECT_EQ(state.next_check_ms, 0);  // the second view is in the same step: nothing left
}

TEST(EngineTest, AnEventAfterAMissedCheckCatchesUpFirst) {
  const Engine engine(
      compile({}, {{"recent", R"({"condition":"performed \"View\" in last 1 day"})"}}));
  Traits traits;
  ProfileAudienceState state;
  EXPECT_THAT(engine.on_event(state, traits, track("View", nullptr, 1000, 1), {}, 1000),
              ElementsAre(MembershipChange{"recent", true}));
  const int64_t due = state.next_check_ms;
  ASSERT_GT(due, 0);
  // No tick came; an event that reads nothing of "recent" arrives after the check time.
  EXPECT_THAT(
      engine.on_event(state, traits, {"identify", "", nullptr, due + 5, 2}, {"plan"}, due + 5),
      ElementsAre(MembershipChange{"recent", false}));
  EXPECT_EQ(state.next_check_ms, 0);
}

TEST(EngineTest, InLastOnAComputedTraitSchedulesItsCheck) {
  const Engine engine(
      compile({{"last_order", R"({"kind":"last","event":"Order","property":"at"})"}},
              {{"ordered lately", R"({"condition":"computed.last_order in last 1 day"})"}}));
  Traits traits;
  ingest::JsonParser parser;
  ProfileAudienceState state;
  EXPECT_THAT(
      engine.on_event(state, traits,
                      track("Order", *parser.parse(R"({"at":"1970-01-02T00:00:00Z"})"), kDay, 1),
                      {}, kDay),
      ElementsAre(MembershipChange{"ordered lately", true}));
  EXPECT_EQ(state.next_check_ms, 2 * kDay + 1);
  EXPECT_THAT(engine.on_time(state, traits, 2 * kDay + 1),
              ElementsAre(MembershipChange{"ordered lately", false}));
}

TEST(EngineTest, OnlyAudiencesThatReadWhatChangedAreEvaluated) {
  const Engine engine(compile({}, {{"pro", R"({"condition":"trait.plan = \"pro\""})"}}));
  Traits traits;
  ProfileAudienceState state;
  traits.values["plan"] = R"("pro")";
  EXPECT_TRUE(engine.on_event(state, traits, track("View", nullptr, 1, 1), {}, 1).empty());
  EXPECT_THAT(engine.on_event(state, traits, {"identify", "", nullptr, 2, 2}, {"plan"}, 2),
              ElementsAre(MembershipChange{"pro", true}));
  traits.values["plan"] = R"("free")";
  EXPECT_THAT(engine.on_event(state, traits, {"identify", "", nullptr, 3, 3}, {"plan"}, 3),
              ElementsAre(MembershipChange{"pro", false}));
}

TEST(EngineTest, ComputedTraitsAndMerges) {
  const Engine engine(compile(
      {{"spend", R"({"kind":"sum","event":"Order","property":"total"})"}},
      {{"big spender", R"({"condition":"computed.spend >= 100"})"},
       {"converted", R"({"condition":"performed \"Signup\" then \"Order\" within 1 hour"})"}}));
  Traits traits;
  ingest::JsonParser parser;
  ProfileAudienceState a;
  ProfileAudienceState b;
  EXPECT_TRUE(engine.on_event(a, traits, track("Signup", nullptr, 0, 1), {}, 0).empty());
  EXPECT_TRUE(
      engine.on_event(b, traits, track("Order", *parser.parse(R"({"total":60})"), 10, 2), {}, 10)
          .empty());
  // One person after all: the funnel completes across the two profiles' events.
  engine.merge(a, b);
  EXPECT_THAT(engine.evaluate_all(a, traits, 15), ElementsAre(MembershipChange{"converted", true}));
  EXPECT_THAT(
      engine.on_event(a, traits, track("Order", *parser.parse(R"({"total":"50"})"), 20, 3), {}, 20),
      ElementsAre(MembershipChange{"big spender", true}));
  const auto values = engine.computed_values(a, 20);
  ASSERT_EQ(values.size(), 1u);
  EXPECT_EQ(values[0].first, "spend");
  EXPECT_EQ(values[0].second, Value::of(110.0));
}

TEST(EngineTest, InLastDatesScheduleTheirOwnCheck) {
  const Engine engine(compile({}, {{"new", R"({"condition":"trait.signed_up in last 7 days"})"}}));
  Traits traits;
  traits.values["signed_up"] = R"("1970-01-02T00:00:00Z")";
  ProfileAudienceState state;
  EXPECT_THAT(engine.evaluate_all(state, traits, 2 * kDay),
              ElementsAre(MembershipChange{"new", true}));
  EXPECT_EQ(state.next_check_ms, 8 * kDay + 1);
  EXPECT_THAT(engine.on_time(state, traits, 8 * kDay + 1),
              ElementsAre(MembershipChange{"new", false}));
}

TEST(EngineTest, StateRoundTripsThroughJson) {
  const Engine engine(compile(
      {{"skus", R"({"kind":"unique_list","property":"sku","window":"30 days"})"},
       {"last", R"({"kind":"last","property":"sku"})"},
       {"avg", R"({"kind":"average","property":"price"})"}},
      {{"f", R"({"condition":"performed \"A\" then \"B\" within 1 day in last 7 days"})"}}));
  Traits traits;
  ingest::JsonParser parser;
  ProfileAudienceState state;
  uint64_t seq = 0;
  for (const char* name : {"A", "B", "A"}) {
    ++seq;
    const auto* properties =
        *parser.parse(R"({"sku":"s)" + std::to_string(seq) + R"(","price":-1.25})");
    (void)engine.on_event(state, traits,
                          track(name, properties, static_cast<int64_t>(seq) * 1000, seq), {}, 5000);
  }
  JsonWriter out;
  write_audience_state(out, state);
  auto back = read_audience_state(**parser.parse(out.str()));
  ASSERT_TRUE(back) << back.status().message();
  EXPECT_EQ(*back, state) << out.str();
  EXPECT_EQ(state.audiences.count("f"), 1u);
}

}  // namespace
}  // namespace cdp::audience
