#include "ingest/tracking_request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/time_format.h"

namespace cdp::ingest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::string_view kReceivedAt = "2024-03-10T12:00:00.000Z";
constexpr std::string_view kClientIp = "198.51.100.23";

TEST(EndpointForPathTest, MapsEveryTrackingPath) {
  const std::pair<const char*, Endpoint> paths[] = {
      {"/v1/identify", Endpoint::kIdentify}, {"/v1/i", Endpoint::kIdentify},
      {"/v1/track", Endpoint::kTrack},       {"/v1/t", Endpoint::kTrack},
      {"/v1/page", Endpoint::kPage},         {"/v1/p", Endpoint::kPage},
      {"/v1/screen", Endpoint::kScreen},     {"/v1/s", Endpoint::kScreen},
      {"/v1/group", Endpoint::kGroup},       {"/v1/g", Endpoint::kGroup},
      {"/v1/alias", Endpoint::kAlias},       {"/v1/a", Endpoint::kAlias},
      {"/v1/batch", Endpoint::kBatch},       {"/v1/b", Endpoint::kBatch},
      {"/v1/import", Endpoint::kBatch},
  };
  for (const auto& [path, endpoint] : paths) {
    auto found = endpoint_for_path(path);
    ASSERT_TRUE(found.has_value()) << path;
    EXPECT_EQ(*found, endpoint) << path;
    auto with_slash = endpoint_for_path(std::string(path) + "/");
    ASSERT_TRUE(with_slash.has_value()) << path << "/";
    EXPECT_EQ(*with_slash, endpoint) << path << "/";
  }
}

TEST(EndpointForPathTest, UnknownPathsAreNotEndpoints) {
  for (const char* path :
       {"", "/", "/v1", "/v1/", "/v1/tracks", "/v1/x", "/v2/track", "/track", "/V1/TRACK",
        "/v1/track/extra", "v1/track", "/v1/projects/key/settings", "/v1/track?x=1"}) {
    EXPECT_FALSE(endpoint_for_path(path).has_value()) << path;
  }
}

class TrackingRequestTest : public ::testing::Test {
 protected:
  Result<ParsedRequest> parse(std::string_view body, Endpoint endpoint = Endpoint::kBatch) {
    return parser_.parse(body, RequestContext{endpoint, kClientIp, *parse_iso8601_ms(kReceivedAt)});
  }

  // Parses the stored form of `event`, checking the fields every stored event carries.
  const JsonValue& stored(const storage::AppendEvent& event) {
    auto root = output_.parse(event.json);
    CDP_CHECK(root.has_value());
    const JsonValue& value = **root;
    for (std::string_view key : {"type", "messageId", "receivedAt", "timestamp"}) {
      const JsonValue* field = value.find(key);
      EXPECT_TRUE(field != nullptr && field->is_string()) << key << " in " << event.json;
    }
    if (const JsonValue* message_id = value.find("messageId")) {
      EXPECT_EQ(message_id->text, event.message_id);
    }
    EXPECT_EQ(value.find("writeKey"), nullptr) << event.json;
    return value;
  }

  static std::string text(const JsonValue& object, std::string_view key) {
    const JsonValue* value = object.find(key);
    if (value == nullptr) return "<absent>";
    if (value->kind == JsonKind::kString || value->kind == JsonKind::kNumber)
      return std::string(value->text);
    std::string out;
    write_json(out, *value);
    return out;
  }

  TrackingLimits limits_;
  TrackingRequestParser parser_{limits_};
  JsonParser output_;
};

TEST_F(TrackingRequestTest, SingleTrackRequestFromTheSegmentDocs) {
  auto request = parse(
      R"({"userId":"019mr8mf4r","event":"Item Purchased",)"
      R"("properties":{"name":"Leap to Conclusions Mat","revenue":14.99},)"
      R"("context":{"ip":"24.5.68.47"},"timestamp":"2012-12-02T00:30:12.984Z","writeKey":"wk-123"})",
      Endpoint::kTrack);
  ASSERT_TRUE(request.has_value()) << request.status().to_string();
  EXPECT_EQ(request->item_count, 1u);
  EXPECT_EQ(request->body_write_key, "wk-123");
  ASSERT_EQ(request->events.size(), 1u);
  EXPECT_TRUE(request->rejections.empty());
  EXPECT_THAT(request->event_indexes, ElementsAre(0u));
  const JsonValue& event = stored(request->events[0]);
  EXPECT_EQ(text(event, "type"), "track");
  EXPECT_EQ(text(event, "event"), "Item Purchased");
  EXPECT_EQ(text(event, "properties"), R"({"name":"Leap to Conclusions Mat","revenue":14.99})");
  EXPECT_EQ(text(event, "timestamp"), "2012-12-02T00:30:12.984Z");
  EXPECT_EQ(text(event, "receivedAt"), kReceivedAt);
  EXPECT_EQ(text(*event.find("context"), "ip"), "24.5.68.47");
  EXPECT_EQ(request->events[0].json.find("wk-123"), std::string::npos)
      << "the write key is not stored";
}

TEST_F(TrackingRequestTest, EachSingleEventEndpointImpliesItsType) {
  const std::pair<Endpoint, const char*> cases[] = {
      {Endpoint::kIdentify, R"({"userId":"u1","traits":{"email":"a@example.com"}})"},
      {Endpoint::kTrack, R"({"userId":"u1","event":"Signed Up"})"},
      {Endpoint::kPage, R"({"anonymousId":"a1","name":"Home"})"},
      {Endpoint::kScreen, R"({"anonymousId":"a1","name":"Settings"})"},
      {Endpoint::kGroup, R"({"userId":"u1","groupId":"g1"})"},
      {Endpoint::kAlias, R"({"userId":"u1","previousId":"a1"})"},
  };
  const char* types[] = {"identify", "track", "page", "screen", "group", "alias"};
  for (size_t i = 0; i < std::size(cases); ++i) {
    auto request = parse(cases[i].second, cases[i].first);
    ASSERT_TRUE(request.has_value()) << request.status().to_string();
    ASSERT_EQ(request->events.size(), 1u) << cases[i].second;
    EXPECT_EQ(text(stored(request->events[0]), "type"), types[i]);
  }
}

TEST_F(TrackingRequestTest, InvalidSingleEventIsARejectionNotAnError) {
  auto request = parse(R"({"userId":"u1","messageId":"m-7"})", Endpoint::kTrack);
  ASSERT_TRUE(request.has_value()) << request.status().to_string();
  EXPECT_TRUE(request->events.empty());
  ASSERT_EQ(request->rejections.size(), 1u);
  EXPECT_EQ(request->rejections[0].index, 0u);
  EXPECT_EQ(request->rejections[0].code, "missing_event");
  EXPECT_EQ(request->rejections[0].message_id, "m-7");
}

TEST_F(TrackingRequestTest, SegmentBatchExampleMergesTheEnvelopeContext) {
  auto request = parse(R"({
    "batch": [
      {"type": "identify", "userId": "019mr8mf4r",
       "traits": {"email": "jake@yahoo.com", "name": "Jake Peterson", "age": 26},
       "timestamp": "2012-12-02T00:30:12.984Z"},
      {"type": "track", "userId": "019mr8mf4r", "event": "Song Played",
       "properties": {"name": "Fallin for You", "artist": "Dierks Bentley"},
       "timestamp": "2012-12-02T00:30:12.984Z"},
      {"type": "track", "userId": "971mj8mk7p", "event": "Song Played",
       "properties": {"name": "Get Right", "artist": "Jennifer Lopez"},
       "timestamp": "2012-12-02T00:30:12.984Z",
       "context": {"device": {"type": "tablet"}}}
    ],
    "context": {"device": {"type": "phone", "name": "Apple iPhone 6"}},
    "writeKey": "batch-key"
  })");
  ASSERT_TRUE(request.has_value()) << request.status().to_string();
  EXPECT_EQ(request->item_count, 3u);
  EXPECT_EQ(request->body_write_key, "batch-key");
  EXPECT_TRUE(request->rejections.empty());
  ASSERT_EQ(request->events.size(), 3u);
  EXPECT_THAT(request->event_indexes, ElementsAre(0u, 1u, 2u));

  const JsonValue& identify = stored(request->events[0]);
  EXPECT_EQ(text(identify, "type"), "identify");
  EXPECT_EQ(text(*identify.find("traits"), "age"), "26");
  EXPECT_EQ(text(*identify.find("context"), "device"),
            R"({"type":"phone","name":"Apple iPhone 6"})");
  EXPECT_EQ(text(*identify.find("context"), "ip"), kClientIp);

  const JsonValue& second = stored(request->events[1]);
  EXPECT_EQ(text(second, "event"), "Song Played");
  EXPECT_EQ(text(second, "timestamp"), "2012-12-02T00:30:12.984Z");

  const JsonValue& third = stored(request->events[2]);
  EXPECT_EQ(text(*third.find("context"), "device"), R"({"type":"tablet"})")
      << "the item's context wins";
  EXPECT_NE(request->events[0].message_id, request->events[1].message_id);
}

TEST_F(TrackingRequestTest, BatchIntegrationsAreMergedWithItemPrecedence) {
  auto request = parse(
      R"({"batch":[{"type":"track","userId":"u1","event":"E","integrations":{"Amplitude":false}},)"
      R"({"type":"track","userId":"u1","event":"E"}],"integrations":{"All":true,"Amplitude":true}})");
  ASSERT_TRUE(request.has_value()) << request.status().to_string();
  ASSERT_EQ(request->events.size(), 2u);
  EXPECT_EQ(text(stored(request->events[0]), "integrations"), R"({"Amplitude":false,"All":true})");
  EXPECT_EQ(text(stored(request->events[1]), "integrations"), R"({"All":true,"Amplitude":true})");
}

TEST_F(TrackingRequestTest, EnvelopeSentAtCorrectsEveryItemsClock) {
  // The device clock runs one hour fast.
  auto request = parse(
      R"({"sentAt":"2024-03-10T13:00:10.000Z","batch":[)"
      R"({"type":"track","userId":"u1","event":"A","originalTimestamp":"2024-03-10T13:00:00.000Z"},)"
      R"({"type":"track","userId":"u1","event":"B","originalTimestamp":"2024-03-10T13:00:09.000Z"},)"
      R"({"type":"track","userId":"u1","event":"C","originalTimestamp":"2024-03-10T13:00:00.000Z",)"
      R"("sentAt":"2024-03-10T13:00:01.000Z"}]})");
  ASSERT_TRUE(request.has_value()) << request.status().to_string();
  ASSERT_EQ(request->events.size(), 3u);
  EXPECT_EQ(text(stored(request->events[0]), "timestamp"), "2024-03-10T11:59:50.000Z");
  EXPECT_EQ(text(stored(request->events[1]), "timestamp"), "2024-03-10T11:59:59.000Z");
  EXPECT_EQ(text(stored(request->events[2]), "timestamp"), "2024-03-10T11:59:59.000Z")
      << "an item's own sentAt wins over the envelope's";
}

TEST_F(TrackingRequestTest, InvalidItemsAreRejectedOneByOneAndValidOnesKept) {
  auto request = parse(R"({"batch":[
    {"type":"track","userId":"u1","event":"Valid 0"},
    {"type":"track","event":"No user","messageId":"m-1"},
    {"type":"track","userId":"u1"},
    {"type":"identify","userId":"u1"},
    {"type":"alias","userId":"u1"},
    {"type":"group","userId":"u1"},
    {"userId":"u1","event":"No type"},
    {"type":"purchase","userId":"u1"},
    {"type":"track","userId":{"id":1},"event":"E"},
    {"type":"track","userId":"u1","event":"E","properties":[1]},
    {"type":"track","userId":"u1","event":"E","timestamp":"last tuesday"},
    "not an object",
    {"type":"page","anonymousId":"a1","name":"Valid 12"}
  ]})");
  ASSERT_TRUE(request.has_value()) << request.status().to_string();
  EXPECT_EQ(request->item_count, 13u);
  EXPECT_THAT(request->event_indexes, ElementsAre(0u, 3u, 12u));
  ASSERT_EQ(request->events.size(), 3u);
  EXPECT_EQ(text(stored(request->events[0]), "event"), "Valid 0");
  EXPECT_EQ(text(stored(request->events[1]), "type"), "identify");
  EXPECT_EQ(text(stored(request->events[2]), "name"), "Valid 12");

  std::vector<std::pair<size_t, std::string>> rejected;
  for (const auto& rejection : request->rejections) {
    rejected.emplace_back(rejection.index, rejection.code);
    EXPECT_FALSE(rejection.reason.empty());
  }
  EXPECT_THAT(rejected, ElementsAre(std::pair<size_t, std::string>{1, "missing_user_id"},
                                    std::pair<size_t, std::string>{2, "missing_event"},
                                    std::pair<size_t, std::string>{4, "missing_previous_id"},
                                    std::pair<size_t, std::string>{5, "missing_group_id"},
                                    std::pair<size_t, std::string>{6, "missing_type"},
                                    std::pair<size_t, std::string>{7, "invalid_type"},
                                    std::pair<size_t, std::string>{8, "invalid_field_type"},
                                    std::pair<size_t, std::string>{9, "invalid_field_type"},
                                    std::pair<size_t, std::string>{10, "invalid_timestamp"},
                                    std::pair<size_t, std::string>{11, "invalid_event"}));
  EXPECT_EQ(request->rejections[0].message_id, "m-1") << "a rejection names the messageId as sent";
  EXPECT_EQ(request->rejections[1].message_id, "") << "and none when none was sent";
}

TEST_F(TrackingRequestTest, OversizeItemIsRejectedWithoutAffectingItsNeighbours) {
  limits_.max_event_bytes = 2048;
  TrackingRequestParser parser(limits_);
  const std::string body =
      R"({"batch":[{"type":"track","userId":"u1","event":"Small"},)"
      R"({"type":"track","userId":"u1","event":"Big","messageId":"big-1","properties":{"x":")" +
      std::string(4096, 'x') + R"("}},{"type":"track","userId":"u1","event":"Small"}]})";
  auto request = parser.parse(body, RequestContext{Endpoint::kBatch, kClientIp, 0});
  ASSERT_TRUE(request.has_value()) << request.status().to_string();
  EXPECT_THAT(request->event_indexes, ElementsAre(0u, 2u));
  ASSERT_EQ(request->rejections.size(), 1u);
  EXPECT_EQ(request->rejections[0].index, 1u);
  EXPECT_EQ(request->rejections[0].code, "event_too_large");
  EXPECT_EQ(request->rejections[0].message_id, "big-1");
}

TEST_F(TrackingRequestTest, OverlongMessageIdIsRejected) {
  const std::string long_id(limits_.max_message_id_bytes + 1, 'm');
  auto request = parse(R"({"batch":[{"type":"track","userId":"u1","event":"E","messageId":")" +
                       long_id + R"("},{"type":"track","userId":"u1","event":"E"}]})");
  ASSERT_TRUE(request.has_value()) << request.status().to_string();
  EXPECT_THAT(request->event_indexes, ElementsAre(1u));
  ASSERT_EQ(request->rejections.size(), 1u);
  EXPECT_EQ(request->rejections[0].code, "invalid_message_id");
}

TEST_F(TrackingRequestTest, ItemsBeyondTheBatchLimitAreRejectedAsBatchTooLarge) {
  limits_.max_batch_events = 3;
  TrackingRequestParser parser(limits_);
  std::string body = R"({"batch":[)";
  for (int i = 0; i < 5; ++i) {
    if (i > 0) body += ",";
    body +=
        R"({"type":"track","userId":"u1","event":"E","messageId":"m)" + std::to_string(i) + R"("})";
  }
  body += "]}";
  auto request = parser.parse(body, RequestContext{Endpoint::kBatch, kClientIp, 0});
  ASSERT_TRUE(request.has_value()) << request.status().to_string();
  EXPECT_EQ(request->item_count, 5u);
  EXPECT_THAT(request->event_indexes, ElementsAre(0u, 1u, 2u));
  ASSERT_EQ(request->rejections.size(), 2u);
  EXPECT_EQ(request->rejections[0].index, 3u);
  EXPECT_EQ(request->rejections[0].code, "batch_too_large");
  EXPECT_EQ(request->rejections[0].message_id, "m3");
  EXPECT_THAT(request->rejections[0].reason, HasSubstr("3"));
  EXPECT_EQ(request->rejections[1].index, 4u);
  EXPECT_EQ(request->rejections[1].code, "batch_too_large");
}

TEST_F(TrackingRequestTest, MessageIdsAreKeptAssignedOrCoerced) {
  auto request = parse(
      R"({"batch":[{"type":"track","userId":"u1","event":"E","messageId":"kept-1"},)"
      R"({"type":"track","userId":"u1","event":"E"},)"
      R"({"type":"track","userId":"u1","event":"E","messageId":98765432109876543210987654321}]})");
  ASSERT_TRUE(request.has_value()) << request.status().to_string();
  ASSERT_EQ(request->events.size(), 3u);
  EXPECT_EQ(request->events[0].message_id, "kept-1");
  EXPECT_EQ(request->events[1].message_id.size(), 36u) << "a UUID is assigned";
  EXPECT_EQ(request->events[2].message_id, "98765432109876543210987654321");
  EXPECT_EQ(text(stored(request->events[2]), "messageId"), "98765432109876543210987654321");
}

TEST_F(TrackingRequestTest, NumericUserIdsKeepTheirExactDigits) {
  auto request =
      parse(R"({"userId":340282366920938463463374607431768211457,"event":"E"})", Endpoint::kTrack);
  ASSERT_TRUE(request.has_value()) << request.status().to_string();
  ASSERT_EQ(request->events.size(), 1u);
  const JsonValue& event = stored(request->events[0]);
  ASSERT_NE(event.find("userId"), nullptr);
  EXPECT_TRUE(event.find("userId")->is_string());
  EXPECT_EQ(event.find("userId")->text, "340282366920938463463374607431768211457");
}

TEST_F(TrackingRequestTest, ClientIpIsFilledUnlessGivenOrOverriddenWhenDirect) {
  auto request = parse(
      R"({"batch":[)"
      R"({"type":"track","userId":"u1","event":"E"},)"
      R"({"type":"track","userId":"u1","event":"E","context":{"ip":"24.5.68.47"}},)"
      R"({"type":"track","userId":"u1","event":"E","context":{"ip":"10.1.1.1","direct":true}}]})");
  ASSERT_TRUE(request.has_value()) << request.status().to_string();
  ASSERT_EQ(request->events.size(), 3u);
  EXPECT_EQ(text(*stored(request->events[0]).find("context"), "ip"), kClientIp);
  EXPECT_EQ(text(*stored(request->events[1]).find("context"), "ip"), "24.5.68.47");
  EXPECT_EQ(text(*stored(request->events[2]).find("context"), "ip"), kClientIp);
}

TEST_F(TrackingRequestTest, WriteKeyThatIsNotAStringIsIgnored) {
  auto request = parse(R"({"userId":"u1","event":"E","writeKey":12345})", Endpoint::kTrack);
  ASSERT_TRUE(request.has_value()) << request.status().to_string();
  EXPECT_FALSE(request->body_write_key.has_value());
  ASSERT_EQ(request->events.size(), 1u);
  EXPECT_EQ(stored(request->events[0]).find("writeKey"), nullptr);
}

TEST_F(TrackingRequestTest, ItemWriteKeysAreDroppedFromStoredBatchEvents) {
  auto request =
      parse(R"({"batch":[{"type":"track","userId":"u1","event":"E","writeKey":"item-key"}]})");
  ASSERT_TRUE(request.has_value()) << request.status().to_string();
  EXPECT_FALSE(request->body_write_key.has_value()) << "only the envelope's writeKey authenticates";
  ASSERT_EQ(request->events.size(), 1u);
  EXPECT_EQ(request->events[0].json.find("item-key"), std::string::npos);
}

TEST_F(TrackingRequestTest, UnusableBodiesAreInvalidArgument) {
  const std::pair<const char*, const char*> bodies[] = {
      {"", "empty"},
      {R"({"batch":[]})", "empty"},
      {R"({"events":[{"type":"track"}]})", "batch"},
      {R"({"batch":{"type":"track"}})", "batch"},
      {R"({"batch":null})", "batch"},
      {R"([{"type":"track","userId":"u1","event":"E"}])", "object"},
      {R"({"batch":[{"type":"track"},]})", "invalid JSON"},
      {R"({"batch":[)", "invalid JSON"},
      {"not json", "invalid JSON"},
      {R"("just a string")", "object"},
  };
  for (const auto& [body, message] : bodies) {
    auto request = parse(body);
    ASSERT_FALSE(request.has_value()) << body;
    EXPECT_EQ(request.status().code(), StatusCode::kInvalidArgument) << body;
    EXPECT_THAT(request.status().message(), HasSubstr(message)) << body;
  }
}

TEST_F(TrackingRequestTest, NonObjectBodyOnASingleEventEndpointIsInvalidArgument) {
  auto request = parse(R"([{"userId":"u1","event":"E"}])", Endpoint::kTrack);
  ASSERT_FALSE(request.has_value());
  EXPECT_EQ(request.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(TrackingRequestTest, DeeplyNestedPropertiesWithinTheLimitAreAccepted) {
  std::string nested = "1";
  for (int i = 0; i < 60; ++i) nested = R"({"n":)" + nested + "}";
  auto request =
      parse(R"({"userId":"u1","event":"E","properties":)" + nested + "}", Endpoint::kTrack);
  ASSERT_TRUE(request.has_value()) << request.status().to_string();
  ASSERT_EQ(request->events.size(), 1u);
  stored(request->events[0]);

  std::string too_deep = "1";
  for (int i = 0; i < 100; ++i) too_deep = "[" + too_deep + "]";
  auto rejected =
      parse(R"({"userId":"u1","event":"E","properties":{"x":)" + too_deep + "}}", Endpoint::kTrack);
  ASSERT_FALSE(rejected.has_value());
  EXPECT_EQ(rejected.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(TrackingRequestTest, ParserIsReusableAcrossRequests) {
  auto first = parse(R"({"batch":[{"type":"track","userId":"first","event":"E"}]})");
  ASSERT_TRUE(first.has_value());
  auto broken = parse(R"({"batch":[)");
  ASSERT_FALSE(broken.has_value());
  auto second = parse(R"({"userId":"second","event":"E"})", Endpoint::kTrack);
  ASSERT_TRUE(second.has_value());
  ASSERT_EQ(first->events.size(), 1u);
  ASSERT_EQ(second->events.size(), 1u);
  EXPECT_EQ(text(stored(first->events[0]), "userId"), "first") << "earlier results stay intact";
  EXPECT_EQ(text(stored(second->events[0]), "userId"), "second");
}

}  // namespace
}  // namespace cdp::ingest
