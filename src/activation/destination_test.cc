#include "activation/destination.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cdp::activation {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(DestinationTest, ParsesEveryField) {
  auto spec = parse_destination_text("crm", R"({
    "type": "webhook", "url": "https://hooks.example.com/in", "secret": "s3",
    "events": {"types": ["track"], "names": ["Order Completed"], "where": "property.total > 50"},
    "audiences": {"names": ["vip"], "changes": ["entered"]},
    "mapping": {"user": "userId", "total": "properties.total"},
    "consent_categories": ["Advertising"], "batch_size": 100, "timeout_ms": 2000,
    "retry_window": "2 hours", "max_per_second": 250, "ordered": true, "enabled": false,
    "start": "beginning"})");
  ASSERT_TRUE(spec.has_value()) << spec.status().message();
  EXPECT_EQ(spec->url, "https://hooks.example.com/in");
  EXPECT_TRUE(spec->events.enabled);
  EXPECT_TRUE(spec->events.types.contains("track"));
  EXPECT_TRUE(spec->events.filter.has_value());
  EXPECT_TRUE(spec->audiences.entered);
  EXPECT_FALSE(spec->audiences.exited);
  ASSERT_EQ(spec->mapping.size(), 2u);
  EXPECT_EQ(spec->mapping[1].path, (std::vector<std::string>{"properties", "total"}));
  EXPECT_EQ(spec->batch_size, 100u);
  EXPECT_EQ(spec->retry_window_ms, 2 * 3600 * 1000);
  EXPECT_EQ(spec->max_per_second, 250);
  EXPECT_TRUE(spec->ordered);
  EXPECT_FALSE(spec->enabled);
  EXPECT_TRUE(spec->from_beginning);

  // The stored form reads back as the same destination; the API form hides the secret.
  auto again = parse_destination_text("crm", destination_json(*spec, true));
  ASSERT_TRUE(again.has_value()) << again.status().message();
  EXPECT_EQ(destination_json(*again, true), destination_json(*spec, true));
  EXPECT_EQ(again->secret, "s3");
  EXPECT_THAT(destination_json(*spec, false), Not(HasSubstr("s3")));
  EXPECT_THAT(destination_json(*spec, false), HasSubstr("\"signed\":true"));
  // What GET answers can be PUT back.
  EXPECT_TRUE(parse_destination_text("crm", destination_json(*spec, false)).has_value());
}

TEST(DestinationTest, DefaultsAreSegmentLike) {
  auto spec = parse_destination_text("d", R"({"type":"webhook","url":"http://x/","events":{}})");
  ASSERT_TRUE(spec.has_value()) << spec.status().message();
  EXPECT_EQ(spec->batch_size, 1u);
  EXPECT_EQ(spec->retry_window_ms, 4LL * 3600 * 1000);
  EXPECT_TRUE(spec->events.types.empty());
  EXPECT_FALSE(spec->audiences.enabled);
  EXPECT_FALSE(spec->from_beginning);
}

TEST(DestinationTest, RefusesWhatItCannotUseAndSaysWhy) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"url":"http://x/","events":{}})", "'type' is missing"},
      {R"({"type":"sftp","url":"http://x/","events":{}})", "\"webhook\""},
      {R"({"type":"webhook","url":"ftp://x/","events":{}})", "http:// or https://"},
      {R"({"type":"webhook","url":"http://x/"})", "subscribes to nothing"},
      {R"({"type":"webhook","url":"http://x/","events":{},"colour":1})", "'colour' is unknown"},
      {R"({"type":"webhook","url":"http://x/","events":{"types":["click"]}})", "'click'"},
      {R"({"type":"webhook","url":"http://x/","events":{"where":"property.x >"}})",
       "'events.where' is not a filter"},
      {R"({"type":"webhook","url":"http://x/","events":{},"batch_size":0})", "between 1 and"},
      {R"({"type":"webhook","url":"http://x/","events":{},"batch_size":1.5})", "whole number"},
      {R"({"type":"webhook","url":"http://x/","events":{},"retry_window":"soon"})",
       "'retry_window'"},
      {R"({"type":"webhook","url":"http://x/","audiences":{"changes":["joined"]}})",
       "\"entered\", \"exited\""},
      {R"({"type":"webhook","url":"http://x/","events":{},"mapping":{"a":"b..c"}})", "empty step"},
      {R"({"type":"webhook","url":"http://x/","events":{},"start":"yesterday"})", "\"now\""},
      {R"({"name":"other","type":"webhook","url":"http://x/","events":{}})", "'d'"},
      {R"([1])", "JSON object"},
      {R"({"type":)", "not valid JSON"},
      {R"({"type":"files","path":"ads","audiences":{},"events":{}})", "no \"events\""},
      {R"({"type":"files","path":"../etc","audiences":{}})", "'path'"},
      {R"({"type":"files","path":"/srv","audiences":{}})", "'path'"},
      {R"({"type":"files","audiences":{}})", "needs path"},
      {R"({"type":"files","path":"a","audiences":{},"hashing":"md5"})", "'hashing'"},
      {R"({"type":"files","path":"a","audiences":{},"every":"1 second"})", "at least 1 minute"},
      {R"({"type":"webhook","url":"http://x/","events":{},"format":"csv"})",
       "'format' is a field of files destinations"},
      {R"({"type":"kafka","brokers":"b:9092","topic":"t","events":{},"kafka":{"plugin.library.paths":"x"}})",
       "not a setting destinations may change"},
  };
  for (const auto& [json, message] : cases) {
    auto spec = parse_destination_text("d", json);
    ASSERT_FALSE(spec.has_value()) << json;
    EXPECT_EQ(spec.status().code(), StatusCode::kInvalidArgument) << json;
    EXPECT_THAT(spec.status().message(), HasSubstr(message)) << json;
  }
}

TEST(DestinationTest, FilesDestinations) {
  auto spec = parse_destination_text("ads", R"({"type":"files","path":"ads/google",
      "audiences":{"names":["vip"]},"format":"jsonl","identifiers":["email","user_id"],
      "hashing":"google","every":"12 hours"})");
  ASSERT_TRUE(spec.has_value()) << spec.status().message();
  EXPECT_EQ(spec->kind, DestinationKind::kFiles);
  EXPECT_EQ(spec->files.path, "ads/google");
  EXPECT_EQ(spec->files.format, FileFormat::kJsonl);
  EXPECT_EQ(spec->files.hashing, HashRule::kGoogle);
  EXPECT_EQ(spec->files.every_ms, 12 * 3600 * 1000);
  auto again = parse_destination_text("ads", destination_json(*spec, false));
  ASSERT_TRUE(again.has_value()) << again.status().message();
  EXPECT_EQ(destination_json(*again, true), destination_json(*spec, true));
}

TEST(DestinationTest, PostgresDestinations) {
  auto spec = parse_destination_text("dw", R"({"type":"postgres","events":{},"audiences":{},
      "postgres":{"host":"db.internal","port":6432,"dbname":"analytics","user":"cdp",
      "password":"s3cret","sslmode":"require","schema":"cdp_prod"}})");
  ASSERT_TRUE(spec.has_value()) << spec.status().message();
  EXPECT_EQ(spec->kind, DestinationKind::kPostgres);
  EXPECT_EQ(spec->postgres.settings.at("host"), "db.internal");
  EXPECT_EQ(spec->postgres.settings.at("port"), "6432");
  EXPECT_EQ(spec->postgres.schema, "cdp_prod");
  EXPECT_EQ(spec->secret, "s3cret");
  EXPECT_EQ(spec->batch_size, 1000u);
  const auto answered = destination_json(*spec, false);
  EXPECT_THAT(answered, Not(HasSubstr("s3cret")));
  EXPECT_THAT(answered, HasSubstr(R"("signed":true)"));
  EXPECT_THAT(answered, HasSubstr(R"("port":6432)"));
  auto stored = parse_destination_text("dw", destination_json(*spec, true));
  ASSERT_TRUE(stored.has_value()) << stored.status().message();
  EXPECT_EQ(stored->secret, "s3cret");
  EXPECT_EQ(destination_json(*stored, true), destination_json(*spec, true));

  const std::string base = R"("type":"postgres","events":{},)";
  for (const auto& [json, message] : std::vector<std::pair<std::string, std::string>>{
           {R"({"type":"postgres","events":{}})", "'postgres' is missing"},
           {"{" + base + R"("postgres":{"dbname":"x"}})", "'postgres.host' is missing"},
           {"{" + base + R"("postgres":{"host":"/var/run/postgresql"}})", "no sockets"},
           {"{" + base + R"("postgres":{"host":"a,b"}})", "no sockets or lists"},
           {"{" + base + R"("postgres":{"host":"h","port":0}})", "'postgres.port'"},
           {"{" + base + R"("postgres":{"host":"h","sslmode":"maybe"}})", "verify-full"},
           {"{" + base + R"("postgres":{"host":"h","schema":"Bad-Name"}})", "schema name"},
           {"{" + base + R"("postgres":{"host":"h","schema":"pg_catalog"}})", "pg_"},
           {"{" + base + R"("postgres":{"host":"h","passfile":"/etc/shadow"}})",
            "the settings are host, port"},
           {"{" + base + R"("postgres":{"host":"h"},"secret":"x"})", "postgres.password"},
           {"{" + base + R"("postgres":{"host":"h"},"mapping":{"a":"b"}})", "no mapping"},
           {R"({"type":"webhook","url":"https://x.test/","events":{},"postgres":{"host":"h"}})",
            "'postgres' is a field of postgres destinations"},
       }) {
    auto refused = parse_destination_text("dw", json);
    ASSERT_FALSE(refused.has_value()) << json;
    EXPECT_THAT(refused.status().message(), HasSubstr(message)) << json;
  }
}

TEST(DestinationTest, TraitSubscriptions) {
  auto spec = parse_destination_text(
      "crm", R"({"type":"webhook","url":"https://x.test/","traits":{"names":["plan","email"]}})");
  ASSERT_TRUE(spec.has_value()) << spec.status().message();
  EXPECT_TRUE(spec->traits.enabled);
  EXPECT_TRUE(reads_change_log(*spec));
  EXPECT_EQ(spec->traits.names.size(), 2u);
  EXPECT_THAT(destination_json(*spec, false), HasSubstr(R"("traits":{"names":["email","plan"]})"));
  for (const auto& [json, message] : std::vector<std::pair<std::string, std::string>>{
           {R"({"type":"webhook","url":"https://x.test/","traits":[]})", "'traits' must be"},
           {R"({"type":"webhook","url":"https://x.test/","traits":{"who":1}})", "'traits.who'"},
           {R"({"type":"files","path":"a","audiences":{},"traits":{}})", "no \"events\" or"},
       }) {
    auto refused = parse_destination_text("crm", json);
    ASSERT_FALSE(refused.has_value()) << json;
    EXPECT_THAT(refused.status().message(), HasSubstr(message)) << json;
  }
}

TEST(DestinationTest, NamesAreChecked) {
  EXPECT_TRUE(check_destination_name("crm-hook_1.v2").is_ok());
  EXPECT_FALSE(check_destination_name("").is_ok());
  EXPECT_FALSE(check_destination_name("a/b").is_ok());
  EXPECT_FALSE(check_destination_name(std::string(65, 'a')).is_ok());
}

}  // namespace
}  // namespace cdp::activation
