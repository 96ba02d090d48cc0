#include "profile/state_records.h"

#include <gtest/gtest.h>

#include <string>

namespace cdp::profile {
namespace {

TEST(TimelineValueTest, ATrackCallKeepsItsPropertiesBesideItsName) {
  ingest::JsonParser parser;
  auto properties = parser.parse(R"({"price": 19.99, "sku": "a\u0000b", "price": 5})");
  ASSERT_TRUE(properties);
  // A name with the separators in it is read back whole.
  const std::string name("Order\0\x01 Completed", 17);
  const auto encoded = encode_track_timeline_value(name, *properties);
  const auto value = decode_timeline_value(encoded);  // views into `encoded`
  ASSERT_TRUE(value);
  EXPECT_EQ(value->type, "track");
  EXPECT_EQ(value->event, name);
  EXPECT_TRUE(value->has_properties);
  EXPECT_EQ(value->properties, R"({"sku":"a\u0000b","price":5})");
}

TEST(TimelineValueTest, NoPropertiesAndPropertiesThatAreNoObjectAreKeptAsNone) {
  ingest::JsonParser parser;
  auto array = parser.parse("[1]");
  ASSERT_TRUE(array);
  for (const auto* properties : {static_cast<const ingest::JsonValue*>(nullptr), *array}) {
    const auto encoded = encode_track_timeline_value("View", properties);
    const auto value = decode_timeline_value(encoded);
    ASSERT_TRUE(value);
    EXPECT_EQ(value->event, "View");
    EXPECT_TRUE(value->has_properties);
    EXPECT_EQ(value->properties, "");
  }
}

TEST(TimelineValueTest, BigPropertiesAreLeftInTheRawLog) {
  ingest::JsonParser parser;
  const std::string big = R"({"pad":")" + std::string(kTimelinePropertiesLimit, 'x') + R"("})";
  auto properties = parser.parse(big);
  ASSERT_TRUE(properties);
  const auto encoded = encode_track_timeline_value("View", *properties);
  EXPECT_EQ(encoded, std::string("track\0View", 10));
  const auto value = decode_timeline_value(encoded);
  ASSERT_TRUE(value);
  EXPECT_EQ(value->event, "View");
  EXPECT_FALSE(value->has_properties);
}

TEST(TimelineValueTest, EntriesOfOtherCallsAndOfEarlierBuildsAreRead) {
  // Every build before properties were kept wrote "type NUL name", for track calls too.
  for (const auto& [stored, type, event] :
       {std::tuple{std::string("identify\0", 9), "identify", ""},
        std::tuple{std::string("track\0Signed\x01Up", 15), "track", "Signed\x01Up"}}) {
    EXPECT_EQ(encode_timeline_value(type, event), stored);
    const auto value = decode_timeline_value(stored);
    ASSERT_TRUE(value);
    EXPECT_EQ(value->type, type);
    EXPECT_EQ(value->event, event);
    EXPECT_FALSE(value->has_properties);
  }
}

TEST(TimelineValueTest, MalformedEntriesAreRefused) {
  EXPECT_FALSE(decode_timeline_value("track"));
  EXPECT_FALSE(decode_timeline_value(std::string("page\x01\0\0\0\x04View", 14)));
  EXPECT_FALSE(decode_timeline_value(std::string("track\x01\0\0", 8)));
  EXPECT_FALSE(decode_timeline_value(std::string("track\x01\0\0\0\x09View", 14)));
}

}  // namespace
}  // namespace cdp::profile
