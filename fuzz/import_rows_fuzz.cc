// Fuzz target for file imports: any bytes, read as CSV (UTF-8 or Latin-1) or JSON Lines through
// a mapping with every value type, either fail as a whole file or give rows that are each an
// event or a list of problems, never a crash. Every event is a JSON object that the ingest
// parser accepts, and every problem has a reason. A quarter of the inputs are parsed as a
// mapping file instead (the admin API takes mappings from clients): refused with a message, or
// a mapping with an identifier column.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "importer/mapping.h"
#include "importer/row_converter.h"
#include "importer/row_reader.h"
#include "ingest/json_tree.h"

namespace {

const cdp::importer::ImportMapping& mapping_for(int variant) {
  static const std::string kText = R"(
    source = "fuzz"
    [columns]
    id = { identifier = "user_id" }
    email = { identifier = "email" }
    phone = { identifier = "phone" }
    crm = { identifier = "crm_id" }
    first = { trait = "first", type = "name" }
    dob = { trait = "dob", type = "date" }
    born = { trait = "born", type = "date", format = "%d/%m/%Y" }
    at = { timestamp = true }
    n = { trait = "n", type = "number" }
    i = { trait = "i", type = "integer" }
    b = { trait = "b", type = "boolean" }
    zip = { trait = "zip", type = "postcode" }
  )";
  static const cdp::importer::ImportMapping kCsv = [] {
    auto parsed = cdp::importer::ImportMapping::parse_toml("format = \"csv\"\n" + kText, "fuzz");
    if (!parsed) std::abort();
    return *parsed;
  }();
  static const cdp::importer::ImportMapping kLatin1 = [] {
    auto parsed = cdp::importer::ImportMapping::parse_toml(
        "format = \"csv\"\nencoding = \"latin-1\"\n" + kText, "fuzz");
    if (!parsed) std::abort();
    return *parsed;
  }();
  static const cdp::importer::ImportMapping kJsonLines = [] {
    auto parsed = cdp::importer::ImportMapping::parse_toml(
        "format = \"jsonl\"\n" + kText + "raw = { trait = \"raw\", type = \"json\" }\n", "fuzz");
    if (!parsed) std::abort();
    return *parsed;
  }();
  return variant == 0 ? kCsv : variant == 1 ? kLatin1 : kJsonLines;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 4 == 3) {
    auto parsed = cdp::importer::ImportMapping::parse_toml(input, "fuzz");
    if (!parsed) {
      if (parsed.status().message().empty()) std::abort();
      return 0;
    }
    bool identifier = false;
    for (const auto& column : parsed->columns) {
      identifier = identifier || column.role == cdp::importer::ColumnRole::kIdentifier;
    }
    if (!identifier) std::abort();
    return 0;
  }
  const auto& mapping = mapping_for(data[0] % 3);
  cdp::importer::RowConverter converter(mapping, {"0123456789abcdef", 1714557600000, 32 * 1024});
  cdp::importer::RowEvent event;
  std::vector<cdp::importer::RowProblem> problems;
  cdp::ingest::JsonParser parser;
  (void)cdp::importer::RowReader::read_bytes(
      input, "fuzz", mapping, [&](const cdp::importer::Row& row) {
        if (converter.convert(row, event, problems)) {
          auto root = parser.parse(event.json);
          if (!root || !(*root)->is_object() || event.message_id.empty()) std::abort();
        } else {
          if (problems.empty()) std::abort();
          for (const auto& problem : problems) {
            if (problem.reason.empty()) std::abort();
          }
        }
        return true;
      });
  return 0;
}
