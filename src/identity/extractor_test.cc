#include "identity/extractor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cdp::identity {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> displays(const EventIdentifiers& extracted) {
  std::vector<std::string> out;
  for (const auto& id : extracted.identifiers) out.push_back(id.display());
  return out;
}

TEST(ExtractorTest, ReadsEveryBuiltInField) {
  ingest::JsonParser parser;
  auto event = parser.parse(R"({"type":"identify","userId":"u1","anonymousId":"a1",
    "traits":{"email":"jane@x.org","phone":"+1 415 555 0132"},
    "context":{"traits":{"email":"other@x.org"},"device":{"id":"d1","advertisingId":"ad1"},
      "externalIds":[{"id":"c-9","type":"CRM_ID","collection":"users","encoding":"none"},
                     {"id":"bad","type":"not a type!"},{"type":"missing_id"}]}})");
  ASSERT_TRUE(event.has_value());
  auto extracted = extract_identifiers(**event, {});
  EXPECT_THAT(displays(extracted), ElementsAre("user_id:u1", "anonymous_id:a1", "email:jane@x.org",
                                               "email:other@x.org", "phone:+1 415 555 0132",
                                               "device_id:d1", "advertising_id:ad1", "crm_id:c-9"));
  EXPECT_FALSE(extracted.previous_id.has_value());
}

TEST(ExtractorTest, ConfiguredPathsAndNumbersByTheirText) {
  ingest::JsonParser parser;
  auto event = parser.parse(
      R"({"type":"track","properties":{"loyalty":12345678901234567890},"traits":{"crm":{"id":"x"}}})");
  ASSERT_TRUE(event.has_value());
  auto extracted = extract_identifiers(
      **event, {{"loyalty_id", {"properties", "loyalty"}}, {"crm_id", {"traits", "crm"}}});
  EXPECT_THAT(displays(extracted), ElementsAre("loyalty_id:12345678901234567890"))
      << "objects are not identifiers";
}

TEST(ExtractorTest, AliasCarriesPreviousId) {
  ingest::JsonParser parser;
  auto event = parser.parse(R"({"type":"alias","userId":"new","previousId":"old"})");
  ASSERT_TRUE(event.has_value());
  auto extracted = extract_identifiers(**event, {});
  EXPECT_THAT(displays(extracted), ElementsAre("user_id:new"));
  EXPECT_EQ(extracted.previous_id, "old");
}

TEST(ExtractorTest, ParsesDottedPaths) {
  EXPECT_THAT(*parse_path("traits.crm_id"), ElementsAre("traits", "crm_id"));
  EXPECT_FALSE(parse_path("traits..x").has_value());
  EXPECT_FALSE(parse_path("").has_value());
}

}  // namespace
}  // namespace cdp::identity
