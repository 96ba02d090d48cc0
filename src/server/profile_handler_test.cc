#include "server/profile_handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <thread>

#include "ingest/json_tree.h"
#include "server/app.h"
#include "server/internal/test_http_client.h"

namespace cdp::server {
namespace {

using internal::TestHttpClient;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

// The whole server over HTTP: events in through the tracking API, profiles out of the Profile API.
class ProfileApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    data_dir_ = std::filesystem::temp_directory_path() /
                ("cdp-profile-test-" + std::to_string(random()) + "-" + std::to_string(random()));
    Config config;
    config.listen = "127.0.0.1:0";
    config.data_dir = data_dir_.string();
    config.sync = false;
    config.log_level = "error";
    config.read_token = "read-secret";
    config.sources = {{"web", "web-key", true, false}};
    auto app = App::start(config);
    ASSERT_TRUE(app.has_value()) << app.status().to_string();
    app_ = std::move(*app);
    client_ = std::make_unique<TestHttpClient>(app_->port());
  }

  void TearDown() override {
    client_.reset();
    app_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(data_dir_, ignored);
  }

  void send(const std::string& path, const std::string& body) {
    auto response = client_->post(path, body, {{"Authorization", "Basic d2ViLWtleTo="}});
    ASSERT_TRUE(response.has_value());
    ASSERT_EQ(response->result(), http::status::ok) << response->body();
  }

  TestHttpClient::Response read(const std::string& target,
                                const std::string& token = "read-secret") {
    auto response = client_->get(target, {{"Authorization", "Bearer " + token}});
    EXPECT_TRUE(response.has_value());
    return response ? *response : TestHttpClient::Response{};
  }

  // Reads until the processor has applied what was sent (it runs a moment behind ingest).
  TestHttpClient::Response read_when(
      const std::string& target,
      const std::function<bool(const TestHttpClient::Response&)>& ready) {
    TestHttpClient::Response response;
    for (int attempt = 0; attempt < 300; ++attempt) {
      response = read(target);
      if (ready(response)) return response;
      std::this_thread::sleep_for(10ms);
    }
    ADD_FAILURE() << target << " never became ready; last answer: " << response.body();
    return response;
  }

  std::string field(const TestHttpClient::Response& response, std::string_view key) {
    auto root = parser_.parse(response.body());
    if (!root || !(*root)->is_object()) return "<not json>";
    const auto* value = (*root)->find(key);
    if (value == nullptr) return "<absent>";
    if (value->is_string()) return std::string(value->text);
    std::string out;
    ingest::write_json(out, *value);
    return out;
  }

  std::filesystem::path data_dir_;
  std::unique_ptr<App> app_;
  std::unique_ptr<TestHttpClient> client_;
  ingest::JsonParser parser_;
};

TEST_F(ProfileApiTest, AProfileIsFoundByEveryIdentifierWithItsTraits) {
  send(
      "/v1/identify",
      R"({"userId":"42","anonymousId":"anon-1","traits":{"email":"Jane@Example.com","name":"Jane"}})");
  send("/v1/track", R"({"anonymousId":"anon-1","event":"Signed Up"})");
  auto response = read_when("/v1/profiles/user_id:42", [&](const auto& r) {
    return r.result() == http::status::ok && field(r, "event_count") == "2";
  });
  const auto id = field(response, "id");
  EXPECT_THAT(id, ::testing::StartsWith("p_"));
  EXPECT_EQ(field(response, "traits"), R"({"email":"Jane@Example.com","name":"Jane"})");
  for (const char* ref :
       {"email:jane%40example.com", "email:JANE@example.com", "anonymous_id:anon-1"}) {
    EXPECT_EQ(field(read(std::string("/v1/profiles/") + ref), "id"), id) << ref;
  }
  EXPECT_EQ(field(read("/v1/profiles/" + id), "id"), id);
  auto traits = read("/v1/profiles/" + id + "/traits");
  EXPECT_THAT(traits.body(), HasSubstr(R"("name":{"value":"Jane","source":"web")"));
  auto identifiers = read("/v1/profiles/" + id + "/identifiers");
  EXPECT_THAT(identifiers.body(), HasSubstr(R"("type":"email","value":"jane@example.com")"));
}

TEST_F(ProfileApiTest, WriteKeysAndMissingTokensCannotRead) {
  EXPECT_EQ(read("/v1/profiles/user_id:1", "web-key").result(), http::status::unauthorized);
  auto basic = client_->get("/v1/profiles/user_id:1", {{"Authorization", "Basic d2ViLWtleTo="}});
  EXPECT_EQ(basic->result(), http::status::unauthorized);
  EXPECT_EQ(read("/v1/profiles/user_id:1", app_->admin_token()).result(), http::status::not_found)
      << "the admin token reads too";
}

TEST_F(ProfileApiTest, BadReferencesAndUnknownProfilesAreClearErrors) {
  auto bad = read("/v1/profiles/no-colon");
  EXPECT_EQ(bad.result(), http::status::bad_request);
  EXPECT_THAT(bad.body(), HasSubstr("type:value"));
  EXPECT_EQ(read("/v1/profiles/user_id:nobody").result(), http::status::not_found);
  EXPECT_EQ(read("/v1/profiles/p_1/secrets").result(), http::status::not_found);
  EXPECT_EQ(read("/v1/profiles/user_id:1/events?limit=0").result(), http::status::not_found)
      << "unknown profile first";
}

TEST_F(ProfileApiTest, AMergedAwayIdRedirectsToTheSurvivorAndMergesSayWhy) {
  send("/v1/identify", R"({"userId":"u1","traits":{"email":"a@x.org"}})");
  read_when("/v1/profiles/user_id:u1",
            [](const auto& r) { return r.result() == http::status::ok; });
  send("/v1/page", R"({"anonymousId":"browser-1"})");
  auto anonymous = read_when("/v1/profiles/anonymous_id:browser-1",
                             [](const auto& r) { return r.result() == http::status::ok; });
  const auto loser = field(anonymous, "id");
  send("/v1/identify",
       R"({"anonymousId":"browser-1","messageId":"the-join","traits":{"email":"a@x.org"}})");
  auto survivor = read_when("/v1/profiles/anonymous_id:browser-1",
                            [&](const auto& r) { return field(r, "id") != loser; });
  const auto id = field(survivor, "id");
  EXPECT_EQ(field(survivor, "merged_from"), "[\"" + loser + "\"]");
  auto redirect = read("/v1/profiles/" + loser + "/events?limit=5");
  EXPECT_EQ(redirect.result(), http::status::permanent_redirect);
  EXPECT_EQ(redirect[http::field::location], "/v1/profiles/" + id + "/events?limit=5");
  auto merges = read("/v1/profiles/" + id + "/merges");
  EXPECT_THAT(merges.body(), HasSubstr(R"("kind":"merge")"));
  EXPECT_THAT(merges.body(), HasSubstr(R"("message_id":"the-join")"));
  EXPECT_THAT(merges.body(), HasSubstr(R"("other_profile":")" + loser + "\""));
}

TEST_F(ProfileApiTest, UnmergeSplitsAMergeAndReallowingLiftsTheBlock) {
  send("/v1/identify", R"({"userId":"u1","traits":{"email":"a@x.org"}})");
  read_when("/v1/profiles/user_id:u1",
            [](const auto& r) { return r.result() == http::status::ok; });
  send("/v1/page", R"({"anonymousId":"browser-1"})");
  const auto loser = field(read_when("/v1/profiles/anonymous_id:browser-1",
                                     [](const auto& r) { return r.result() == http::status::ok; }),
                           "id");
  send("/v1/identify", R"({"anonymousId":"browser-1","traits":{"email":"a@x.org"}})");
  const auto id = field(read_when("/v1/profiles/anonymous_id:browser-1",
                                  [&](const auto& r) { return field(r, "id") != loser; }),
                        "id");
  const TestHttpClient::Headers admin{{"Authorization", "Bearer " + app_->admin_token()}};
  const std::string path = "/v1/profiles/" + id + "/unmerge";
  const std::string body = R"({"merged":")" + loser + R"("})";

  auto reader = client_->post(path, body, {{"Authorization", "Bearer read-secret"}});
  EXPECT_EQ(reader->result(), http::status::unauthorized) << "a read token cannot unmerge";
  auto bad = client_->post(path, R"({"merged":"p_1","identifier":"email:a@x.org"})", admin);
  EXPECT_EQ(bad->result(), http::status::bad_request);
  EXPECT_THAT(bad->body(), HasSubstr("exactly one"));

  auto split = client_->post(path, body, admin);
  ASSERT_EQ(split->result(), http::status::ok) << split->body();
  EXPECT_EQ(field(*split, "status"), "active");
  EXPECT_EQ(field(*split, "profiles"), R"([")" + id + R"(",")" + loser + R"("])");
  EXPECT_EQ(field(*split, "sides"),
            R"([["anonymous_id:browser-1"],["user_id:u1","email:a@x.org"]])");
  EXPECT_EQ(field(read("/v1/profiles/anonymous_id:browser-1"), "id"), loser)
      << "the answer comes once the split is visible";
  EXPECT_THAT(read("/v1/profiles/" + id + "/merges").body(), HasSubstr(R"("kind":"unmerge")"));
  auto again = client_->post(path, body, admin);
  EXPECT_EQ(again->result(), http::status::conflict);
  EXPECT_THAT(again->body(), HasSubstr("was not merged into"));

  const auto unmerge = field(*split, "id");
  auto listed = client_->get("/v1/identity/unmerges", admin);
  EXPECT_THAT(listed->body(), HasSubstr(R"({"unmerges":[{"id":)" + unmerge));
  auto lifted =
      client_->request(http::verb::delete_, "/v1/identity/unmerges/" + unmerge, {}, admin);
  ASSERT_EQ(lifted->result(), http::status::ok) << lifted->body();
  EXPECT_EQ(field(*lifted, "status"), "reallowed");
  auto twice = client_->request(http::verb::delete_, "/v1/identity/unmerges/" + unmerge, {}, admin);
  EXPECT_EQ(twice->result(), http::status::conflict);
  EXPECT_EQ(client_->get("/v1/identity/unmerges/999", admin)->result(), http::status::not_found);
}

TEST_F(ProfileApiTest, EventsComeNewestFirstInPages) {
  for (int i = 0; i < 5; ++i) {
    send("/v1/track", R"({"userId":"pager","event":"E)" + std::to_string(i) +
                          R"(","timestamp":"2024-01-01T00:00:0)" + std::to_string(i) + R"(Z"})");
  }
  read_when("/v1/profiles/user_id:pager",
            [&](const auto& r) { return field(r, "event_count") == "5"; });
  auto page = read("/v1/profiles/user_id:pager/events?limit=2");
  EXPECT_THAT(page.body(), HasSubstr(R"("event":"E4")"));
  EXPECT_THAT(page.body(), HasSubstr(R"("event":"E3")"));
  EXPECT_THAT(page.body(), HasSubstr(R"("data":{)")) << "the stored event itself";
  const auto cursor = field(page, "next_cursor");
  ASSERT_NE(cursor, "null");
  auto next = read("/v1/profiles/user_id:pager/events?limit=2&cursor=" + cursor);
  EXPECT_THAT(next.body(), HasSubstr(R"("event":"E2")"));
  auto filtered = read("/v1/profiles/user_id:pager/events?event=E1");
  EXPECT_THAT(filtered.body(), HasSubstr(R"("event":"E1")"));
  EXPECT_THAT(filtered.body(), ::testing::Not(HasSubstr(R"("event":"E2")")));
  EXPECT_EQ(field(filtered, "next_cursor"), "null");
  auto windowed = read("/v1/profiles/user_id:pager/events?from=2024-01-01T00:00:03Z");
  EXPECT_THAT(windowed.body(), HasSubstr("E3"));
  EXPECT_THAT(windowed.body(), ::testing::Not(HasSubstr("E2")));
  EXPECT_EQ(read("/v1/profiles/user_id:pager/events?cursor=junk").result(),
            http::status::bad_request);
}

TEST_F(ProfileApiTest, AccountsAndMetrics) {
  send("/v1/group", R"({"userId":"u7","groupId":"acme","traits":{"plan":"enterprise"}})");
  auto account =
      read_when("/v1/accounts/acme", [](const auto& r) { return r.result() == http::status::ok; });
  EXPECT_THAT(account.body(), HasSubstr(R"("plan":"enterprise")"));
  EXPECT_THAT(read("/v1/profiles/user_id:u7").body(), HasSubstr(R"("groups":["acme"])"));
  auto metrics = client_->get("/metrics");
  EXPECT_THAT(metrics->body(), HasSubstr("cdp_processor_lag_events 0"));
  EXPECT_THAT(metrics->body(), HasSubstr("cdp_profiles_created_total 1"));
  EXPECT_THAT(metrics->body(), HasSubstr("cdp_http_request_seconds_count{route=\"profiles\"}"));
}

TEST(PercentDecodeTest, DecodesEscapesAndRefusesBrokenOnes) {
  EXPECT_EQ(percent_decode("jane%40x.org"), "jane@x.org");
  EXPECT_EQ(percent_decode("a+b"), "a+b");
  EXPECT_EQ(percent_decode("%"), std::nullopt);
  EXPECT_EQ(percent_decode("%4"), std::nullopt);
  EXPECT_EQ(percent_decode("%zz"), std::nullopt);
}

}  // namespace
}  // namespace cdp::server
