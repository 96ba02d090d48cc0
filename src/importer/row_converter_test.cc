#include "importer/row_converter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "importer/row_reader.h"

namespace cdp::importer {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

ImportMapping mapping(std::string_view toml) {
  auto parsed = ImportMapping::parse_toml(toml, "test");
  EXPECT_TRUE(parsed.has_value()) << parsed.status().message();
  return parsed ? *parsed : ImportMapping{};
}

const char* kRecords = R"(
  source = "crm"
  [columns]
  id = { identifier = "user_id" }
  email = { identifier = "email" }
  loyalty = { identifier = "loyalty_number" }
  name = { trait = "firstName", type = "name" }
  dob = { trait = "birthday", type = "date", required = true }
  updated = { timestamp = true }
)";

struct Converted {
  std::vector<std::string> events;                        // one per accepted row
  std::vector<std::pair<uint64_t, RowProblem>> problems;  // per quarantined column
};

Converted convert(const ImportMapping& m, std::string_view file, std::string_view name,
                  Status* file_status = nullptr) {
  Converted out;
  RowConverter converter(m, {"abcdef0123456789", 1714557600000, 32 * 1024});
  RowEvent event;
  std::vector<RowProblem> problems;
  auto shape = RowReader::read_bytes(file, name, m, [&](const Row& row) {
    if (converter.convert(row, event, problems)) {
      out.events.push_back(event.json);
    } else {
      for (auto& problem : problems) out.problems.emplace_back(row.number, problem);
    }
    return true;
  });
  if (file_status != nullptr) *file_status = shape ? Status::ok() : shape.status();
  return out;
}

TEST(RowConverterTest, ARecordRowBecomesAnIdentifyWithIdentifiersInTheirSegmentPlaces) {
  const auto m = mapping(kRecords);
  auto out = convert(m,
                     "id,email,loyalty,name,dob,updated,ignored\n"
                     "42, Jane@Example.com ,L-7,JANE,1984-03-07,2024-05-01T08:00:00Z,x\n",
                     "people.csv");
  ASSERT_THAT(out.problems, IsEmpty());
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0],
            R"({"type":"identify","traits":{"email":"jane@example.com","firstName":"Jane",)"
            R"("birthday":"1984-03-07"},"messageId":"import-abcdef0123456789-2","userId":"42",)"
            R"("context":{"library":{"name":"cdp-import"},"externalIds":[{"id":"L-7",)"
            R"("type":"loyalty_number","collection":"users","encoding":"none"}]},)"
            R"("timestamp":"2024-05-01T08:00:00.000Z","receivedAt":"2024-05-01T10:00:00.000Z"})");
}

TEST(RowConverterTest, EveryFailingColumnOfARowIsReportedWithItsValueAndReason) {
  const auto m = mapping(kRecords);
  auto out = convert(m,
                     "id,email,loyalty,name,dob,updated\n"
                     "1,not-an-email,,Ann,,2024-05-01\n"
                     ",,,Bob,1990-01-01,\n"
                     "3,c@example.com,,Cy,1990-02-30,\n"
                     "4,d@example.com,,Di,1990-01-01\n",
                     "people.csv");
  EXPECT_THAT(out.events, IsEmpty());
  ASSERT_EQ(out.problems.size(), 5u);
  EXPECT_EQ(out.problems[0].first, 2u) << "rows are numbered as in a spreadsheet";
  EXPECT_EQ(out.problems[0].second.column, "email");
  EXPECT_EQ(out.problems[0].second.value, "not-an-email");
  EXPECT_THAT(out.problems[0].second.reason, HasSubstr("not an email address"));
  EXPECT_EQ(out.problems[1].second.column, "dob");
  EXPECT_THAT(out.problems[1].second.reason, HasSubstr("required"));
  EXPECT_EQ(out.problems[2].first, 3u);
  EXPECT_THAT(out.problems[2].second.reason, HasSubstr("no identifier value"));
  EXPECT_EQ(out.problems[3].second.column, "dob");
  EXPECT_THAT(out.problems[3].second.reason, HasSubstr("calendar date"));
  EXPECT_EQ(out.problems[4].first, 5u);
  EXPECT_THAT(out.problems[4].second.reason, HasSubstr("5 fields where the header has 6"));
}

TEST(RowConverterTest, EventRowsBecomeTracksWithPropertiesAndAMessageIdColumn) {
  const auto m = mapping(R"(
    kind = "events"
    event = "Order Completed"
    [columns]
    customer = { identifier = "user_id" }
    order = { message_id = true }
    total = { property = "revenue", type = "number" }
    tier = { trait = "tier" }
    at = { timestamp = true }
  )");
  auto out = convert(m,
                     "{\"customer\":7,\"order\":\"o-1\",\"total\":19.5,\"tier\":\"gold\","
                     "\"at\":1714557600}\n"
                     "\n"
                     "not json\n"
                     "{\"customer\":8,\"total\":{\"a\":1}}\n",
                     "orders.jsonl");
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0],
            R"({"type":"track","event":"Order Completed","properties":{"revenue":19.5},)"
            R"("messageId":"o-1","userId":"7","context":{"library":{"name":"cdp-import"},)"
            R"("traits":{"tier":"gold"}},"timestamp":"2024-05-01T10:00:00.000Z",)"
            R"("receivedAt":"2024-05-01T10:00:00.000Z"})");
  ASSERT_EQ(out.problems.size(), 2u);
  EXPECT_EQ(out.problems[0].first, 3u) << "JSON Lines rows are line numbers; blank lines count";
  EXPECT_THAT(out.problems[0].second.reason, HasSubstr("is not JSON"));
  EXPECT_EQ(out.problems[1].second.column, "total");
}

TEST(RowConverterTest, AFileThatCannotBeReadAsAWholeIsAnErrorNotQuarantinedRows) {
  const auto m = mapping(kRecords);
  Status status;
  convert(m, "id,email,name\n1,a@b.co,Ann\n", "people.csv", &status);
  EXPECT_THAT(status.message(),
              HasSubstr("columns \"loyalty\", \"dob\", \"updated\" are not in the file's header"));
  convert(m, "id,email,loyalty,name,dob,updated\n1,\"a@b.co,,Ann,1990-01-01,\n", "p.csv", &status);
  EXPECT_FALSE(status.is_ok()) << "an unterminated quote";
  convert(m, "", "p.csv", &status);
  EXPECT_THAT(status.message(), HasSubstr("empty"));
}

TEST(RowConverterTest, Latin1FilesAreReadWhenDeclared) {
  auto m = mapping(std::string(kRecords) + "\n");
  m.latin1 = true;
  auto out = convert(m, "id,email,loyalty,name,dob,updated\n1,,,Jos\xE9,1990-01-01,\n", "p.csv");
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_THAT(out.events[0], HasSubstr("\"firstName\":\"Jos\xC3\xA9\""));
}

TEST(RowReaderTest, FormatComesFromTheMappingTheExtensionOrTheFirstByte) {
  ImportMapping m;
  EXPECT_EQ(RowReader::detect_format(m, "a.CSV", "{"), FileFormat::kCsv);
  EXPECT_EQ(RowReader::detect_format(m, "a.ndjson", "id"), FileFormat::kJsonLines);
  EXPECT_EQ(RowReader::detect_format(m, "drop", "  {\"a\":1}"), FileFormat::kJsonLines);
  EXPECT_EQ(RowReader::detect_format(m, "drop", "id,name"), FileFormat::kCsv);
  m.format = FileFormat::kCsv;
  EXPECT_EQ(RowReader::detect_format(m, "a.jsonl", "{"), FileFormat::kCsv);
}

TEST(RowReaderTest, UnmappedCsvColumnsAreReported) {
  const auto m = mapping("[columns]\nid = { identifier = \"user_id\" }\n");
  auto shape =
      RowReader::read_bytes("x,id,y\n1,2,3\n", "a.csv", m, [](const Row&) { return true; });
  ASSERT_TRUE(shape.has_value());
  EXPECT_THAT(shape->unmapped_columns, ElementsAre("x", "y"));
}

}  // namespace
}  // namespace cdp::importer
