#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "importer/mapping.h"
#include "importer/row_reader.h"
#include "importer/value_cleaner.h"

namespace cdp::importer {

// Why a row went to quarantine: one entry per failing column (or one for the whole row, with an
// empty column).
struct RowProblem {
  std::string column;
  std::string value;  // as found, at most 200 bytes
  std::string reason;
};

// A row that passed: the event written for it, in the raw log's normalised form.
struct RowEvent {
  std::string message_id;
  std::string json;
};

// Turns the rows of one file into events for the raw log: records become identify calls, event
// rows track calls, each with the cleaned values where the mapping puts them (docs/import.md).
// Deterministic: the same file and mapping give the same events, so a resumed import writes what
// the interrupted one would have. Not thread-safe (it reuses buffers).
class RowConverter {
 public:
  struct Context {
    std::string file_key;        // names the file in messageIds ("import-<file_key>-<row>")
    int64_t received_at_ms = 0;  // receivedAt, and the timestamp of rows without one
    size_t max_event_bytes = 32 * 1024;
  };

  RowConverter(const ImportMapping& mapping, Context context);

  // The event for `row`, or every problem found in it (then `problems` is not empty).
  // REQUIRES: row.cells has one cell per mapping column.
  bool convert(const Row& row, RowEvent& event, std::vector<RowProblem>& problems);

 private:
  const ImportMapping& mapping_;
  Context context_;
  ValueCleaner cleaner_;
  std::vector<std::optional<std::string>> values_;
};

}  // namespace cdp::importer
