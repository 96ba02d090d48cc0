#include "server/tracking_handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "common/base64.h"
#include "ingest/gzip.h"
#include "ingest/json_tree.h"
#include "server/app.h"
#include "server/internal/recording_stream.h"
#include "server/internal/test_http_client.h"

namespace cdp::server {
namespace {

using internal::TestHttpClient;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kTrackExample =
    R"({"userId":"019mr8mf4r","event":"Item Purchased",)"
    R"("properties":{"name":"Leap to Conclusions Mat","revenue":14.99},)"
    R"("context":{"ip":"24.5.68.47"},"timestamp":"2012-12-02T00:30:12.984Z"})";

// The Segment track example with a write key in the body.
std::string track_body(std::string_view write_key = "web-key", std::string_view message_id = "") {
  std::string body(kTrackExample);
  body.pop_back();
  body += R"(,"writeKey":")" + std::string(write_key) + "\"";
  if (!message_id.empty()) body += R"(,"messageId":")" + std::string(message_id) + "\"";
  body += "}";
  return body;
}

// Starts the whole server (App) in a temporary data directory on a free port and talks to it over
// HTTP, as SDKs do.
class TrackingApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    data_dir_ = std::filesystem::temp_directory_path() /
                ("cdp-tracking-test-" + std::to_string(random()) + "-" + std::to_string(random()));
    config_.listen = "127.0.0.1:0";
    config_.data_dir = data_dir_.string();
    config_.sync = false;
    config_.log_level = "error";
    config_.sources = {{"web", "web-key", true, false}, {"paused", "paused-key", false, false}};
    start();
  }

  void TearDown() override {
    client_.reset();
    app_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(data_dir_, ignored);
  }

  void start() {
    auto app = App::start(config_);
    ASSERT_TRUE(app.has_value()) << app.status().to_string();
    app_ = std::move(*app);
    client_ = std::make_unique<TestHttpClient>(app_->port());
  }

  // Restarts the server on the same data directory with the current config_.
  void restart() {
    client_.reset();
    app_.reset();
    start();
  }

  static TestHttpClient::Response must(Result<TestHttpClient::Response> response) {
    if (!response) {
      ADD_FAILURE() << response.status().to_string();
      return TestHttpClient::Response{http::status::network_connect_timeout_error, 11};
    }
    return std::move(*response);
  }

  TestHttpClient::Response post(std::string_view target, std::string body,
                                TestHttpClient::Headers headers = {}) {
    headers.emplace_back("Content-Type", "application/json");
    return must(client_->post(target, std::move(body), headers));
  }

  TestHttpClient::Response get(std::string_view target,
                               const TestHttpClient::Headers& headers = {}) {
    return must(client_->get(target, headers));
  }

  // Parses a JSON response body; fails the test when it is not JSON.
  const ingest::JsonValue& json(const TestHttpClient::Response& response) {
    auto root = parser_.parse(response.body());
    if (!root) {
      ADD_FAILURE() << "not JSON: " << response.body() << ": " << root.status().to_string();
      return **parser_.parse("{}");
    }
    return **root;
  }

  static std::string text(const ingest::JsonValue& root, std::string_view path) {
    const ingest::JsonValue* value = &root;
    while (!path.empty()) {
      const auto dot = path.find('.');
      if (!value->is_object()) return "<absent>";
      value = value->find(path.substr(0, dot));
      if (value == nullptr) return "<absent>";
      path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    }
    if (value->kind == ingest::JsonKind::kString || value->kind == ingest::JsonKind::kNumber) {
      return std::string(value->text);
    }
    std::string out;
    ingest::write_json(out, *value);
    return out;
  }

  // The error code of a JSON error response.
  std::string error_code(const TestHttpClient::Response& response) {
    EXPECT_EQ(response[http::field::content_type], "application/json");
    const std::string code = text(json(response), "error.code");
    EXPECT_NE(text(json(response), "error.message"), "<absent>") << response.body();
    return code;
  }

  // Every event in the raw log, as the admin API returns them (one JSON line each).
  std::vector<std::string> stored_events() {
    TestHttpClient admin(app_->port());
    auto response = must(admin.get("/admin/v1/events?from=1&limit=1000",
                                   {{"Authorization", "Bearer " + app_->admin_token()}}));
    EXPECT_EQ(response.result(), http::status::ok) << response.body();
    std::vector<std::string> lines;
    std::string_view body = response.body();
    while (!body.empty()) {
      const auto newline = body.find('\n');
      lines.emplace_back(body.substr(0, newline));
      if (newline == std::string_view::npos) break;
      body.remove_prefix(newline + 1);
    }
    return lines;
  }

  std::filesystem::path data_dir_;
  Config config_;
  std::unique_ptr<App> app_;
  std::unique_ptr<TestHttpClient> client_;
  ingest::JsonParser parser_;
};

TEST_F(TrackingApiTest, TrackIsAcceptedWith200AndStored) {
  auto response = post("/v1/track", track_body());
  ASSERT_EQ(response.result(), http::status::ok) << response.body();
  EXPECT_EQ(response[http::field::content_type], "application/json");
  EXPECT_EQ(response.body(), R"({"success":true,"accepted":1,"duplicates":0,"rejected":[]})");

  auto events = stored_events();
  ASSERT_EQ(events.size(), 1u);
  const auto& line = json(TestHttpClient::Response{http::status::ok, 11, events[0]});
  EXPECT_EQ(text(line, "source"), "web");
  EXPECT_EQ(text(line, "event.type"), "track");
  EXPECT_EQ(text(line, "event.event"), "Item Purchased");
  EXPECT_EQ(text(line, "event.userId"), "019mr8mf4r");
  EXPECT_EQ(text(line, "event.properties.revenue"), "14.99");
  EXPECT_EQ(text(line, "event.context.ip"), "24.5.68.47");
  EXPECT_EQ(text(line, "event.timestamp"), "2012-12-02T00:30:12.984Z");
  EXPECT_EQ(text(line, "event.writeKey"), "<absent>");
  EXPECT_NE(text(line, "event.messageId"), "<absent>");
  EXPECT_NE(text(line, "event.receivedAt"), "<absent>");
}

TEST_F(TrackingApiTest, EveryTrackingPathAcceptsItsEvent) {
  const std::pair<const char*, const char*> requests[] = {
      {"/v1/identify", R"({"userId":"u1","traits":{"plan":"pro"},"writeKey":"web-key"})"},
      {"/v1/i", R"({"userId":"u1","writeKey":"web-key"})"},
      {"/v1/track", R"({"userId":"u1","event":"E","writeKey":"web-key"})"},
      {"/v1/t", R"({"userId":"u1","event":"E","writeKey":"web-key"})"},
      {"/v1/page", R"({"anonymousId":"a1","name":"Home","writeKey":"web-key"})"},
      {"/v1/p", R"({"anonymousId":"a1","writeKey":"web-key"})"},
      {"/v1/screen", R"({"anonymousId":"a1","name":"Home","writeKey":"web-key"})"},
      {"/v1/s", R"({"anonymousId":"a1","writeKey":"web-key"})"},
      {"/v1/group", R"({"userId":"u1","groupId":"g1","writeKey":"web-key"})"},
      {"/v1/g", R"({"userId":"u1","groupId":"g1","writeKey":"web-key"})"},
      {"/v1/alias", R"({"userId":"u1","previousId":"a1","writeKey":"web-key"})"},
      {"/v1/a", R"({"userId":"u1","previousId":"a1","writeKey":"web-key"})"},
      {"/v1/batch",
       R"({"batch":[{"type":"track","userId":"u1","event":"E"}],"writeKey":"web-key"})"},
      {"/v1/b", R"({"batch":[{"type":"page","userId":"u1"}],"writeKey":"web-key"})"},
      {"/v1/import", R"({"batch":[{"type":"identify","userId":"u1"}],"writeKey":"web-key"})"},
      {"/v1/track/", R"({"userId":"u1","event":"E","writeKey":"web-key"})"},
      {"/v1/batch?source=sdk",
       R"({"batch":[{"type":"track","userId":"u1","event":"E"}],"writeKey":"web-key"})"},
  };
  for (const auto& [path, body] : requests) {
    auto response = post(path, body);
    EXPECT_EQ(response.result(), http::status::ok) << path << ": " << response.body();
    EXPECT_EQ(text(json(response), "accepted"), "1") << path;
  }
  EXPECT_EQ(stored_events().size(), std::size(requests));
  EXPECT_EQ(client_->connections(), 1) << "all on one keep-alive connection";
}

TEST_F(TrackingApiTest, BatchReportsRejectedItemsAndStoresTheRest) {
  auto response = post("/v1/batch", R"({"writeKey":"web-key","batch":[
    {"type":"track","userId":"u1","event":"First"},
    {"type":"track","userId":"u1","messageId":"m-bad"},
    {"type":"bogus","userId":"u1"},
    {"type":"identify","userId":"u1"}
  ]})");
  ASSERT_EQ(response.result(), http::status::ok) << response.body();
  const auto& body = json(response);
  EXPECT_EQ(text(body, "success"), "true");
  EXPECT_EQ(text(body, "accepted"), "2");
  EXPECT_EQ(text(body, "duplicates"), "0");
  const ingest::JsonValue* rejected = body.find("rejected");
  ASSERT_NE(rejected, nullptr);
  ASSERT_EQ(rejected->elements.size(), 2u);
  EXPECT_EQ(text(*rejected->elements[0], "index"), "1");
  EXPECT_EQ(text(*rejected->elements[0], "messageId"), "m-bad");
  EXPECT_EQ(text(*rejected->elements[0], "code"), "missing_event");
  EXPECT_NE(text(*rejected->elements[0], "reason"), "<absent>");
  EXPECT_EQ(text(*rejected->elements[1], "index"), "2");
  EXPECT_EQ(text(*rejected->elements[1], "messageId"), "<absent>");
  EXPECT_EQ(text(*rejected->elements[1], "code"), "invalid_type");
  EXPECT_EQ(stored_events().size(), 2u);
}

TEST_F(TrackingApiTest, BatchWithOnlyRejectedItemsIsStill200) {
  auto response =
      post("/v1/batch", R"({"writeKey":"web-key","batch":[{"type":"track","userId":"u1"}]})");
  ASSERT_EQ(response.result(), http::status::ok) << response.body();
  EXPECT_EQ(text(json(response), "accepted"), "0");
  EXPECT_EQ(json(response).find("rejected")->elements.size(), 1u);
  EXPECT_TRUE(stored_events().empty());
}

TEST_F(TrackingApiTest, InvalidSingleEventIs400WithItsCode) {
  auto response = post("/v1/track", R"({"userId":"u1","writeKey":"web-key"})");
  EXPECT_EQ(response.result(), http::status::bad_request);
  EXPECT_EQ(error_code(response), "missing_event");
  EXPECT_TRUE(stored_events().empty());
}

TEST_F(TrackingApiTest, RepeatedMessageIdIsAcknowledgedAsADuplicate) {
  auto first = post("/v1/track", track_body("web-key", "msg-1"));
  ASSERT_EQ(first.result(), http::status::ok);
  EXPECT_EQ(first.body(), R"({"success":true,"accepted":1,"duplicates":0,"rejected":[]})");
  auto second = post("/v1/track", track_body("web-key", "msg-1"));
  ASSERT_EQ(second.result(), http::status::ok);
  EXPECT_EQ(second.body(), R"({"success":true,"accepted":1,"duplicates":1,"rejected":[]})");
  EXPECT_EQ(stored_events().size(), 1u);
}

TEST_F(TrackingApiTest, UnknownWriteKeyIs401) {
  auto response = post("/v1/track", track_body("not-a-key"));
  EXPECT_EQ(response.result(), http::status::unauthorized);
  EXPECT_EQ(error_code(response), "invalid_write_key");
  EXPECT_TRUE(stored_events().empty());
}

TEST_F(TrackingApiTest, MissingWriteKeyIs401) {
  auto response = post("/v1/track", std::string(kTrackExample));
  EXPECT_EQ(response.result(), http::status::unauthorized);
  EXPECT_EQ(error_code(response), "invalid_write_key");
  EXPECT_THAT(text(json(response), "error.message"), HasSubstr("writeKey"));
}

TEST_F(TrackingApiTest, DisabledSourceIs401) {
  auto response = post("/v1/track", track_body("paused-key"));
  EXPECT_EQ(response.result(), http::status::unauthorized);
  EXPECT_THAT(text(json(response), "error.message"), HasSubstr("disabled"));
}

TEST_F(TrackingApiTest, BasicAuthCarriesTheWriteKey) {
  // analytics.js and the server SDKs send base64("<writeKey>:").
  auto response = post("/v1/track", std::string(kTrackExample),
                       {{"Authorization", "Basic " + base64_encode("web-key:")}});
  EXPECT_EQ(response.result(), http::status::ok) << response.body();
  auto without_colon = post("/v1/track", std::string(kTrackExample),
                            {{"Authorization", "basic " + base64_encode("web-key")}});
  EXPECT_EQ(without_colon.result(), http::status::ok) << without_colon.body();
  auto wrong = post("/v1/track", std::string(kTrackExample),
                    {{"Authorization", "Basic " + base64_encode("other-key:")}});
  EXPECT_EQ(wrong.result(), http::status::unauthorized);
  EXPECT_EQ(stored_events().size(), 2u);
}

TEST_F(TrackingApiTest, BearerTokenWithTheKeyInTheBodyIsAccepted) {
  // RudderStack-style clients may send a token that is not the write key; the body's key counts.
  auto response = post(
      "/v1/batch", R"({"writeKey":"web-key","batch":[{"type":"track","userId":"u1","event":"E"}]})",
      {{"Authorization", "Bearer some-other-token"}});
  EXPECT_EQ(response.result(), http::status::ok) << response.body();
}

TEST_F(TrackingApiTest, GzipBodyIsInflated) {
  auto response = post(
      "/v1/batch",
      ingest::gzip_compress(
          R"({"writeKey":"web-key","batch":[{"type":"track","userId":"u1","event":"Zipped"}]})"),
      {{"Content-Encoding", "gzip"}});
  ASSERT_EQ(response.result(), http::status::ok) << response.body();
  EXPECT_EQ(text(json(response), "accepted"), "1");
  auto events = stored_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_THAT(events[0], HasSubstr(R"("event":"Zipped")"));
}

TEST_F(TrackingApiTest, CorruptGzipIs400) {
  std::string compressed = ingest::gzip_compress(track_body());
  compressed.resize(compressed.size() / 2);
  auto response = post("/v1/track", compressed, {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(response.result(), http::status::bad_request);
  EXPECT_EQ(error_code(response), "bad_gzip");
}

TEST_F(TrackingApiTest, GzipBodyInflatingPastTheLimitIs413) {
  const std::string padding(config_.limits.max_body_bytes + 1024, ' ');
  const std::string compressed = ingest::gzip_compress(track_body() + padding);
  ASSERT_LT(compressed.size(), config_.limits.max_body_bytes);
  auto response = post("/v1/track", compressed, {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(response.result(), http::status::payload_too_large);
  EXPECT_EQ(error_code(response), "body_too_large");
}

TEST_F(TrackingApiTest, UnsupportedContentEncodingIs415) {
  auto response = post("/v1/track", track_body(), {{"Content-Encoding", "br"}});
  EXPECT_EQ(response.result(), http::status::unsupported_media_type);
  EXPECT_EQ(error_code(response), "unsupported_encoding");
}

TEST_F(TrackingApiTest, OversizeBodyIs413) {
  // The header alone says the body is too big; the server answers without waiting for it.
  ASSERT_TRUE(
      client_
          ->send_raw("POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Content-Length: " +
                     std::to_string(config_.limits.max_body_bytes + 1) + "\r\n\r\n")
          .is_ok());
  auto response = must(client_->read_response());
  EXPECT_EQ(response.result(), http::status::payload_too_large);
  EXPECT_EQ(error_code(response), "body_too_large");
}

TEST_F(TrackingApiTest, OversizeBodySentInFullIs413) {
  std::string body = R"({"writeKey":"web-key","batch":[)";
  const std::string item = R"({"type":"track","userId":"u1","event":"E","properties":{"p":")" +
                           std::string(1000, 'p') + R"("}})";
  while (body.size() <= config_.limits.max_body_bytes) body += item + ",";
  body += item + "]}";
  auto response = post("/v1/batch", body);
  EXPECT_EQ(response.result(), http::status::payload_too_large);
  EXPECT_EQ(error_code(response), "body_too_large");
  EXPECT_TRUE(stored_events().empty());
}

TEST_F(TrackingApiTest, InvalidJsonIs400WithAJsonError) {
  for (const char* body :
       {R"({"userId":"u1",})", "not json at all", R"({"batch":[]})", R"([1,2,3])", ""}) {
    auto response = post("/v1/batch", body);
    EXPECT_EQ(response.result(), http::status::bad_request) << body;
    EXPECT_EQ(error_code(response), "invalid_json") << body;
  }
}

// The console's debugger shows refusals of requests with a valid write key, with their body;
// the rest anyone could send, so they are only counted.
TEST_F(TrackingApiTest, RefusalsOfKnownSourcesReachTheLiveDebugger) {
  auto stream = std::make_shared<internal::RecordingStream>();
  ASSERT_TRUE(app_->live().subscribe(stream, {}, 0).is_ok());
  const TestHttpClient::Headers web = {{"Authorization", "Basic " + base64_encode("web-key:")}};
  const TestHttpClient::Headers stranger = {
      {"Authorization", "Basic " + base64_encode("other-key:")}};
  EXPECT_EQ(post("/v1/batch", R"({"batch":[{"type":"track"},)", web).result(),
            http::status::bad_request);
  EXPECT_EQ(post("/v1/batch", R"({"stranger":)", stranger).result(), http::status::bad_request);
  EXPECT_EQ(post("/v1/track", R"({"userId":"u1"})", web).result(), http::status::bad_request);
  EXPECT_EQ(post("/v1/batch",
                 R"({"batch":[{"type":"track","event":"E","userId":"u"},{"type":"track",)"
                 R"("userId":"u","messageId":"m-bad"}]})",
                 web)
                .result(),
            http::status::ok);
  const auto text = stream->wait_for("event: rejected", 3);
  EXPECT_THAT(text, HasSubstr(R"("source":"web")"));
  EXPECT_THAT(text, HasSubstr(R"("code":"invalid_json")"));
  EXPECT_THAT(text, HasSubstr(R"("item":"{\"batch\":[{\"type\":\"track\"},")"));
  EXPECT_THAT(text, HasSubstr(R"("code":"missing_event")"));
  EXPECT_THAT(text, HasSubstr(R"("messageId":"m-bad","index":1)"));
  EXPECT_THAT(text, Not(HasSubstr("stranger"))) << "no valid key, not shown";
  EXPECT_EQ(stream->count("event: rejected"), 3U);
}

TEST_F(TrackingApiTest, CorsPreflightIsAnswered) {
  auto response =
      must(client_->request(http::verb::options, "/v1/batch", {},
                            {{"Origin", "https://shop.example.com"},
                             {"Access-Control-Request-Method", "POST"},
                             {"Access-Control-Request-Headers", "content-type,authorization"}}));
  EXPECT_EQ(response.result(), http::status::no_content);
  EXPECT_EQ(response[http::field::access_control_allow_origin], "https://shop.example.com");
  EXPECT_EQ(response[http::field::access_control_allow_credentials], "true");
  EXPECT_THAT(std::string(response[http::field::access_control_allow_methods]), HasSubstr("POST"));
  const std::string allowed_headers(response[http::field::access_control_allow_headers]);
  EXPECT_THAT(allowed_headers, HasSubstr("Content-Type"));
  EXPECT_THAT(allowed_headers, HasSubstr("Authorization"));
  EXPECT_THAT(allowed_headers, HasSubstr("Content-Encoding"));
  EXPECT_FALSE(response[http::field::access_control_max_age].empty());
}

TEST_F(TrackingApiTest, CorsHeadersComeWithAnswersAndErrors) {
  auto accepted = post("/v1/track", track_body(), {{"Origin", "https://shop.example.com"}});
  EXPECT_EQ(accepted.result(), http::status::ok);
  EXPECT_EQ(accepted[http::field::access_control_allow_origin], "https://shop.example.com");
  auto refused = post("/v1/track", track_body("bad-key"), {{"Origin", "https://shop.example.com"}});
  EXPECT_EQ(refused.result(), http::status::unauthorized);
  EXPECT_EQ(refused[http::field::access_control_allow_origin], "https://shop.example.com");
  auto no_origin = post("/v1/track", track_body());
  EXPECT_TRUE(no_origin[http::field::access_control_allow_origin].empty());
}

TEST_F(TrackingApiTest, CorsIsLimitedToConfiguredOrigins) {
  config_.cors_origins = {"https://allowed.example.com"};
  restart();
  auto allowed = must(client_->request(http::verb::options, "/v1/track", {},
                                       {{"Origin", "https://allowed.example.com"}}));
  EXPECT_EQ(allowed[http::field::access_control_allow_origin], "https://allowed.example.com");
  auto other = must(
      client_->request(http::verb::options, "/v1/track", {}, {{"Origin", "https://evil.example"}}));
  EXPECT_TRUE(other[http::field::access_control_allow_origin].empty());
}

TEST_F(TrackingApiTest, SettingsDocumentPointsAnalyticsJsBackAtThisServer) {
  auto response = get("/v1/projects/web-key/settings", {{"Host", "cdp.example.com:8443"}});
  ASSERT_EQ(response.result(), http::status::ok) << response.body();
  const auto& settings = json(response);
  const ingest::JsonValue* segment = settings.find("integrations")->find("Segment.io");
  ASSERT_NE(segment, nullptr) << response.body();
  EXPECT_EQ(text(*segment, "apiKey"), "web-key");
  EXPECT_EQ(text(*segment, "apiHost"), "cdp.example.com:8443/v1");
  EXPECT_EQ(text(*segment, "protocol"), "http");
  EXPECT_NE(text(settings, "plan"), "<absent>");
}

TEST_F(TrackingApiTest, SettingsDocumentUsesThePublicUrlWhenSet) {
  config_.public_url = "https://track.example.com/";
  restart();
  auto response = get("/v1/projects/web-key/settings", {{"Host", "internal:8080"}});
  ASSERT_EQ(response.result(), http::status::ok) << response.body();
  const ingest::JsonValue* segment = json(response).find("integrations")->find("Segment.io");
  ASSERT_NE(segment, nullptr);
  EXPECT_EQ(text(*segment, "apiHost"), "track.example.com/v1");
  EXPECT_EQ(text(*segment, "protocol"), "https");
}

TEST_F(TrackingApiTest, SettingsForAnUnknownKeyIs404) {
  auto response = get("/v1/projects/nope/settings");
  EXPECT_EQ(response.result(), http::status::not_found);
  EXPECT_EQ(error_code(response), "invalid_write_key");
}

TEST_F(TrackingApiTest, WrongMethodsAre405) {
  EXPECT_EQ(get("/v1/track").result(), http::status::method_not_allowed);
  EXPECT_EQ(post("/v1/projects/web-key/settings", "{}").result(), http::status::method_not_allowed);
}

TEST_F(TrackingApiTest, HealthzReportsWritableStorage) {
  auto response = get("/healthz");
  ASSERT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(text(json(response), "status"), "ok");
  EXPECT_EQ(text(json(response), "storage"), "writable");
}

TEST_F(TrackingApiTest, MetricsCountAcceptedEvents) {
  ASSERT_EQ(post("/v1/batch",
                 R"({"writeKey":"web-key","batch":[{"type":"track","userId":"u1","event":"A"},)"
                 R"({"type":"track","userId":"u1","event":"B"},{"type":"track","userId":"u1"}]})")
                .result(),
            http::status::ok);
  ASSERT_EQ(post("/v1/track", track_body("bad-key")).result(), http::status::unauthorized);
  auto response = get("/metrics");
  ASSERT_EQ(response.result(), http::status::ok);
  EXPECT_THAT(std::string(response[http::field::content_type]), HasSubstr("text/plain"));
  EXPECT_THAT(response.body(), HasSubstr("# TYPE cdp_events_accepted_total counter"));
  EXPECT_THAT(response.body(), HasSubstr("cdp_events_accepted_total{source=\"web\"} 2\n"));
  EXPECT_THAT(response.body(),
              HasSubstr("cdp_events_rejected_total{reason=\"missing_event\"} 1\n"));
  EXPECT_THAT(response.body(),
              HasSubstr("cdp_requests_rejected_total{reason=\"invalid_write_key\"} 1\n"));
}

TEST_F(TrackingApiTest, UnknownPathIs404Json) {
  auto response = get("/v2/whatever");
  EXPECT_EQ(response.result(), http::status::not_found);
  EXPECT_EQ(error_code(response), "not_found");
  EXPECT_THAT(text(json(response), "error.message"), HasSubstr("/v2/whatever"));
  EXPECT_EQ(post("/v1/unknown", "{}").result(), http::status::not_found);
}

TEST_F(TrackingApiTest, KeepAliveServesMixedRequestsOnOneConnection) {
  EXPECT_EQ(post("/v1/track", track_body()).result(), http::status::ok);
  EXPECT_EQ(get("/healthz").result(), http::status::ok);
  EXPECT_EQ(post("/v1/track", track_body("bad-key")).result(), http::status::unauthorized);
  EXPECT_EQ(post("/v1/batch", "{").result(), http::status::bad_request);
  EXPECT_EQ(get("/nowhere").result(), http::status::not_found);
  EXPECT_EQ(post("/v1/track", track_body()).result(), http::status::ok);
  EXPECT_EQ(client_->connections(), 1);
  EXPECT_EQ(stored_events().size(), 2u);
}

TEST_F(TrackingApiTest, ConnectionAddressFillsContextIp) {
  ASSERT_EQ(post("/v1/track", R"({"userId":"u1","event":"E","writeKey":"web-key"})",
                 {{"X-Forwarded-For", "192.0.2.55"}})
                .result(),
            http::status::ok);
  auto events = stored_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_THAT(events[0], HasSubstr(R"("ip":"127.0.0.1")"))
      << "X-Forwarded-For is not trusted by default";
}

TEST_F(TrackingApiTest, ForwardedForIsUsedWhenTrusted) {
  config_.trust_forwarded_for = true;
  restart();
  ASSERT_EQ(post("/v1/track", R"({"userId":"u1","event":"E","writeKey":"web-key"})",
                 {{"X-Forwarded-For", " 192.0.2.55 , 10.0.0.1"}})
                .result(),
            http::status::ok);
  auto events = stored_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_THAT(events[0], HasSubstr(R"("ip":"192.0.2.55")"));
  EXPECT_THAT(events[0], Not(HasSubstr("127.0.0.1")));
}

TEST_F(TrackingApiTest, AcceptedEventsSurviveARestart) {
  ASSERT_EQ(post("/v1/track", track_body("web-key", "persist-1")).result(), http::status::ok);
  restart();
  EXPECT_EQ(stored_events().size(), 1u);
  auto again = post("/v1/track", track_body("web-key", "persist-1"));
  EXPECT_EQ(text(json(again), "duplicates"), "1") << "dedup survives the restart";
}

TEST(WriteKeyFromAuthorizationTest, DecodesBasicAuth) {
  EXPECT_EQ(write_key_from_authorization("Basic " + base64_encode("key123:")), "key123");
  EXPECT_EQ(write_key_from_authorization("Basic " + base64_encode("key123")), "key123");
  EXPECT_EQ(write_key_from_authorization("BASIC " + base64_encode("key123:ignored")), "key123");
  EXPECT_EQ(write_key_from_authorization("Bearer key123"), "");
  EXPECT_EQ(write_key_from_authorization("Basic !!!not-base64"), "");
  EXPECT_EQ(write_key_from_authorization(""), "");
}

TEST(TrackingHandlerPathsTest, HandlesTrackingAndSettingsPaths) {
  EXPECT_TRUE(TrackingHandler::handles("/v1/track"));
  EXPECT_TRUE(TrackingHandler::handles("/v1/b?x=1"));
  EXPECT_TRUE(TrackingHandler::handles("/v1/projects/key/settings"));
  EXPECT_FALSE(TrackingHandler::handles("/v1/projects/key"));
  EXPECT_FALSE(TrackingHandler::handles("/healthz"));
  EXPECT_FALSE(TrackingHandler::handles("/admin/v1/sources"));
}

}  // namespace
}  // namespace cdp::server
