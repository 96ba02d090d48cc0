#include "server/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

namespace cdp::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::string_view kFullExample = R"toml(
# Every key cdp serve reads.
[server]
listen = "0.0.0.0:9090"
http_threads = 8
admin_token = "admin-secret"
public_url = "https://cdp.example.com"
trust_forwarded_for = true
cors_origins = ["https://www.example.com", "https://app.example.com"]

[storage]
data = "/var/lib/cdp"
sync = false
dedup_window_hours = 48
retention_days = 90
min_free_mb = 1024
max_queue_mb = 256

[limits]
max_event_kb = 64
max_body_kb = 1024
max_batch_events = 500

[log]
level = "debug"

[[sources]]
name = "website"
write_key = "wk-website"

[[sources]]
name = "ios"
write_key = "wk-ios"
enabled = false
)toml";

Result<Config> parse(std::string_view text) { return Config::parse_toml(text, "test.toml"); }

// Parses `text`, expects kInvalidArgument, and returns the message.
std::string error_of(std::string_view text) {
  auto config = parse(text);
  EXPECT_FALSE(config.has_value()) << text;
  if (config) return {};
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument) << text;
  return config.status().message();
}

TEST(ConfigTest, EmptyFileGivesTheDefaults) {
  auto config = parse("");
  ASSERT_TRUE(config.has_value()) << config.status().to_string();
  EXPECT_EQ(config->listen, "127.0.0.1:8080");
  EXPECT_EQ(config->http_threads, 2);
  EXPECT_EQ(config->admin_token, "");
  EXPECT_EQ(config->public_url, "");
  EXPECT_FALSE(config->trust_forwarded_for);
  EXPECT_THAT(config->cors_origins, ElementsAre("*"));
  EXPECT_EQ(config->data_dir, "./cdp-data");
  EXPECT_TRUE(config->sync);
  EXPECT_EQ(config->dedup_window_hours, 24);
  EXPECT_EQ(config->retention_days, 0);
  EXPECT_EQ(config->min_free_mb, 64u);
  EXPECT_EQ(config->max_queue_mb, 64u);
  EXPECT_EQ(config->limits.max_event_bytes, 32u * 1024);
  EXPECT_EQ(config->limits.max_body_bytes, 500u * 1024);
  EXPECT_EQ(config->limits.max_batch_events, 2500u);
  EXPECT_EQ(config->log_level, "info");
  EXPECT_TRUE(config->sources.empty());
}

TEST(ConfigTest, FullExampleSetsEveryKey) {
  auto config = parse(kFullExample);
  ASSERT_TRUE(config.has_value()) << config.status().to_string();
  EXPECT_EQ(config->listen, "0.0.0.0:9090");
  EXPECT_EQ(config->http_threads, 8);
  EXPECT_EQ(config->admin_token, "admin-secret");
  EXPECT_EQ(config->public_url, "https://cdp.example.com");
  EXPECT_TRUE(config->trust_forwarded_for);
  EXPECT_THAT(config->cors_origins,
              ElementsAre("https://www.example.com", "https://app.example.com"));
  EXPECT_EQ(config->data_dir, "/var/lib/cdp");
  EXPECT_FALSE(config->sync);
  EXPECT_EQ(config->dedup_window_hours, 48);
  EXPECT_EQ(config->retention_days, 90);
  EXPECT_EQ(config->min_free_mb, 1024u);
  EXPECT_EQ(config->max_queue_mb, 256u);
  EXPECT_EQ(config->limits.max_event_bytes, 64u * 1024);
  EXPECT_EQ(config->limits.max_body_bytes, 1024u * 1024);
  EXPECT_EQ(config->limits.max_batch_events, 500u);
  EXPECT_EQ(config->log_level, "debug");
  ASSERT_EQ(config->sources.size(), 2u);
  EXPECT_EQ(config->sources[0].name, "website");
  EXPECT_EQ(config->sources[0].write_key, "wk-website");
  EXPECT_TRUE(config->sources[0].enabled) << "enabled defaults to true";
  EXPECT_EQ(config->sources[1].name, "ios");
  EXPECT_EQ(config->sources[1].write_key, "wk-ios");
  EXPECT_FALSE(config->sources[1].enabled);
}

TEST(ConfigTest, PartialSectionsKeepTheOtherDefaults) {
  auto config = parse("[limits]\nmax_batch_events = 10\n[server]\nlisten = \"127.0.0.1:0\"\n");
  ASSERT_TRUE(config.has_value()) << config.status().to_string();
  EXPECT_EQ(config->limits.max_batch_events, 10u);
  EXPECT_EQ(config->limits.max_event_bytes, 32u * 1024);
  EXPECT_EQ(config->limits.max_body_bytes, 500u * 1024);
  EXPECT_EQ(config->listen, "127.0.0.1:0");
  EXPECT_EQ(config->http_threads, 2);
  EXPECT_TRUE(config->sync);
}

TEST(ConfigTest, EmptyCorsOriginsListAllowsNoOrigin) {
  auto config = parse("[server]\ncors_origins = []\n");
  ASSERT_TRUE(config.has_value()) << config.status().to_string();
  EXPECT_TRUE(config->cors_origins.empty());
}

TEST(ConfigTest, UnknownKeysAreRejectedWithTheirName) {
  EXPECT_THAT(error_of("[servr]\nlisten = \"x:1\"\n"), HasSubstr("\"servr\""));
  EXPECT_THAT(error_of("colour = \"blue\"\n"), HasSubstr("\"colour\""));
  EXPECT_THAT(error_of("[server]\nlistn = \"0.0.0.0:80\"\n"), HasSubstr("\"listn\""));
  EXPECT_THAT(error_of("[server]\nlistn = \"0.0.0.0:80\"\n"), HasSubstr("[server]"));
  EXPECT_THAT(error_of("[storage]\ndata_dir = \"/tmp\"\n"), HasSubstr("\"data_dir\""));
  EXPECT_THAT(error_of("[limits]\nmax_event_bytes = 10\n"), HasSubstr("\"max_event_bytes\""));
  EXPECT_THAT(error_of("[log]\nformat = \"json\"\n"), HasSubstr("\"format\""));
  EXPECT_THAT(error_of("[[sources]]\nname = \"web\"\nwritekey = \"k\"\n"),
              HasSubstr("\"writekey\""));
}

TEST(ConfigTest, WrongTypesAreRejectedWithTheKeyName) {
  EXPECT_THAT(error_of("[server]\nlisten = 8080\n"), HasSubstr("listen"));
  EXPECT_THAT(error_of("[server]\nhttp_threads = \"four\"\n"), HasSubstr("http_threads"));
  EXPECT_THAT(error_of("[server]\ntrust_forwarded_for = \"yes\"\n"),
              HasSubstr("trust_forwarded_for"));
  EXPECT_THAT(error_of("[server]\ncors_origins = [1, 2]\n"), HasSubstr("cors_origins"));
  EXPECT_THAT(error_of("[storage]\nsync = \"false\"\n"), HasSubstr("sync"));
  EXPECT_THAT(error_of("[storage]\ndata = 5\n"), HasSubstr("data"));
  EXPECT_THAT(error_of("[storage]\nretention_days = \"30\"\n"), HasSubstr("retention_days"));
  EXPECT_THAT(error_of("[limits]\nmax_batch_events = \"many\"\n"), HasSubstr("max_batch_events"));
  EXPECT_THAT(error_of("[log]\nlevel = 3\n"), HasSubstr("level"));
  EXPECT_THAT(error_of("[[sources]]\nname = \"web\"\nwrite_key = \"k\"\nenabled = \"no\"\n"),
              HasSubstr("enabled"));
  EXPECT_THAT(error_of("[[sources]]\nname = 7\nwrite_key = \"k\"\n"), HasSubstr("name"));
}

TEST(ConfigTest, SectionsOfTheWrongTypeAreRejected) {
  EXPECT_THAT(error_of("server = \"0.0.0.0:80\"\n"), HasSubstr("server"));
  EXPECT_THAT(error_of("storage = 1\n"), HasSubstr("storage"));
  EXPECT_THAT(error_of("limits = []\n"), HasSubstr("limits"));
  EXPECT_THAT(error_of("log = \"debug\"\n"), HasSubstr("log"));
  EXPECT_THAT(error_of("[sources]\nname = \"web\"\n"), HasSubstr("sources"));
  EXPECT_THAT(error_of("sources = [\"web\"]\n"), HasSubstr("sources"));
}

TEST(ConfigTest, OutOfRangeNumbersAreRejected) {
  EXPECT_THAT(error_of("[server]\nhttp_threads = 0\n"), HasSubstr("http_threads"));
  EXPECT_THAT(error_of("[storage]\ndedup_window_hours = 0\n"), HasSubstr("dedup_window_hours"));
  EXPECT_THAT(error_of("[storage]\nretention_days = -1\n"), HasSubstr("retention_days"));
  EXPECT_THAT(error_of("[storage]\nmax_queue_mb = 0\n"), HasSubstr("max_queue_mb"));
  EXPECT_THAT(error_of("[storage]\nmin_free_mb = -5\n"), HasSubstr("min_free_mb"));
  EXPECT_THAT(error_of("[limits]\nmax_event_kb = 0\n"), HasSubstr("max_event_kb"));
  EXPECT_THAT(error_of("[limits]\nmax_body_kb = -1\n"), HasSubstr("max_body_kb"));
  EXPECT_THAT(error_of("[limits]\nmax_batch_events = 0\n"), HasSubstr("max_batch_events"));
}

TEST(ConfigTest, ZeroRetentionKeepsEverythingAndIsAccepted) {
  auto config = parse("[storage]\nretention_days = 0\nmin_free_mb = 0\n");
  ASSERT_TRUE(config.has_value()) << config.status().to_string();
  EXPECT_EQ(config->retention_days, 0);
  EXPECT_EQ(config->min_free_mb, 0u);
}

TEST(ConfigTest, TomlSyntaxErrorsNameTheFileAndLine) {
  const std::string message =
      error_of("[server]\nlisten = \"127.0.0.1:8080\"\nhttp_threads = = 2\n");
  EXPECT_THAT(message, HasSubstr("test.toml:3"));
}

TEST(ConfigTest, LoadFileReadsTheFile) {
  std::random_device random;
  const auto path = std::filesystem::temp_directory_path() /
                    ("cdp-config-test-" + std::to_string(random()) + ".toml");
  {
    std::ofstream file(path);
    file << kFullExample;
  }
  auto config = Config::load_file(path.string());
  std::filesystem::remove(path);
  ASSERT_TRUE(config.has_value()) << config.status().to_string();
  EXPECT_EQ(config->listen, "0.0.0.0:9090");
  EXPECT_EQ(config->sources.size(), 2u);
}

TEST(ConfigTest, LoadFileOfAMissingFileIsNotFound) {
  auto config = Config::load_file("/nonexistent/cdp/config.toml");
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(config.status().message(), HasSubstr("/nonexistent/cdp/config.toml"));
}

}  // namespace
}  // namespace cdp::server

namespace cdp::server {
namespace {

TEST(IdentityConfigTest, OverridesStartFromTheDefaultRule) {
  auto config = Config::parse_toml(R"(
[server]
read_token = "r"
[identity]
phone_default_region = "GB"
priority = ["user_id", "email", "phone"]
max_merges_per_profile = 50
quarantine_after_profiles = 4
quarantine_window_days = 7
[identity.types.anonymous_id]
limit = 5
window_days = 30
[identity.types.email]
blocked_values = ["test@example.com"]
[[identity.custom]]
type = "crm_id"
path = "traits.crm_id"
)",
                                   "test.toml");
  ASSERT_TRUE(config.has_value()) << config.status().to_string();
  const auto& rules = config->identity;
  EXPECT_EQ(config->read_token, "r");
  EXPECT_EQ(rules.phone_default_region, "GB");
  EXPECT_THAT(rules.priority, ElementsAre("user_id", "email", "phone"));
  EXPECT_EQ(rules.max_merges_per_profile, 50u);
  EXPECT_EQ(rules.quarantine_after_profiles, 4u);
  EXPECT_EQ(rules.quarantine_window_ms, 7 * 86'400'000LL);
  EXPECT_EQ(rules.types.at("anonymous_id").window_ms, 30 * 86'400'000LL);
  EXPECT_THAT(rules.types.at("anonymous_id").blocked_patterns, ElementsAre("^[0-]*$"))
      << "keys not given keep the default rule's";
  EXPECT_THAT(rules.types.at("email").blocked_values, ElementsAre("test@example.com"));
  EXPECT_EQ(rules.types.at("email").limit, 5u);
  EXPECT_EQ(rules.types.at("user_id").limit, 1u);
  ASSERT_EQ(rules.custom_identifiers.size(), 1u);
  EXPECT_THAT(rules.custom_identifiers[0].path, ElementsAre("traits", "crm_id"));
}

TEST(IdentityConfigTest, MistakesAreNamed) {
  auto region = Config::parse_toml("[identity]\nphone_default_region = \"XX\"\n", "t.toml");
  ASSERT_FALSE(region.has_value());
  EXPECT_THAT(region.status().message(), HasSubstr("\"XX\""));
  auto pattern =
      Config::parse_toml("[identity.types.email]\nblocked_patterns = [\"(\"]\n", "t.toml");
  ASSERT_FALSE(pattern.has_value());
  EXPECT_THAT(pattern.status().message(), HasSubstr("blocked pattern"));
  auto limit = Config::parse_toml("[identity.types.email]\nlimit = 0\n", "t.toml");
  ASSERT_FALSE(limit.has_value());
  EXPECT_THAT(limit.status().message(), HasSubstr("identity.types.email"));
  auto unknown = Config::parse_toml("[identity]\nlimits = 3\n", "t.toml");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_THAT(unknown.status().message(), HasSubstr("\"limits\""));
  auto type = Config::parse_toml("[[identity.custom]]\ntype = \"Bad Type\"\npath = \"traits.x\"\n",
                                 "t.toml");
  ASSERT_FALSE(type.has_value());
  EXPECT_THAT(type.status().message(), HasSubstr("Bad Type"));
}

}  // namespace
}  // namespace cdp::server

namespace cdp::server {
namespace {

TEST(ActivationConfigTest, DestinationsUseTheApiFields) {
  auto config = Config::parse_toml(R"toml(
[activation]
allowed_networks = ["127.0.0.0/8", "fd00::/8"]
delivery_history_days = 3

[[destinations]]
name = "crm"
type = "webhook"
url = "https://hooks.example.com/cdp"
secret = "whsec"
batch_size = 50
retry_window = "1 hour"
events = { types = ["track"], where = "property.total > 5" }
audiences = { names = ["vip"], changes = ["entered"] }
mapping = { user = "userId" }
)toml",
                                   "test.toml");
  ASSERT_TRUE(config.has_value()) << config.status().message();
  EXPECT_THAT(config->allowed_networks, ElementsAre("127.0.0.0/8", "fd00::/8"));
  EXPECT_EQ(config->delivery_history_days, 3);
  ASSERT_EQ(config->destinations.size(), 1u);
  const auto& crm = config->destinations[0];
  EXPECT_EQ(crm.name, "crm");
  EXPECT_EQ(crm.batch_size, 50u);
  EXPECT_EQ(crm.retry_window_ms, 3'600'000);
  EXPECT_TRUE(crm.events.filter.has_value());
  EXPECT_FALSE(crm.audiences.exited);
  ASSERT_EQ(crm.mapping.size(), 1u);
}

TEST(AudiencesConfigTest, ThePreviewBudgetIsRead) {
  EXPECT_EQ(Config::parse_toml("", "test.toml")->preview_budget_ms, 500);
  auto config = Config::parse_toml("[audiences]\npreview_budget_ms = 0", "test.toml");
  ASSERT_TRUE(config.has_value()) << config.status().message();
  EXPECT_EQ(config->preview_budget_ms, 0);
}

TEST(ActivationConfigTest, MistakesAreNamed) {
  const std::pair<const char*, const char*> cases[] = {
      {"[activation]\nallowed_networks = [\"localhost\"]", "not a network"},
      {"[activation]\nallow = []", "allow"},
      {"[[destinations]]\nname = \"x\"\ntype = \"webhook\"\nurl = \"gopher://x\"\nevents = {}",
       "'x': destination field 'url'"},
      {"[[destinations]]\nname = \"a b\"\ntype = \"webhook\"\nurl = \"http://x\"\nevents = {}",
       "may only use letters"},
      {"[[destinations]]\nname = \"x\"\ntype = \"webhook\"\nurl = \"http://x\"\nevents = {}\n"
       "[[destinations]]\nname = \"x\"\ntype = \"webhook\"\nurl = \"http://y\"\nevents = {}",
       "'x' twice"},
      {"destinations = 1", "[[destinations]] tables"},
      {"[audiences]\npreview_budget_ms = -1", "preview_budget_ms must be 0 to 600000"},
      {"[audiences]\npreview_budget = 5", "preview_budget"},
      {"audiences = 1", "[audiences] table"},
  };
  for (const auto& [toml, message] : cases) {
    auto config = Config::parse_toml(toml, "test.toml");
    ASSERT_FALSE(config.has_value()) << toml;
    EXPECT_THAT(config.status().message(), HasSubstr(message)) << toml;
  }
}

}  // namespace
}  // namespace cdp::server
