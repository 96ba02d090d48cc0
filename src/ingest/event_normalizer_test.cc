#include "ingest/event_normalizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/time_format.h"

namespace cdp::ingest {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kReceivedAt = "2024-03-10T12:00:00.000Z";
constexpr std::string_view kClientIp = "203.0.113.9";

int64_t ms(std::string_view iso) {
  auto parsed = parse_iso8601_ms(iso);
  CDP_CHECK(parsed.has_value());
  return *parsed;
}

// xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx, lower-case hex.
bool is_uuid_v4(std::string_view text) {
  if (text.size() != 36 || text[14] != '4') return false;
  if (text[19] != '8' && text[19] != '9' && text[19] != 'a' && text[19] != 'b') return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    const char c = text[i];
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Number of members named `key` in `object`; a normalised event must carry each key once.
size_t count_key(const JsonValue& object, std::string_view key) {
  size_t count = 0;
  for (const auto& member : object.members) count += member.key == key ? 1 : 0;
  return count;
}

class EventNormalizerTest : public ::testing::Test {
 protected:
  EventNormalizerTest() {
    defaults_.client_ip = kClientIp;
    defaults_.received_at_ms = ms(kReceivedAt);
  }

  // Normalises `item` (JSON text) with defaults_ and limits_.
  NormalizeOutcome normalize(std::string_view item) {
    auto root = input_.parse(item);
    CDP_CHECK(root.has_value());
    return normalize_event(**root, defaults_, limits_);
  }

  // Normalises `item`, expects it to be accepted, and returns its parsed normalised form, after
  // checking what every stored event must carry.
  const JsonValue& accept(std::string_view item) {
    NormalizeOutcome outcome = normalize(item);
    CDP_CHECK(outcome.event.has_value() || !outcome.error.code.empty());
    if (!outcome.event.has_value()) {
      ADD_FAILURE() << item << " was rejected: " << outcome.error.code << ": "
                    << outcome.error.reason;
      return **output_.parse("{}");
    }
    stored_ = std::move(*outcome.event);
    auto root = output_.parse(stored_.json);
    CDP_CHECK(root.has_value());
    const JsonValue& event = **root;
    EXPECT_TRUE(event.is_object());
    for (std::string_view key : {"type", "messageId", "receivedAt", "timestamp"}) {
      EXPECT_EQ(count_key(event, key), 1u) << key << " in " << stored_.json;
      const JsonValue* value = event.find(key);
      if (value != nullptr) {
        EXPECT_TRUE(value->is_string()) << key << " in " << stored_.json;
      }
    }
    for (const auto& member : event.members) {
      EXPECT_EQ(count_key(event, member.key), 1u)
          << "duplicate " << member.key << " in " << stored_.json;
    }
    EXPECT_EQ(count_key(event, "writeKey"), 0u) << stored_.json;
    EXPECT_EQ(event.find("messageId")->text, stored_.message_id);
    EXPECT_EQ(event.find("receivedAt")->text, kReceivedAt);
    return event;
  }

  // Normalises `item`, expects it to be rejected with `code`, and returns the reason.
  std::string reject(std::string_view item, std::string_view code) {
    NormalizeOutcome outcome = normalize(item);
    EXPECT_FALSE(outcome.event.has_value()) << item << " was accepted: " << outcome.event->json;
    EXPECT_EQ(outcome.error.code, code) << item << ": " << outcome.error.reason;
    EXPECT_FALSE(outcome.error.reason.empty());
    return outcome.error.reason;
  }

  // The text of a string member at `path` (dot-separated), or "<absent>".
  static std::string text_at(const JsonValue& root, std::string_view path) {
    const JsonValue* value = &root;
    while (!path.empty()) {
      const auto dot = path.find('.');
      const auto key = path.substr(0, dot);
      if (!value->is_object()) return "<absent>";
      value = value->find(key);
      if (value == nullptr) return "<absent>";
      path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    }
    if (value->kind == JsonKind::kString || value->kind == JsonKind::kNumber)
      return std::string(value->text);
    std::string out;
    write_json(out, *value);
    return out;
  }

  EventDefaults defaults_;
  TrackingLimits limits_;
  JsonParser input_;
  JsonParser output_;
  NormalizedEvent stored_;
};

TEST_F(EventNormalizerTest, SegmentTrackExampleIsNormalised) {
  const JsonValue& event =
      accept(R"({"type":"track","userId":"019mr8mf4r","event":"Item Purchased",)"
             R"("properties":{"name":"Leap to Conclusions Mat","revenue":14.99},)"
             R"("context":{"ip":"24.5.68.47"},"timestamp":"2012-12-02T00:30:12.984Z"})");
  EXPECT_EQ(text_at(event, "type"), "track");
  EXPECT_EQ(text_at(event, "userId"), "019mr8mf4r");
  EXPECT_EQ(text_at(event, "event"), "Item Purchased");
  EXPECT_EQ(text_at(event, "properties"), R"({"name":"Leap to Conclusions Mat","revenue":14.99})");
  EXPECT_EQ(text_at(event, "context.ip"), "24.5.68.47") << "an explicit context.ip is kept";
  EXPECT_EQ(text_at(event, "timestamp"), "2012-12-02T00:30:12.984Z")
      << "without sentAt the timestamp is kept";
  EXPECT_EQ(text_at(event, "receivedAt"), kReceivedAt);
  EXPECT_TRUE(is_uuid_v4(text_at(event, "messageId"))) << text_at(event, "messageId");
}

TEST_F(EventNormalizerTest, SegmentIdentifySpecExampleIsNormalised) {
  const JsonValue& event = accept(R"json({
    "anonymousId": "507f191e810c19729de860ea",
    "channel": "browser",
    "context": {"ip": "8.8.8.8", "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_2)"},
    "integrations": {"All": false, "Mixpanel": true, "Salesforce": true},
    "messageId": "022bb90c-bbac-11e4-8dfc-aa07a5b093db",
    "receivedAt": "2015-02-23T22:28:55.387Z",
    "sentAt": "2015-02-23T22:28:55.111Z",
    "timestamp": "2015-02-23T22:28:55.111Z",
    "traits": {
      "name": "Peter Gibbons", "email": "peter@example.com", "plan": "premium", "logins": 5,
      "address": {"street": "6th St", "city": "San Francisco", "state": "CA", "postalCode": "94103",
                  "country": "USA"}
    },
    "type": "identify",
    "userId": "97980cfea0067",
    "version": "1.1"
  })json");
  EXPECT_EQ(text_at(event, "type"), "identify");
  EXPECT_EQ(text_at(event, "messageId"), "022bb90c-bbac-11e4-8dfc-aa07a5b093db");
  EXPECT_EQ(text_at(event, "userId"), "97980cfea0067");
  EXPECT_EQ(text_at(event, "anonymousId"), "507f191e810c19729de860ea");
  EXPECT_EQ(text_at(event, "traits.address.city"), "San Francisco");
  EXPECT_EQ(text_at(event, "traits.logins"), "5");
  EXPECT_EQ(text_at(event, "integrations"), R"({"All":false,"Mixpanel":true,"Salesforce":true})");
  EXPECT_EQ(text_at(event, "context.userAgent"), "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_2)");
  EXPECT_EQ(text_at(event, "channel"), "browser");
  EXPECT_EQ(text_at(event, "version"), "1.1");
  // sentAt == timestamp: no skew, so the event happened when it arrived.
  EXPECT_EQ(text_at(event, "timestamp"), kReceivedAt);
  EXPECT_EQ(text_at(event, "sentAt"), "2015-02-23T22:28:55.111Z");
  EXPECT_EQ(text_at(event, "receivedAt"), kReceivedAt) << "a client's receivedAt is replaced";
}

TEST_F(EventNormalizerTest, SegmentPageScreenGroupAndAliasExamplesAreAccepted) {
  defaults_.type = "page";
  const JsonValue& page = accept(
      R"({"userId":"019mr8mf4r","name":"Tracking HTTP API","timestamp":"2012-12-02T00:30:08.276Z"})");
  EXPECT_EQ(text_at(page, "type"), "page");
  EXPECT_EQ(text_at(page, "name"), "Tracking HTTP API");
  EXPECT_EQ(text_at(page, "timestamp"), "2012-12-02T00:30:08.276Z");

  defaults_.type = "screen";
  const JsonValue& screen =
      accept(R"({"userId":"019mr8mf4r","name":"Home","properties":{"Feed Type":"private"},)"
             R"("timestamp":"2012-12-02T00:30:08.276Z"})");
  EXPECT_EQ(text_at(screen, "type"), "screen");
  EXPECT_EQ(text_at(screen, "properties.Feed Type"), "private");

  defaults_.type = "group";
  const JsonValue& group = accept(
      R"({"userId":"019mr8mf4r","groupId":"8e9df332ac",)"
      R"("traits":{"name":"Initech","industry":"Technology","employees":329,"plan":"enterprise",)"
      R"("total billed":830},"timestamp":"2012-12-02T00:30:08.276Z"})");
  EXPECT_EQ(text_at(group, "type"), "group");
  EXPECT_EQ(text_at(group, "groupId"), "8e9df332ac");
  EXPECT_EQ(text_at(group, "traits.total billed"), "830");

  defaults_.type = "alias";
  const JsonValue& alias = accept(
      R"({"previousId":"39239-239239-239239-23923","userId":"019mr8mf4r","timestamp":"2012-12-02T00:30:08.276Z"})");
  EXPECT_EQ(text_at(alias, "type"), "alias");
  EXPECT_EQ(text_at(alias, "previousId"), "39239-239239-239239-23923");
  EXPECT_EQ(text_at(alias, "userId"), "019mr8mf4r");

  defaults_.type = "identify";
  const JsonValue& identify = accept(
      R"({"userId":"019mr8mf4r","traits":{"email":"pgibbons@example.com","name":"Peter Gibbons",)"
      R"("industry":"Technology"},"context":{"ip":"24.5.68.47"},"timestamp":"2012-12-02T00:30:08.276Z"})");
  EXPECT_EQ(text_at(identify, "type"), "identify");
  EXPECT_EQ(text_at(identify, "traits.email"), "pgibbons@example.com");
}

TEST_F(EventNormalizerTest, ImpliedTypeOverridesTheBodysType) {
  defaults_.type = "track";
  const JsonValue& event = accept(R"({"type":"identify","userId":"u1","event":"Clicked"})");
  EXPECT_EQ(text_at(event, "type"), "track");
}

TEST_F(EventNormalizerTest, ClockSkewIsCorrectedWithTheItemsSentAt) {
  // The client's clock is 10 minutes behind: it says it sent at 11:50:10 what happened at 11:50:00.
  const JsonValue& event = accept(
      R"({"type":"track","userId":"u1","event":"E","originalTimestamp":"2024-03-10T11:50:00.000Z",)"
      R"("sentAt":"2024-03-10T11:50:10.000Z"})");
  EXPECT_EQ(text_at(event, "timestamp"), "2024-03-10T11:59:50.000Z");
  EXPECT_EQ(text_at(event, "originalTimestamp"), "2024-03-10T11:50:00.000Z");
  EXPECT_EQ(text_at(event, "sentAt"), "2024-03-10T11:50:10.000Z");
}

TEST_F(EventNormalizerTest, ClockSkewIsCorrectedWithTheEnvelopesSentAt) {
  JsonParser envelope;
  auto sent_at = envelope.parse(R"({"sentAt":"2024-03-10T12:30:00.500Z"})");
  ASSERT_TRUE(sent_at.has_value());
  defaults_.sent_at = (*sent_at)->find("sentAt");
  // Clock 30 minutes ahead; the event happened 2.5 s before sending.
  const JsonValue& event = accept(
      R"({"type":"track","userId":"u1","event":"E","originalTimestamp":"2024-03-10T12:29:58.000Z"})");
  EXPECT_EQ(text_at(event, "timestamp"), "2024-03-10T11:59:57.500Z");
  EXPECT_EQ(text_at(event, "sentAt"), "2024-03-10T12:30:00.500Z");
}

TEST_F(EventNormalizerTest, ItemSentAtTakesPrecedenceOverTheEnvelopes) {
  JsonParser envelope;
  auto sent_at = envelope.parse(R"({"sentAt":"2030-01-01T00:00:00.000Z"})");
  ASSERT_TRUE(sent_at.has_value());
  defaults_.sent_at = (*sent_at)->find("sentAt");
  const JsonValue& event = accept(
      R"({"type":"track","userId":"u1","event":"E","originalTimestamp":"2024-03-10T11:00:00.000Z",)"
      R"("sentAt":"2024-03-10T11:00:01.000Z"})");
  EXPECT_EQ(text_at(event, "timestamp"), "2024-03-10T11:59:59.000Z");
  EXPECT_EQ(text_at(event, "sentAt"), "2024-03-10T11:00:01.000Z");
}

TEST_F(EventNormalizerTest, TimestampWithSentAtIsAlsoSkewCorrected) {
  const JsonValue& event =
      accept(R"({"type":"track","userId":"u1","event":"E","timestamp":"2024-03-10T08:00:00.000Z",)"
             R"("sentAt":"2024-03-10T08:00:05.000Z"})");
  EXPECT_EQ(text_at(event, "timestamp"), "2024-03-10T11:59:55.000Z");
}

TEST_F(EventNormalizerTest, ExplicitTimestampWithoutSentAtIsKept) {
  const JsonValue& event = accept(
      R"({"type":"track","userId":"u1","event":"E","timestamp":"2019-07-04T10:20:30.456Z"})");
  EXPECT_EQ(text_at(event, "timestamp"), "2019-07-04T10:20:30.456Z");
}

TEST_F(EventNormalizerTest, TimestampWithAZoneOffsetIsConvertedToUtc) {
  const JsonValue& event = accept(
      R"({"type":"track","userId":"u1","event":"E","timestamp":"2019-07-04T12:20:30.456+02:00"})");
  EXPECT_EQ(text_at(event, "timestamp"), "2019-07-04T10:20:30.456Z");
}

TEST_F(EventNormalizerTest, MissingTimestampIsTheReceiveTime) {
  const JsonValue& event = accept(R"({"type":"track","userId":"u1","event":"E"})");
  EXPECT_EQ(text_at(event, "timestamp"), kReceivedAt);
  EXPECT_EQ(text_at(event, "originalTimestamp"), "<absent>");
}

TEST_F(EventNormalizerTest, SentAtAloneDoesNotMoveTheTimestamp) {
  const JsonValue& event =
      accept(R"({"type":"track","userId":"u1","event":"E","sentAt":"2001-01-01T00:00:00Z"})");
  EXPECT_EQ(text_at(event, "timestamp"), kReceivedAt);
}

TEST_F(EventNormalizerTest, InvalidTimestampsAreRejected) {
  reject(R"({"type":"track","userId":"u1","event":"E","timestamp":"yesterday"})",
         "invalid_timestamp");
  reject(R"({"type":"track","userId":"u1","event":"E","timestamp":1700000000})",
         "invalid_timestamp");
  reject(R"({"type":"track","userId":"u1","event":"E","timestamp":"2024-02-30T00:00:00Z"})",
         "invalid_timestamp");
  reject(R"({"type":"track","userId":"u1","event":"E","originalTimestamp":"2024-13-01T00:00:00Z"})",
         "invalid_timestamp");
  reject(R"({"type":"track","userId":"u1","event":"E","sentAt":"not a date"})",
         "invalid_timestamp");
  reject(R"({"type":"track","userId":"u1","event":"E","originalTimestamp":"2024-01-01T00:00:00Z",)"
         R"("timestamp":"garbage"})",
         "invalid_timestamp");
  EXPECT_THAT(reject(R"({"type":"track","userId":"u1","event":"E","timestamp":"yesterday"})",
                     "invalid_timestamp"),
              HasSubstr("yesterday"));
}

TEST_F(EventNormalizerTest, InvalidEnvelopeSentAtRejectsTheItem) {
  JsonParser envelope;
  auto sent_at = envelope.parse(R"({"sentAt":"soon"})");
  ASSERT_TRUE(sent_at.has_value());
  defaults_.sent_at = (*sent_at)->find("sentAt");
  reject(R"({"type":"track","userId":"u1","event":"E"})", "invalid_timestamp");
}

TEST_F(EventNormalizerTest, MessageIdIsAssignedWhenAbsentOrEmpty) {
  const std::string first =
      text_at(accept(R"({"type":"track","userId":"u1","event":"E"})"), "messageId");
  const std::string second =
      text_at(accept(R"({"type":"track","userId":"u1","event":"E","messageId":""})"), "messageId");
  const std::string third = text_at(
      accept(R"({"type":"track","userId":"u1","event":"E","messageId":null})"), "messageId");
  EXPECT_TRUE(is_uuid_v4(first)) << first;
  EXPECT_TRUE(is_uuid_v4(second)) << second;
  EXPECT_TRUE(is_uuid_v4(third)) << third;
  EXPECT_NE(first, second);
  EXPECT_NE(second, third);
}

TEST_F(EventNormalizerTest, MessageIdIsKeptWhenPresent) {
  NormalizeOutcome outcome =
      normalize(R"({"type":"track","userId":"u1","event":"E","messageId":"ajs-next-1"})");
  ASSERT_TRUE(outcome.event.has_value());
  EXPECT_EQ(outcome.event->message_id, "ajs-next-1");
  EXPECT_EQ(outcome.message_id_as_sent, "ajs-next-1");
}

TEST_F(EventNormalizerTest, NumericMessageIdBecomesItsDigits) {
  const JsonValue& event = accept(
      R"({"type":"track","userId":"u1","event":"E","messageId":123456789012345678901234567890})");
  EXPECT_EQ(event.find("messageId")->kind, JsonKind::kString);
  EXPECT_EQ(text_at(event, "messageId"), "123456789012345678901234567890");
}

TEST_F(EventNormalizerTest, OverlongMessageIdIsRejected) {
  limits_.max_message_id_bytes = 16;
  const std::string long_id(17, 'm');
  NormalizeOutcome outcome =
      normalize(R"({"type":"track","userId":"u1","event":"E","messageId":")" + long_id + R"("})");
  ASSERT_FALSE(outcome.event.has_value());
  EXPECT_EQ(outcome.error.code, "invalid_message_id");
  EXPECT_THAT(outcome.error.reason, HasSubstr("16"));
  EXPECT_EQ(outcome.message_id_as_sent, long_id) << "the rejection names the messageId as sent";
  accept(R"({"type":"track","userId":"u1","event":"E","messageId":")" + std::string(16, 'm') +
         R"("})");
}

TEST_F(EventNormalizerTest, MessageIdOfTheWrongTypeIsRejected) {
  reject(R"({"type":"track","userId":"u1","event":"E","messageId":{"id":1}})",
         "invalid_field_type");
  reject(R"({"type":"track","userId":"u1","event":"E","messageId":true})", "invalid_field_type");
}

TEST_F(EventNormalizerTest, NumericIdsBecomeStringsWithTheirExactDigits) {
  const JsonValue& event =
      accept(R"({"type":"track","userId":12345678901234567890123456789012345678901234567890,)"
             R"("anonymousId":-42,"event":"E"})");
  EXPECT_EQ(event.find("userId")->kind, JsonKind::kString);
  EXPECT_EQ(text_at(event, "userId"), "12345678901234567890123456789012345678901234567890");
  EXPECT_EQ(event.find("anonymousId")->kind, JsonKind::kString);
  EXPECT_EQ(text_at(event, "anonymousId"), "-42");

  defaults_.type = "alias";
  const JsonValue& alias =
      accept(R"({"userId":9007199254740993,"previousId":18446744073709551617})");
  EXPECT_EQ(text_at(alias, "userId"), "9007199254740993") << "beyond 2^53: no double rounding";
  EXPECT_EQ(alias.find("previousId")->kind, JsonKind::kString);
  EXPECT_EQ(text_at(alias, "previousId"), "18446744073709551617");
}

TEST_F(EventNormalizerTest, AnonymousIdAloneIdentifiesTheUser) {
  const JsonValue& event = accept(R"({"type":"page","anonymousId":"anon-1","userId":null})");
  EXPECT_EQ(text_at(event, "anonymousId"), "anon-1");
  EXPECT_EQ(text_at(event, "userId"), "<absent>");
}

TEST_F(EventNormalizerTest, MissingUserIdAndAnonymousIdIsRejected) {
  reject(R"({"type":"track","event":"E"})", "missing_user_id");
  reject(R"({"type":"track","event":"E","userId":"","anonymousId":""})", "missing_user_id");
  reject(R"({"type":"track","event":"E","userId":null,"anonymousId":null})", "missing_user_id");
}

TEST_F(EventNormalizerTest, TypeSpecificRequiredFieldsAreChecked) {
  reject(R"({"type":"track","userId":"u1"})", "missing_event");
  reject(R"({"type":"track","userId":"u1","event":""})", "missing_event");
  reject(R"({"type":"track","userId":"u1","event":null})", "missing_event");
  reject(R"({"type":"alias","userId":"u1"})", "missing_previous_id");
  reject(R"({"type":"alias","userId":"u1","previousId":""})", "missing_previous_id");
  reject(R"({"type":"group","userId":"u1"})", "missing_group_id");
  reject(R"({"type":"group","userId":"u1","groupId":""})", "missing_group_id");
  accept(R"({"type":"group","userId":"u1","groupId":42})");
}

TEST_F(EventNormalizerTest, BatchItemsNeedAKnownType) {
  reject(R"({"userId":"u1","event":"E"})", "missing_type");
  reject(R"({"type":null,"userId":"u1","event":"E"})", "missing_type");
  EXPECT_THAT(reject(R"({"type":"purchase","userId":"u1"})", "invalid_type"),
              HasSubstr("purchase"));
  reject(R"({"type":"Track","userId":"u1","event":"E"})", "invalid_type");
  reject(R"({"type":7,"userId":"u1"})", "invalid_field_type");
}

TEST_F(EventNormalizerTest, FieldsOfTheWrongTypeAreRejected) {
  const char* items[] = {
      R"({"type":"track","userId":{"id":"u1"},"event":"E"})",
      R"({"type":"track","userId":["u1"],"event":"E"})",
      R"({"type":"track","userId":true,"event":"E"})",
      R"({"type":"track","anonymousId":{},"userId":"u1","event":"E"})",
      R"({"type":"track","userId":"u1","event":42})",
      R"({"type":"track","userId":"u1","event":"E","properties":[1,2]})",
      R"({"type":"track","userId":"u1","event":"E","properties":"price=1"})",
      R"({"type":"identify","userId":"u1","traits":[]})",
      R"({"type":"track","userId":"u1","event":"E","context":"web"})",
      R"({"type":"track","userId":"u1","event":"E","integrations":true})",
      R"({"type":"page","userId":"u1","name":{"title":"Home"}})",
      R"({"type":"screen","userId":"u1","category":5})",
      R"({"type":"alias","userId":"u1","previousId":{"id":1}})",
      R"({"type":"group","userId":"u1","groupId":["g"]})",
  };
  for (const char* item : items) reject(item, "invalid_field_type");
  EXPECT_THAT(reject(items[5], "invalid_field_type"), HasSubstr("properties"));
  EXPECT_THAT(reject(items[0], "invalid_field_type"), HasSubstr("userId"));
}

TEST_F(EventNormalizerTest, NonObjectItemIsRejected) { reject(R"(["track"])", "invalid_event"); }

TEST_F(EventNormalizerTest, ClientIpFillsAMissingContextIp) {
  const JsonValue& event = accept(R"({"type":"track","userId":"u1","event":"E"})");
  EXPECT_EQ(text_at(event, "context.ip"), kClientIp);
  const JsonValue& with_context =
      accept(R"({"type":"track","userId":"u1","event":"E","context":{"locale":"en-US"}})");
  EXPECT_EQ(text_at(with_context, "context.ip"), kClientIp);
  EXPECT_EQ(text_at(with_context, "context.locale"), "en-US");
}

TEST_F(EventNormalizerTest, ExplicitContextIpIsKept) {
  const JsonValue& event = accept(
      R"({"type":"track","userId":"u1","event":"E","context":{"ip":"24.5.68.47","direct":false}})");
  EXPECT_EQ(text_at(event, "context.ip"), "24.5.68.47");
}

TEST_F(EventNormalizerTest, DirectContextTakesTheIpFromTheConnection) {
  const JsonValue& event = accept(
      R"({"type":"track","userId":"u1","event":"E","context":{"ip":"10.0.0.1","direct":true}})");
  EXPECT_EQ(text_at(event, "context.ip"), kClientIp);
  EXPECT_EQ(text_at(event, "context.direct"), "true");
  EXPECT_EQ(count_key(*event.find("context"), "ip"), 1u);
}

TEST_F(EventNormalizerTest, NoClientIpLeavesTheContextAlone) {
  defaults_.client_ip = {};
  const JsonValue& event = accept(R"({"type":"track","userId":"u1","event":"E"})");
  EXPECT_EQ(text_at(event, "context"), "<absent>");
}

TEST_F(EventNormalizerTest, EnvelopeContextAndIntegrationsAreMergedUnderTheItems) {
  JsonParser envelope;
  auto root = envelope.parse(
      R"({"context":{"library":{"name":"envelope-lib"},"device":{"type":"phone"},"ip":"198.51.100.1"},)"
      R"("integrations":{"All":false,"Mixpanel":true}})");
  ASSERT_TRUE(root.has_value());
  defaults_.context = (*root)->find("context");
  defaults_.integrations = (*root)->find("integrations");
  const JsonValue& event = accept(
      R"({"type":"track","userId":"u1","event":"E","context":{"library":{"name":"item-lib"},"locale":"de"},)"
      R"("integrations":{"Mixpanel":false}})");
  EXPECT_EQ(text_at(event, "context.library.name"), "item-lib") << "the item's value wins";
  EXPECT_EQ(text_at(event, "context.device.type"), "phone")
      << "the envelope fills what the item lacks";
  EXPECT_EQ(text_at(event, "context.locale"), "de");
  EXPECT_EQ(text_at(event, "context.ip"), "198.51.100.1") << "the envelope's ip counts as explicit";
  EXPECT_EQ(text_at(event, "integrations.Mixpanel"), "false");
  EXPECT_EQ(text_at(event, "integrations.All"), "false");
  for (const auto& member : event.find("context")->members) {
    EXPECT_EQ(count_key(*event.find("context"), member.key), 1u) << member.key;
  }

  const JsonValue& bare = accept(R"({"type":"track","userId":"u1","event":"E"})");
  EXPECT_EQ(text_at(bare, "context.library.name"), "envelope-lib");
  EXPECT_EQ(text_at(bare, "integrations"), R"({"All":false,"Mixpanel":true})");
}

TEST_F(EventNormalizerTest, WriteKeyIsDroppedFromTheStoredEvent) {
  const JsonValue& event =
      accept(R"({"type":"track","userId":"u1","event":"E","writeKey":"secret-key"})");
  EXPECT_EQ(text_at(event, "writeKey"), "<absent>");
  EXPECT_EQ(stored_.json.find("secret-key"), std::string::npos) << stored_.json;
}

TEST_F(EventNormalizerTest, UnknownFieldsPassThroughUnchanged) {
  const JsonValue& event = accept(
      R"({"type":"track","userId":"u1","event":"E","custom":{"deep":[1,{"x":null}],"big":1e400},"n":-0.0})");
  EXPECT_EQ(text_at(event, "custom"), R"({"deep":[1,{"x":null}],"big":1e400})");
  EXPECT_EQ(text_at(event, "n"), "-0.0");
}

TEST_F(EventNormalizerTest, DuplicateKeysKeepTheLastValueOnce) {
  const JsonValue& event = accept(
      R"({"type":"track","userId":"first","event":"First","userId":"second","event":"Second",)"
      R"("properties":{"a":1,"a":2},"messageId":"m1","messageId":"m2"})");
  EXPECT_EQ(text_at(event, "userId"), "second");
  EXPECT_EQ(text_at(event, "event"), "Second");
  EXPECT_EQ(text_at(event, "properties"), R"({"a":2})");
  EXPECT_EQ(text_at(event, "messageId"), "m2");
}

TEST_F(EventNormalizerTest, UnicodeIsPreserved) {
  const JsonValue& event = accept(
      "{\"type\":\"track\",\"userId\":\"\xE7\x94\xA8\xE6\x88\xB7-1\",\"event\":\"Caf\\u00e9 "
      "\\ud83d\\ude00\","
      "\"properties\":{\"\xC3\xBC\":\"\xF0\x9F\x8E\x89\"}}");
  EXPECT_EQ(text_at(event, "userId"), "\xE7\x94\xA8\xE6\x88\xB7-1");
  EXPECT_EQ(text_at(event, "event"), "Caf\xC3\xA9 \xF0\x9F\x98\x80");
  EXPECT_EQ(text_at(event, "properties.\xC3\xBC"), "\xF0\x9F\x8E\x89");
}

TEST_F(EventNormalizerTest, EventOverTheSizeLimitIsRejected) {
  limits_.max_event_bytes = 1024;
  const std::string reason =
      reject(R"({"type":"track","userId":"u1","event":"E","properties":{"blob":")" +
                 std::string(2000, 'b') + R"("}})",
             "event_too_large");
  EXPECT_THAT(reason, HasSubstr("1024"));
  accept(R"({"type":"track","userId":"u1","event":"E","properties":{"blob":")" +
         std::string(100, 'b') + R"("}})");
}

}  // namespace
}  // namespace cdp::ingest
