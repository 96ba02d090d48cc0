#include "common/time_format.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

namespace cdp {
namespace {

// 2024-05-01T12:30:00Z in milliseconds since the epoch.
constexpr int64_t kMay1Noon30 = 1714566600000;

TEST(ParseIso8601Test, UtcWithMillisecondsAndZ) {
  EXPECT_EQ(parse_iso8601_ms("2024-05-01T12:30:00.123Z"), kMay1Noon30 + 123);
  EXPECT_EQ(parse_iso8601_ms("2024-05-01t12:30:00.123z"), kMay1Noon30 + 123);
}

TEST(ParseIso8601Test, EpochIsZero) {
  EXPECT_EQ(parse_iso8601_ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_iso8601_ms("1970-01-01"), 0);
}

TEST(ParseIso8601Test, MissingZoneMeansUtc) {
  EXPECT_EQ(parse_iso8601_ms("2024-05-01T12:30:00"), kMay1Noon30);
}

TEST(ParseIso8601Test, SecondsAreOptional) {
  EXPECT_EQ(parse_iso8601_ms("2024-05-01T12:30Z"), kMay1Noon30);
}

TEST(ParseIso8601Test, PositiveOffsetIsSubtracted) {
  // 14:30 at +02:00 is 12:30 UTC.
  EXPECT_EQ(parse_iso8601_ms("2024-05-01T14:30:00+02:00"), kMay1Noon30);
  EXPECT_EQ(parse_iso8601_ms("2024-05-01T14:30:00+0200"), kMay1Noon30);
  EXPECT_EQ(parse_iso8601_ms("2024-05-01T14:30:00.500+02:00"), kMay1Noon30 + 500);
}

TEST(ParseIso8601Test, NegativeOffsetWithMinutesIsAdded) {
  // 07:00 at -05:30 is 12:30 UTC.
  EXPECT_EQ(parse_iso8601_ms("2024-05-01T07:00:00-0530"), kMay1Noon30);
  EXPECT_EQ(parse_iso8601_ms("2024-05-01T07:00:00-05:30"), kMay1Noon30);
}

TEST(ParseIso8601Test, OffsetMayBeHoursOnly) {
  EXPECT_EQ(parse_iso8601_ms("2024-05-01T14:30:00+02"), kMay1Noon30);
}

TEST(ParseIso8601Test, OffsetCanCrossMidnight) {
  EXPECT_EQ(parse_iso8601_ms("2024-05-02T01:30:00+13:00"), kMay1Noon30);
}

TEST(ParseIso8601Test, FractionsOfOneToNineDigitsAreScaledOrTruncatedToMilliseconds) {
  const struct {
    const char* text;
    int64_t millis;
  } cases[] = {
      {"2024-05-01T12:30:00.1Z", 100},         {"2024-05-01T12:30:00.12Z", 120},
      {"2024-05-01T12:30:00.123Z", 123},       {"2024-05-01T12:30:00.1234Z", 123},
      {"2024-05-01T12:30:00.12345Z", 123},     {"2024-05-01T12:30:00.123456Z", 123},
      {"2024-05-01T12:30:00.1234567Z", 123},   {"2024-05-01T12:30:00.12345678Z", 123},
      {"2024-05-01T12:30:00.999999999Z", 999}, {"2024-05-01T12:30:00.000000001Z", 0},
      {"2024-05-01T12:30:00,5Z", 500},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(parse_iso8601_ms(c.text), kMay1Noon30 + c.millis) << c.text;
  }
}

TEST(ParseIso8601Test, DateOnlyIsMidnightUtc) {
  EXPECT_EQ(parse_iso8601_ms("2024-05-01"), kMay1Noon30 - (12 * 3600 + 30 * 60) * 1000LL);
}

TEST(ParseIso8601Test, SpaceSeparatorIsAccepted) {
  EXPECT_EQ(parse_iso8601_ms("2024-05-01 12:30:00"), kMay1Noon30);
  EXPECT_EQ(parse_iso8601_ms("2024-05-01 12:30:00.123Z"), kMay1Noon30 + 123);
}

TEST(ParseIso8601Test, LeapDayIsValidOnlyInLeapYears) {
  EXPECT_TRUE(parse_iso8601_ms("2024-02-29T00:00:00Z").has_value());
  EXPECT_TRUE(parse_iso8601_ms("2000-02-29").has_value());
  EXPECT_FALSE(parse_iso8601_ms("2023-02-29").has_value());
  EXPECT_FALSE(parse_iso8601_ms("1900-02-29").has_value());
}

TEST(ParseIso8601Test, PreEpochDatesAreNegative) {
  EXPECT_EQ(parse_iso8601_ms("1969-12-31T23:59:59Z"), -1000);
  EXPECT_EQ(parse_iso8601_ms("1969-12-31T23:59:59.500Z"), -500);
  EXPECT_EQ(parse_iso8601_ms("1969-12-31"), -86400000);
  // 1900-01-01 is 25567 days before the epoch.
  EXPECT_EQ(parse_iso8601_ms("1900-01-01T00:00:00Z"), -25567LL * 86400000);
}

TEST(ParseIso8601Test, RejectsInvalidDatesAndTimes) {
  const char* invalid[] = {
      "",
      "2024",
      "2024-05",
      "2024-13-01",
      "2024-00-10",
      "2024-02-30",
      "2024-04-31",
      "2024-05-00",
      "2024-05-01T24:00:00Z",
      "2024-05-01T12:60:00Z",
      "2024-05-01T12:30:61Z",
      "2024-05-01T12",
      "2024-05-01T",
      "2024-05-01T12:30:00.Z",
      "2024-05-01T12:30:00+2",
      "2024-05-01T12:30:00+02:",
      "2024-05-01T12:30:00+02:3",
      "2024-05-01T12:30:00+24:00",
      "2024-05-01T12:30:00+02:60",
      "24-05-01",
      "2024/05/01",
      "2024-5-1",
      "abcd-ef-gh",
      "2024-05-01Tab:cd:efZ",
      "yesterday",
      "1714566600000",
  };
  for (const char* text : invalid) {
    EXPECT_EQ(parse_iso8601_ms(text), std::nullopt) << text;
  }
}

TEST(ParseIso8601Test, RejectsTrailingJunk) {
  const char* invalid[] = {
      "2024-05-01x",          "2024-05-01T12:30:00Zjunk",   "2024-05-01T12:30:00Z ",
      "2024-05-01T12:30:00 ", "2024-05-01T12:30:00+02:00x", "2024-05-01T12:30:00.123 Z",
      "2024-05-01T12:30:00Q",
  };
  for (const char* text : invalid) {
    EXPECT_EQ(parse_iso8601_ms(text), std::nullopt) << text;
  }
}

TEST(FormatIso8601Test, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(format_iso8601_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_iso8601_ms(kMay1Noon30 + 7), "2024-05-01T12:30:00.007Z");
  EXPECT_EQ(format_iso8601_ms(951782400000), "2000-02-29T00:00:00.000Z");
}

TEST(FormatIso8601Test, FormatsPreEpochTimes) {
  EXPECT_EQ(format_iso8601_ms(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_iso8601_ms(-500), "1969-12-31T23:59:59.500Z");
  EXPECT_EQ(format_iso8601_ms(-86400000), "1969-12-31T00:00:00.000Z");
  EXPECT_EQ(format_iso8601_ms(-86400001), "1969-12-30T23:59:59.999Z");
  EXPECT_EQ(format_iso8601_ms(-25567LL * 86400000), "1900-01-01T00:00:00.000Z");
}

TEST(FormatIso8601Test, FormatThenParseRoundTrips) {
  const int64_t samples[] = {0,
                             1,
                             -1,
                             999,
                             -999,
                             -86400000,
                             -86400001,
                             kMay1Noon30 + 123,
                             951782400000,      // 2000-02-29
                             4102444799999,     // 2099-12-31T23:59:59.999Z
                             -2208988800000,    // 1900-01-01
                             253402300799999};  // 9999-12-31T23:59:59.999Z
  for (int64_t ms : samples) {
    const std::string text = format_iso8601_ms(ms);
    EXPECT_EQ(parse_iso8601_ms(text), ms) << text;
  }
  // A walk over a few years in odd steps, to hit many month and day boundaries.
  for (int64_t ms = -3LL * 365 * 86400000; ms < 3LL * 365 * 86400000;
       ms += 86400000LL * 7 + 3600007) {
    const std::string text = format_iso8601_ms(ms);
    ASSERT_EQ(parse_iso8601_ms(text), ms) << text;
  }
}

}  // namespace
}  // namespace cdp
