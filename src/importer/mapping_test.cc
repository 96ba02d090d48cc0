#include "importer/mapping.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cdp::importer {
namespace {

using ::testing::HasSubstr;

Status parse_error(std::string_view text) {
  auto mapping = ImportMapping::parse_toml(text, "m.toml");
  return mapping ? Status::ok() : mapping.status();
}

TEST(ImportMappingTest, ReadsARecordsMappingWithRolesAndTypes) {
  auto mapping = ImportMapping::parse_toml(R"(
    kind = "records"
    source = "crm"
    encoding = "latin-1"
    delimiter = ";"
    phone_region = "GB"
    [columns]
    customer_id = { identifier = "User_ID", required = true }
    mail = { identifier = "email" }
    first = { trait = "firstName", type = "name" }
    dob = { trait = "birthday", type = "date", format = "%d/%m/%Y" }
    updated = { timestamp = true }
  )",
                                           "m.toml");
  ASSERT_TRUE(mapping.has_value()) << mapping.status().message();
  EXPECT_EQ(mapping->kind, RowKind::kRecords);
  EXPECT_EQ(mapping->source, "crm");
  EXPECT_TRUE(mapping->latin1);
  EXPECT_EQ(mapping->delimiter, ';');
  EXPECT_EQ(mapping->phone_region, "GB");
  ASSERT_EQ(mapping->columns.size(), 5u);
  for (const auto& column : mapping->columns) {
    if (column.column == "customer_id") {
      EXPECT_EQ(column.target, "user_id") << "identifier types are lower-cased";
      EXPECT_TRUE(column.required);
    }
    if (column.column == "mail") {
      EXPECT_EQ(column.type, ValueType::kEmail) << "email identifiers are emails by default";
    }
    if (column.column == "dob") {
      EXPECT_EQ(column.format, "%d/%m/%Y");
    }
    if (column.column == "updated") {
      EXPECT_EQ(column.role, ColumnRole::kTimestamp);
      EXPECT_EQ(column.type, ValueType::kTimestamp);
    }
  }
}

TEST(ImportMappingTest, RefusesMappingsThatCannotWorkWithAMessageNamingTheProblem) {
  EXPECT_THAT(parse_error("[columns]\nname = { trait = \"name\" }").message(),
              HasSubstr("no column is an identifier"));
  EXPECT_THAT(parse_error("[columns]\nid = { identifier = \"user_id\", colour = 1 }").message(),
              HasSubstr("unknown key \"colour\""));
  EXPECT_THAT(parse_error("[columns]\nid = { identifier = \"user_id\" }\nx = { property = \"p\" }")
                  .message(),
              HasSubstr("records have traits"));
  EXPECT_THAT(
      parse_error("kind = \"events\"\n[columns]\nid = { identifier = \"user_id\" }").message(),
      HasSubstr("events need a name"));
  EXPECT_THAT(
      parse_error("[columns]\nid = { identifier = \"user_id\", type = \"money\" }").message(),
      HasSubstr("type must be one of"));
  EXPECT_THAT(parse_error("[columns]\nid = { identifier = \"user_id\", trait = \"x\" }").message(),
              HasSubstr("exactly one of"));
  EXPECT_THAT(
      parse_error("source = \"Bad Name\"\n[columns]\nid = { identifier = \"user_id\" }").message(),
      HasSubstr("source name"));
  EXPECT_THAT(
      parse_error("phone_region = \"XX\"\n[columns]\nid = { identifier = \"user_id\" }").message(),
      HasSubstr("phone_region"));
  EXPECT_THAT(parse_error("kind = \"records\"\n[columns\n").message(), HasSubstr("m.toml: line"));
}

}  // namespace
}  // namespace cdp::importer
