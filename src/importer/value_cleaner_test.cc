#include "importer/value_cleaner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cdp::importer {
namespace {

using ::testing::HasSubstr;

class ValueCleanerTest : public ::testing::Test {
 protected:
  // The cleaned JSON, "<missing>", or "error: <reason>".
  std::string clean(ValueType type, std::string text, std::string format = "",
                    Cell::Kind kind = Cell::Kind::kText) {
    ColumnMapping column;
    column.column = "c";
    column.type = type;
    column.format = std::move(format);
    auto cleaned = cleaner_.clean(Cell{kind, std::move(text)}, column);
    if (!cleaned) return "error: " + cleaned.status().message();
    return cleaned->value_or("<missing>");
  }
  ValueCleaner cleaner_{"US"};
};

TEST_F(ValueCleanerTest, EmptyValuesAreMissingWhateverTheType) {
  for (auto type : {ValueType::kString, ValueType::kNumber, ValueType::kEmail, ValueType::kDate}) {
    EXPECT_EQ(clean(type, "   "), "<missing>");
  }
  EXPECT_EQ(clean(ValueType::kNumber, "null", "", Cell::Kind::kScalar), "<missing>");
}

TEST_F(ValueCleanerTest, StringsAreTrimmedAndComposedToNfc) {
  EXPECT_EQ(clean(ValueType::kString, "  Jose\xCC\x81 "), "\"Jos\xC3\xA9\"");
  EXPECT_THAT(clean(ValueType::kString, "\xFF\xFE"), HasSubstr("not valid UTF-8"));
}

TEST_F(ValueCleanerTest, NumbersIntegersAndBooleans) {
  EXPECT_EQ(clean(ValueType::kNumber, " 12.50 "), "12.50");
  EXPECT_EQ(clean(ValueType::kNumber, "-3e2"), "-3e2");
  EXPECT_THAT(clean(ValueType::kNumber, "1,200"), HasSubstr("is not a number"));
  EXPECT_THAT(clean(ValueType::kNumber, "NaN"), HasSubstr("is not a number"));
  EXPECT_EQ(clean(ValueType::kInteger, "+42"), "42");
  EXPECT_THAT(clean(ValueType::kInteger, "4.2"), HasSubstr("whole number"));
  EXPECT_EQ(clean(ValueType::kBoolean, "Yes"), "true");
  EXPECT_EQ(clean(ValueType::kBoolean, "0"), "false");
  EXPECT_THAT(clean(ValueType::kBoolean, "maybe"), HasSubstr("true or false"));
}

TEST_F(ValueCleanerTest, DatesInIsoCompactOrDeclaredFormatsAndOnlyRealOnes) {
  EXPECT_EQ(clean(ValueType::kDate, "1984-03-07"), "\"1984-03-07\"");
  EXPECT_EQ(clean(ValueType::kDate, "1984/03/07"), "\"1984-03-07\"");
  EXPECT_EQ(clean(ValueType::kDate, "19840307"), "\"1984-03-07\"");
  EXPECT_EQ(clean(ValueType::kDate, "1984-03-07T10:00:00Z"), "\"1984-03-07\"");
  EXPECT_EQ(clean(ValueType::kDate, "07/03/1984", "%d/%m/%Y"), "\"1984-03-07\"");
  EXPECT_THAT(clean(ValueType::kDate, "2023-02-29"), HasSubstr("not a calendar date"));
  EXPECT_EQ(clean(ValueType::kDate, "2024-02-29"), "\"2024-02-29\"") << "a leap day";
  EXPECT_THAT(clean(ValueType::kDate, "03/07/1984"), HasSubstr("YYYY-MM-DD"));
  EXPECT_THAT(clean(ValueType::kDate, "1984-03-07", "%d/%m/%Y"), HasSubstr("%d/%m/%Y"));
}

TEST_F(ValueCleanerTest, TimestampsFromIsoUnixSecondsUnixMillisecondsOrAFormat) {
  EXPECT_EQ(clean(ValueType::kTimestamp, "2024-05-01T12:30:00+02:00"),
            "\"2024-05-01T10:30:00.000Z\"");
  EXPECT_EQ(clean(ValueType::kTimestamp, "1714566600"), "\"2024-05-01T12:30:00.000Z\"");
  EXPECT_EQ(clean(ValueType::kTimestamp, "1714566600123"), "\"2024-05-01T12:30:00.123Z\"");
  EXPECT_EQ(clean(ValueType::kTimestamp, "01.05.2024 12:30", "%d.%m.%Y %H:%M"),
            "\"2024-05-01T12:30:00.000Z\"");
  EXPECT_THAT(clean(ValueType::kTimestamp, "yesterday"), HasSubstr("ISO 8601"));
}

TEST_F(ValueCleanerTest, EmailsAreLowerCasedAndMustLookLikeAddresses) {
  EXPECT_EQ(clean(ValueType::kEmail, " Jane.Doe@Example.COM "), "\"jane.doe@example.com\"");
  for (const char* bad : {"jane", "jane@", "@example.com", "jane@example", "a@b@c.com",
                          "jane doe@example.com", "jane@example..com"}) {
    EXPECT_THAT(clean(ValueType::kEmail, bad), HasSubstr("not an email address")) << bad;
  }
}

TEST_F(ValueCleanerTest, PhonesBecomeE164InTheDefaultRegion) {
  EXPECT_EQ(clean(ValueType::kPhone, "(415) 555-0132"), "\"+14155550132\"");
  EXPECT_EQ(clean(ValueType::kPhone, "+44 20 7946 0958"), "\"+442079460958\"");
  EXPECT_THAT(clean(ValueType::kPhone, "call me"), HasSubstr("region US"));
}

TEST_F(ValueCleanerTest, NamesAreTitleCasedOnlyWhenWrittenInOneCase) {
  EXPECT_EQ(clean(ValueType::kName, "  JOHN   O'BRIEN "), "\"John O'Brien\"");
  EXPECT_EQ(clean(ValueType::kName, "mary-jane"), "\"Mary-Jane\"");
  EXPECT_EQ(clean(ValueType::kName, "McDonald"), "\"McDonald\"") << "mixed case is kept";
  EXPECT_THAT(clean(ValueType::kName, "R2D2"), HasSubstr("digits"));
  EXPECT_THAT(clean(ValueType::kName, "--"), HasSubstr("no letters"));
}

TEST_F(ValueCleanerTest, PostcodesAreUpperCasedWithSingleSpaces) {
  EXPECT_EQ(clean(ValueType::kPostcode, " sw1a   1aa "), "\"SW1A 1AA\"");
  EXPECT_EQ(clean(ValueType::kPostcode, "94103-1234"), "\"94103-1234\"");
  EXPECT_THAT(clean(ValueType::kPostcode, "12#4"), HasSubstr("not a postcode"));
  EXPECT_THAT(clean(ValueType::kPostcode, "1"), HasSubstr("2 to 10"));
}

TEST_F(ValueCleanerTest, JsonValuesPassOnlyIntoJsonColumns) {
  EXPECT_EQ(clean(ValueType::kJson, "{\"a\":1}", "", Cell::Kind::kComposite), "{\"a\":1}");
  EXPECT_EQ(clean(ValueType::kJson, "12", "", Cell::Kind::kScalar), "12");
  EXPECT_EQ(clean(ValueType::kJson, "x", "", Cell::Kind::kText), "\"x\"");
  EXPECT_THAT(clean(ValueType::kNumber, "[1]", "", Cell::Kind::kComposite),
              HasSubstr("type = \"json\""));
}

}  // namespace
}  // namespace cdp::importer
