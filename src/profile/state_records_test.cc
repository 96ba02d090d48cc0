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

TEST(TimelineValueTest, LongPropertiesAreLeftOutAndNamed) {
  ingest::JsonParser parser;
  const std::string long_text(kTimelineValueLimit, 'x');
  auto properties = parser.parse(R"({"price":5,"text":")" + long_text + R"(","sku":"a","list":[")" +
                                 long_text + R"("],"short":")" + long_text.substr(2) + R"("})");
  ASSERT_TRUE(properties);
  const auto encoded = encode_track_timeline_value("View", *properties);
  const auto value = decode_timeline_value(encoded);
  ASSERT_TRUE(value);
  EXPECT_EQ(value->event, "View");
  EXPECT_TRUE(value->has_properties);
  // A value of exactly the limit (two quotes and 126 bytes) is kept.
  EXPECT_EQ(value->properties, R"({"price":5,"sku":"a","short":")" + long_text.substr(2) + R"("})");
  EXPECT_TRUE(value->left_out_property("text"));
  EXPECT_TRUE(value->left_out_property("list"));
  for (const auto* kept : {"price", "sku", "short", "", "tex"}) {
    EXPECT_FALSE(value->left_out_property(kept)) << kept;
  }
}

TEST(TimelineValueTest, PropertiesAreKeptUpToTheLimitInAll) {
  ingest::JsonParser parser;
  std::string json = "{";
  for (int i = 0; i < 10; ++i) {
    json += (i > 0 ? ",\"p" : "\"p") + std::to_string(i) + R"(":")" + std::string(100, 'v') + '"';
  }
  json += R"(,"price":1})";
  auto properties = parser.parse(json);
  ASSERT_TRUE(properties);
  const auto encoded = encode_track_timeline_value("View", *properties);
  const auto value = decode_timeline_value(encoded);
  ASSERT_TRUE(value);
  ASSERT_TRUE(value->has_properties);
  EXPECT_LE(value->properties.size(), kTimelinePropertiesLimit);
  auto kept = parser.parse(value->properties);
  ASSERT_TRUE(kept);
  // Each member is either kept (with its value) or named as left out; those that fit the room
  // left are kept, wherever they are.
  EXPECT_EQ((*kept)->members.size(), 5u);
  for (int i = 0; i < 10; ++i) {
    const auto name = "p" + std::to_string(i);
    EXPECT_NE((*kept)->find(name) != nullptr, value->left_out_property(name)) << name;
  }
  EXPECT_FALSE(value->left_out_property("p0"));
  EXPECT_TRUE(value->left_out_property("p9"));
  ASSERT_NE((*kept)->find("price"), nullptr);
}

TEST(TimelineValueTest, PropertiesWithTooManyLongNamesAreLeftInTheRawLog) {
  ingest::JsonParser parser;
  const std::string name(kTimelinePropertiesLimit, 'n');
  auto properties = parser.parse(R"({")" + name + R"(":")" + std::string(200, 'x') + R"("})");
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
  // Left-out names: none, cut short, or one longer than the names.
  EXPECT_FALSE(decode_timeline_value(std::string("track\x02\0\0\0\x04View\0\0\0\0{}", 20)));
  EXPECT_FALSE(decode_timeline_value(std::string("track\x02\0\0\0\x04View\0\0\0\x01", 18)));
  EXPECT_FALSE(
      decode_timeline_value(std::string("track\x02\0\0\0\x04View\0\0\0\x03\0\x02q{}", 23)));
  const std::string stored("track\x02\0\0\0\x04View\0\0\0\x03\0\x01q{}", 23);
  const auto fine = decode_timeline_value(stored);  // views into `stored`
  ASSERT_TRUE(fine);
  EXPECT_TRUE(fine->left_out_property("q"));
  EXPECT_EQ(fine->properties, "{}");
}

}  // namespace
}  // namespace cdp::profile
