// Fuzz target for what activation parses: any bytes as a destination definition (the admin
// API's JSON), as a Retry-After header from a destination, and as an event selected and mapped
// for a destination and as a message for the warehouse. Never crashes; an accepted definition
// prints to JSON that parses back to the same definition; a mapped message is JSON; warehouse
// rows have only safe column names, one cell per column, and no NUL in their values.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "activation/destination.h"
#include "activation/selection.h"
#include "activation/warehouse_rows.h"
#include "activation/webhook_sender.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  thread_local cdp::ingest::JsonParser parser;

  auto spec = cdp::activation::parse_destination_text("fuzz", text);
  if (spec) {
    const auto json = cdp::activation::destination_json(*spec, true);
    auto again = cdp::activation::parse_destination_text("fuzz", json);
    if (!again || cdp::activation::destination_json(*again, true) != json) std::abort();
  }

  if (auto delay = cdp::activation::parse_retry_after(text, 1'700'000'000'000);
      delay && *delay < 0) {
    std::abort();
  }

  static const auto mapped = *cdp::activation::parse_destination_text(
      "crm", R"({"type":"webhook","url":"http://x/","events":{"where":"property.total > 1"},
        "consent_categories":["Advertising"],
        "mapping":{"user":"userId","total":"properties.total","ctx":"context"}})");
  const cdp::storage::RawLogRecord record{1, "web", 0, std::string(text)};
  if (auto message = cdp::activation::select_event(mapped, record, parser)) {
    if (!parser.parse(message->json)) std::abort();
  }

  if (auto rows = cdp::activation::message_rows(text, parser)) {
    for (const auto& row : rows->rows) {
      if (row.table.empty() || row.table.find_first_not_of(
                                   "abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
        std::abort();
      }
      std::set<std::string_view> columns;
      for (const auto& cell : row.cells) {
        if (cell.column.empty() || cell.column.size() > 63 ||
            cell.column.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") !=
                std::string::npos ||
            !columns.insert(cell.column).second || cell.value.find('\0') != std::string::npos) {
          std::abort();
        }
      }
    }
  }
  return 0;
}
