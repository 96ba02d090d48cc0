#include "ingest/csv_reader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace cdp::ingest {
namespace {

using Rows = std::vector<std::vector<std::string>>;

Result<Rows> parse(std::string_view text, CsvReader::Options options = {}, size_t chunk = 7) {
  Rows rows;
  CsvReader reader(options, [&](uint64_t row, std::span<const std::string> fields) {
    EXPECT_EQ(row, rows.size() + 1);
    rows.emplace_back(fields.begin(), fields.end());
    return true;
  });
  for (size_t at = 0; at < text.size(); at += chunk) {
    CDP_RETURN_IF_ERROR(reader.feed(text.substr(at, chunk)));
  }
  CDP_RETURN_IF_ERROR(reader.finish());
  return rows;
}

TEST(CsvReaderTest, ReadsQuotedFieldsWithDelimitersQuotesAndLineBreaks) {
  auto rows = parse("name,note\r\n\"Smith, Jane\",\"said \"\"hi\"\"\"\r\nBob,\"two\nlines\"\r\n");
  ASSERT_TRUE(rows.has_value()) << rows.status().message();
  EXPECT_EQ(*rows, (Rows{{"name", "note"}, {"Smith, Jane", "said \"hi\""}, {"Bob", "two\nlines"}}));
}

TEST(CsvReaderTest, TrimsSpacesAroundUnquotedFieldsAndKeepsEmptyOnes) {
  auto rows = parse("rec_id, given_name, surname\nrec-1-org, mitchell, \nrec-2-org,,green");
  ASSERT_TRUE(rows.has_value());
  EXPECT_EQ(*rows, (Rows{{"rec_id", "given_name", "surname"},
                         {"rec-1-org", "mitchell", ""},
                         {"rec-2-org", "", "green"}}));
}

TEST(CsvReaderTest, DropsAByteOrderMarkAndConvertsLatin1) {
  for (size_t chunk : {1, 2, 100}) {  // the mark may arrive split over chunks
    auto utf8 = parse("\xEF\xBB\xBFname\nJos\xC3\xA9\n", {}, chunk);
    ASSERT_TRUE(utf8.has_value());
    EXPECT_EQ(*utf8, (Rows{{"name"}, {"Jos\xC3\xA9"}})) << "chunk " << chunk;
  }
  auto short_input = parse("\xEF\xBB", {}, 1);  // not a whole mark: kept as data
  ASSERT_TRUE(short_input.has_value());
  EXPECT_EQ(short_input->size(), 1U);
  CsvReader::Options latin1;
  latin1.encoding = CsvReader::Encoding::kLatin1;
  auto converted = parse("name\nJos\xE9\n", latin1);
  ASSERT_TRUE(converted.has_value());
  EXPECT_EQ(*converted, (Rows{{"name"}, {"Jos\xC3\xA9"}}));
}

TEST(CsvReaderTest, MalformedQuotingIsAnErrorNamingTheRow) {
  auto stray = parse("a,b\n1,2\n3,\"x\"y\n", {}, 100);
  ASSERT_FALSE(stray.has_value());
  EXPECT_NE(stray.status().message().find("row 3"), std::string::npos) << stray.status().message();
  auto unterminated = parse("a,b\n1,\"open\n", {}, 100);
  ASSERT_FALSE(unterminated.has_value());
  EXPECT_NE(unterminated.status().message().find("quoted field"), std::string::npos)
      << unterminated.status().message();
}

TEST(CsvReaderTest, OverlongFieldsAreRefused) {
  CsvReader::Options options;
  options.max_field_bytes = 8;
  auto rows = parse("a\n0123456789\n", options);
  ASSERT_FALSE(rows.has_value());
  EXPECT_NE(rows.status().message().find("longer than 8 bytes"), std::string::npos);
}

TEST(CsvReaderTest, AnUnterminatedQuoteStopsAtTheFieldLimitNotAtTheEndOfTheFile) {
  CsvReader::Options options;
  options.max_field_bytes = 64;
  auto rows = parse("a\n\"open" + std::string(1000, 'x') + "\n", options, 16);
  ASSERT_FALSE(rows.has_value());
  EXPECT_NE(rows.status().message().find("longer than 64 bytes"), std::string::npos)
      << rows.status().message();
  options.max_fields_per_row = 3;
  auto wide = parse("a,b,c,d\n", options);
  ASSERT_FALSE(wide.has_value());
  EXPECT_NE(wide.status().message().find("more than 3 fields"), std::string::npos);
}

TEST(CsvReaderTest, TheHandlerCanStopReading) {
  const auto path = std::filesystem::temp_directory_path() / "cdp_csv_reader_test.csv";
  std::ofstream(path) << "a\n1\n2\n3\n";
  int seen = 0;
  auto status = CsvReader::read_file(path.string(), {}, [&](uint64_t, auto) { return ++seen < 2; });
  EXPECT_TRUE(status.is_ok()) << status.message();
  EXPECT_EQ(seen, 2);
  EXPECT_FALSE(CsvReader::read_file("/nonexistent/file.csv", {}, [](uint64_t, auto) {
                 return true;
               }).is_ok());
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace cdp::ingest
