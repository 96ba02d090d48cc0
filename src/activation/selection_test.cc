#include "activation/selection.h"

#include <gtest/gtest.h>

namespace cdp::activation {
namespace {

DestinationSpec spec_of(const std::string& json, const std::string& name = "crm") {
  auto spec = parse_destination_text(name, json);
  EXPECT_TRUE(spec.has_value()) << spec.status().message();
  return spec.has_value() ? *spec : DestinationSpec{};
}

storage::RawLogRecord record(const std::string& event, const std::string& source = "web") {
  return {7, source, 1000, event};
}

std::optional<Message> select(const DestinationSpec& spec, const std::string& event,
                              const std::string& source = "web") {
  ingest::JsonParser parser;
  return select_event(spec, record(event, source), parser);
}

TEST(SelectionTest, TypesNamesAndPropertyFilters) {
  const auto spec = spec_of(R"({"type":"webhook","url":"http://x/","events":{
      "types":["track","page"],"names":["Order Completed","Pricing"],
      "where":"property.total > 50"}})");
  EXPECT_TRUE(select(spec, R"({"type":"track","event":"Order Completed","messageId":"m1",
      "userId":"u1","properties":{"total":80}})"));
  EXPECT_FALSE(select(spec, R"({"type":"track","event":"Order Completed","messageId":"m2",
      "userId":"u1","properties":{"total":20}})"))
      << "the where clause";
  EXPECT_FALSE(select(spec, R"({"type":"track","event":"Signed Up","messageId":"m3",
      "userId":"u1","properties":{"total":80}})"))
      << "the name";
  EXPECT_TRUE(select(spec, R"({"type":"page","name":"Pricing","messageId":"m4",
      "anonymousId":"a1","properties":{"total":99}})"))
      << "page names count as names";
  EXPECT_FALSE(select(spec, R"({"type":"identify","messageId":"m5","userId":"u1"})")) << "the type";
}

TEST(SelectionTest, MessageIdKeyAndBody) {
  const auto spec = spec_of(R"({"type":"webhook","url":"http://x/","events":{}})");
  const std::string event = R"({"type":"track","event":"A","messageId":"m1","anonymousId":"a1"})";
  auto message = select(spec, event);
  ASSERT_TRUE(message);
  EXPECT_EQ(message->message_id, "m1");
  EXPECT_EQ(message->key, "a1") << "anonymousId when there is no userId";
  EXPECT_EQ(message->json, event) << "sent as stored without a mapping";
  EXPECT_EQ(select(spec, R"({"type":"track","event":"A","messageId":"m1","userId":"u",
      "anonymousId":"a1"})")
                ->key,
            "u");
}

TEST(SelectionTest, TheServersOwnEntriesAreNeverSent) {
  const auto spec = spec_of(R"({"type":"webhook","url":"http://x/","events":{}})");
  EXPECT_FALSE(select(spec, R"({"type":"unmerge","messageId":"m"})", "cdp:admin"));
  EXPECT_FALSE(select(spec, R"({"type":"link","messageId":"m"})", "cdp:match"));
}

TEST(SelectionTest, ConsentFollowsSegment) {
  const auto mapped = spec_of(
      R"({"type":"webhook","url":"http://x/","events":{},"consent_categories":["Advertising"]})");
  const auto unmapped = spec_of(R"({"type":"webhook","url":"http://x/","events":{}})");
  const auto with = [](const std::string& consent) {
    return R"({"type":"track","event":"A","messageId":"m","userId":"u","context":{"consent":)" +
           consent + "}}";
  };
  const std::string no_consent = R"({"type":"track","event":"A","messageId":"m","userId":"u"})";
  // Events without the consent object flow without enforcement.
  EXPECT_TRUE(select(mapped, no_consent));
  EXPECT_TRUE(select(mapped, with(R"({"categoryPreferences":{"Advertising":true}})")));
  EXPECT_FALSE(select(mapped, with(R"({"categoryPreferences":{"Advertising":false}})")));
  // A missing preference is a denial for a mapped destination.
  EXPECT_FALSE(select(mapped, with(R"({"categoryPreferences":{"Analytics":true}})")));
  EXPECT_FALSE(select(mapped, with(R"({})")));
  EXPECT_FALSE(select(mapped, with(R"({"categoryPreferences":{"Advertising":"yes"}})")));
  // A destination mapped to no category is not enforced.
  EXPECT_TRUE(select(unmapped, with(R"({"categoryPreferences":{"Advertising":false}})")));

  const auto both = spec_of(R"({"type":"webhook","url":"http://x/","events":{},
      "consent_categories":["Advertising","Analytics"]})");
  EXPECT_FALSE(select(both, with(R"({"categoryPreferences":{"Advertising":true}})")))
      << "every category must be granted";
  EXPECT_TRUE(
      select(both, with(R"({"categoryPreferences":{"Advertising":true,"Analytics":true}})")));
}

TEST(SelectionTest, TheIntegrationsObjectExcludes) {
  const auto spec = spec_of(R"({"type":"webhook","url":"http://x/","events":{}})", "crm");
  const auto with = [](const std::string& integrations) {
    return R"({"type":"track","event":"A","messageId":"m","userId":"u","integrations":)" +
           integrations + "}";
  };
  EXPECT_FALSE(select(spec, with(R"({"crm":false})")));
  EXPECT_TRUE(select(spec, with(R"({"other":false})")));
  EXPECT_FALSE(select(spec, with(R"({"All":false})")));
  EXPECT_TRUE(select(spec, with(R"({"All":false,"crm":true})")));
  EXPECT_TRUE(select(spec, with(R"({"All":false,"crm":{"key":"v"}})")));
}

TEST(SelectionTest, TheMappingRenamesAndSelects) {
  const auto spec = spec_of(R"({"type":"webhook","url":"http://x/","events":{},
      "mapping":{"user":"userId","total":"properties.total","missing":"properties.nope",
                 "ctx":"context.library"}})");
  auto message = select(spec, R"({"type":"track","event":"A","messageId":"m","userId":"u1",
      "properties":{"total":12.50},"context":{"library":{"name":"analytics-node"}}})");
  ASSERT_TRUE(message);
  EXPECT_EQ(message->json, R"({"user":"u1","total":12.50,"ctx":{"name":"analytics-node"}})");
}

TEST(SelectionTest, AudienceChanges) {
  const auto spec = spec_of(R"({"type":"webhook","url":"http://x/",
      "audiences":{"names":["vip"],"changes":["entered"]}})");
  ingest::JsonParser parser;
  const auto change = [](const std::string& type, const std::string& audience) {
    return profile::ChangeLogItem{
        42, 3,
        R"({"type":")" + type + R"(","audience":")" + audience +
            R"(","profile":"p_9","time":"2026-01-01T00:00:00.000Z","cause":"event","seq":42})"};
  };
  auto entered = select_change(spec, change("audience_entered", "vip"), parser);
  ASSERT_TRUE(entered);
  EXPECT_EQ(entered->message_id, "audience-42.3");
  EXPECT_EQ(entered->key, "p_9");
  EXPECT_EQ(entered->json.rfind(R"({"messageId":"audience-42.3","type":"audience_entered")", 0), 0u)
      << entered->json;
  EXPECT_FALSE(select_change(spec, change("audience_exited", "vip"), parser));
  EXPECT_FALSE(select_change(spec, change("audience_entered", "churned"), parser));
  const auto events_only = spec_of(R"({"type":"webhook","url":"http://x/","events":{}})");
  EXPECT_FALSE(select_change(events_only, change("audience_entered", "vip"), parser));
}

TEST(SelectionTest, TraitChangesGoWhereTheirTraitsAreSubscribed) {
  ingest::JsonParser parser;
  const profile::ChangeLogItem change{
      7, 1,
      R"({"type":"traits_changed","profile":"p_9","user_id":"u9","traits":{"plan":"pro",)"
      R"("seats":3},"time":"2026-01-01T00:00:00.000Z","cause":"event m1","seq":7})"};
  const auto every = spec_of(R"({"type":"webhook","url":"http://x/","traits":{}})");
  auto all = select_change(every, change, parser);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->message_id, "traits-7.1");
  EXPECT_EQ(all->key, "p_9");
  EXPECT_EQ(all->json, R"({"messageId":"traits-7.1",)" + change.json.substr(1));

  const auto plan = spec_of(R"({"type":"webhook","url":"http://x/","traits":{"names":["plan"]},
      "mapping":{"user":"user_id","plan":"traits.plan"}})");
  auto named = select_change(plan, change, parser);
  ASSERT_TRUE(named);
  EXPECT_EQ(named->json, R"({"user":"u9","plan":"pro"})");
  const auto email =
      spec_of(R"({"type":"webhook","url":"http://x/","traits":{"names":["email"]}})");
  EXPECT_FALSE(select_change(email, change, parser)) << "none of its traits changed";
  auto seats =
      select_change(spec_of(R"({"type":"webhook","url":"http://x/","traits":{"names":["seats"]}})"),
                    change, parser);
  ASSERT_TRUE(seats);
  EXPECT_EQ(
      seats->json,
      R"({"messageId":"traits-7.1","type":"traits_changed","profile":"p_9","user_id":"u9",)"
      R"("traits":{"seats":3},"time":"2026-01-01T00:00:00.000Z","cause":"event m1","seq":7})");
  const auto audiences_only = spec_of(R"({"type":"webhook","url":"http://x/","audiences":{}})");
  EXPECT_FALSE(select_change(audiences_only, change, parser));
}

}  // namespace
}  // namespace cdp::activation
