#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "importer/mapping.h"
#include "importer/value_cleaner.h"

namespace cdp::importer {

// One row of a file, with a cell per mapped column in the mapping's column order.
struct Row {
  uint64_t number = 0;  // CSV: the record's number, the header being 1; JSON Lines: the line
  std::span<const Cell> cells;
  std::string error;  // not empty: the row could not be read at all (a line that is not JSON)
};

// What reading found out about the file as a whole.
struct FileShape {
  FileFormat format = FileFormat::kCsv;
  std::vector<std::string> unmapped_columns;  // CSV header names no mapping column names
};

// Streams a file as rows of cells for a mapping's columns, in constant memory: CSV (RFC 4180,
// header row, UTF-8 or declared Latin-1) or JSON Lines (one object per line).
//
// A file that cannot be read as a whole (a mapped column missing from the CSV header, broken CSV
// quoting, an unreadable file) is an error naming the row; a JSON line that is not an object is
// a row with an error, and reading goes on.
class RowReader {
 public:
  using RowHandler = std::function<bool(const Row& row)>;  // false stops reading
  using ProgressHandler = std::function<void(uint64_t bytes_read)>;

  // Format from `mapping.format`, else the file name's extension (.csv, .tsv, .jsonl, .ndjson,
  // .json), else the first byte ('{' means JSON Lines).
  static FileFormat detect_format(const ImportMapping& mapping, std::string_view file_name,
                                  std::string_view first_bytes);

  static Result<FileShape> read(const std::string& path, std::string_view file_name,
                                const ImportMapping& mapping, const RowHandler& on_row,
                                const ProgressHandler& on_progress);

  // The same over bytes in memory (tests and the fuzz target).
  static Result<FileShape> read_bytes(std::string_view bytes, std::string_view file_name,
                                      const ImportMapping& mapping, const RowHandler& on_row);

  static constexpr size_t kMaxLineBytes = 1 << 20;
};

}  // namespace cdp::importer
