#include "match/comparison.h"

#include <gtest/gtest.h>

#include <array>

#include "match/nicknames.h"

namespace cdp::match {
namespace {

RecordTable people(std::initializer_list<std::array<std::string_view, 5>> rows) {
  RecordTable table({{"first", FieldKind::kFirstName},
                     {"last", FieldKind::kSurname},
                     {"dob", FieldKind::kDate},
                     {"email", FieldKind::kEmail},
                     {"zip", FieldKind::kPostcode}});
  for (const auto& row : rows) table.add(row);
  table.finish();
  return table;
}

std::string level(const RecordTable& table, size_t column, uint32_t a, uint32_t b) {
  const Comparison comparison = default_comparison(table, column);
  return comparison.level_label(comparison.evaluate(table, a, b));
}

TEST(NicknamesTest, FormalNamesAndDiminutivesShareAGroup) {
  EXPECT_TRUE(Nicknames::same_name("bob", "robert"));
  EXPECT_TRUE(Nicknames::same_name("liz", "elizabeth"));
  EXPECT_TRUE(Nicknames::same_name("chris", "christina"));
  EXPECT_TRUE(Nicknames::same_name("chris", "christopher"));
  EXPECT_FALSE(Nicknames::same_name("christopher", "christina"));
  EXPECT_FALSE(Nicknames::same_name("bob", "william"));
  EXPECT_TRUE(Nicknames::groups("zzyzx").empty());
}

TEST(ComparisonTest, FirstNamesGoThroughExactNicknameSimilarAndSwapped) {
  const auto table = people({{"Robert", "Smith", "", "", ""},
                             {"robert", "Smith", "", "", ""},
                             {"Bob", "Smith", "", "", ""},
                             {"Roberta", "Smith", "", "", ""},
                             {"Smith", "Robert", "", "", ""},
                             {"Xavier", "Smith", "", "", ""},
                             {"", "Smith", "", "", ""}});
  EXPECT_EQ(level(table, 0, 0, 1), "exact");
  EXPECT_EQ(level(table, 0, 0, 2), "nickname");
  EXPECT_EQ(level(table, 0, 0, 3), "jaro_winkler >= 0.92");
  EXPECT_EQ(level(table, 0, 0, 4), "swapped_names >= 0.92");
  EXPECT_EQ(level(table, 0, 0, 5), "else");
  EXPECT_EQ(level(table, 0, 0, 6), "missing");
}

TEST(ComparisonTest, DatesCompareByTypoThenDaysApart) {
  const auto table = people({{"", "", "1956-04-09", "", ""},
                             {"", "", "19560409", "", ""},
                             {"", "", "1965-04-09", "", ""},
                             {"", "", "1956-05-01", "", ""},
                             {"", "", "1957-01-01", "", ""},
                             {"", "", "1990-01-01", "", ""},
                             {"", "", "-0050-01-0", "", ""}});
  EXPECT_EQ(level(table, 2, 0, 1), "exact");
  EXPECT_EQ(level(table, 2, 0, 2), "damerau_levenshtein <= 1");
  EXPECT_EQ(level(table, 2, 0, 3), "days_apart <= 31");
  EXPECT_EQ(level(table, 2, 0, 4), "days_apart <= 366");
  EXPECT_EQ(level(table, 2, 0, 5), "else");
  EXPECT_EQ(level(table, 2, 0, 6), "else");  // not a date: compared as text only
}

TEST(ComparisonTest, EmailsCompareTheirLocalParts) {
  const auto table = people({{"", "", "", "Jane.Doe@Example.com", ""},
                             {"", "", "", "jane.doe@example.com", ""},
                             {"", "", "", "jane.doe@gmail.com", ""},
                             {"", "", "", "jane.doe2@example.org", ""},
                             {"", "", "", "zed@other.net", ""},
                             {"", "", "", "not an email", ""}});
  EXPECT_EQ(level(table, 3, 0, 1), "exact");
  EXPECT_EQ(level(table, 3, 0, 2), "email_user >= 1");
  EXPECT_EQ(level(table, 3, 0, 3), "jaro_winkler >= 0.88");
  EXPECT_EQ(level(table, 3, 0, 4), "else");
  EXPECT_EQ(level(table, 3, 0, 5), "missing");
}

TEST(ComparisonTest, PostcodesCompareByTypoThenDistrict) {
  const auto table = people({{"", "", "", "", "TQ13 8DF"},
                             {"", "", "", "", "tq138df"},
                             {"", "", "", "", "TQ13 8FD"},
                             {"", "", "", "", "TQ1 1AA"},
                             {"", "", "", "", "SW1A 1AA"}});
  EXPECT_EQ(level(table, 4, 0, 1), "exact");
  EXPECT_EQ(level(table, 4, 0, 2), "damerau_levenshtein <= 1");
  EXPECT_EQ(level(table, 4, 0, 3), "prefix = 3");
  EXPECT_EQ(level(table, 4, 0, 4), "else");
}

TEST(ComparisonTest, FullNamesIgnoreWordOrder) {
  RecordTable table({{"name", FieldKind::kFullName}});
  for (std::string_view name : {"John Smith", "Smith, John", "John A. Smith", "Mary Jones"}) {
    table.add(std::array{name});
  }
  table.finish();
  EXPECT_EQ(level(table, 0, 0, 1), "same_words");
  EXPECT_EQ(level(table, 0, 0, 2), "jaro_winkler >= 0.92");
  EXPECT_EQ(level(table, 0, 0, 3), "else");
}

TEST(ComparisonTest, NumbersCompareByTypoThenRelativeDifference) {
  RecordTable table({{"amount", FieldKind::kNumber}});
  for (std::string_view amount : {"100", "100", "109", "1000", "105.5", "abc"}) {
    table.add(std::array{amount});
  }
  table.finish();
  EXPECT_EQ(level(table, 0, 0, 1), "exact");
  EXPECT_EQ(level(table, 0, 0, 2), "damerau_levenshtein <= 1");
  EXPECT_EQ(level(table, 0, 0, 3), "damerau_levenshtein <= 1");  // one inserted digit
  EXPECT_EQ(level(table, 0, 0, 4), "relative_difference <= 0.1");
  EXPECT_EQ(level(table, 0, 0, 5), "else");
}

TEST(ComparisonTest, LevelLabelsParseBackToTheSameLevel) {
  const auto table = people({{"a", "b", "", "", ""}});
  for (size_t column = 0; column < table.column_count(); ++column) {
    for (const Level& level : default_comparison(table, column).levels) {
      auto parsed = parse_level(level.label());
      ASSERT_TRUE(parsed.has_value()) << level.label();
      EXPECT_EQ(parsed->kind, level.kind);
      EXPECT_EQ(parsed->threshold, level.threshold);
    }
  }
  EXPECT_FALSE(parse_level("jaro_winkler").has_value());
  EXPECT_FALSE(parse_level("jaro_winkler >= x").has_value());
  EXPECT_FALSE(parse_level("exact 1").has_value());
  auto unknown = parse_level("soundex");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.status().message().find("jaro_winkler >= N"), std::string::npos);
}

TEST(FieldNormalizerTest, PlaceholdersAreMissingAndTextIsFolded) {
  FieldNormalizer normalizer;
  EXPECT_EQ(normalizer.normalize(FieldKind::kSurname, "  O'Brien-Smith ").text, "o brien smith");
  EXPECT_EQ(normalizer.normalize(FieldKind::kFirstName, "José").text, "jose");
  EXPECT_EQ(normalizer.normalize(FieldKind::kFirstName, "NULL").text, "");
  EXPECT_EQ(normalizer.normalize(FieldKind::kPlace, "n/a").text, "");
  EXPECT_EQ(normalizer.normalize(FieldKind::kAddress, "12 Main Street").text, "12 main st");
  EXPECT_EQ(normalizer.normalize(FieldKind::kPhone, "(415) 555-0132").text, "+14155550132");
  EXPECT_EQ(normalizer.normalize(FieldKind::kDate, "09/04/1956").text, "19560409");
  EXPECT_EQ(normalizer.normalize(FieldKind::kDate, "19371233").day, NormalizedValue::kNoDay);
  EXPECT_EQ(normalizer.normalize(FieldKind::kDate, "1970-01-02").day, 1);
}

}  // namespace
}  // namespace cdp::match
