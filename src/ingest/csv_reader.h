#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cdp::ingest {

// Reads CSV as RFC 4180 describes it (quoted fields with embedded commas, quotes and line
// breaks; CRLF or LF), on libcsv. Input arrives in chunks of any size, so files of any size
// stream through in constant memory. Every field is handed over as UTF-8: Latin-1 input is
// converted when declared, and a UTF-8 byte-order mark is dropped. Spaces around unquoted
// fields are trimmed ("a, b" is "a" and "b"), as spreadsheets and most exporters expect.
//
// Lifecycle: feed() chunks, then finish(). Not thread-safe.
class CsvReader {
 public:
  enum class Encoding { kUtf8, kLatin1 };
  struct Options {
    char delimiter = ',';
    Encoding encoding = Encoding::kUtf8;
    size_t max_field_bytes = 1 << 20;  // a longer field is an error, not a memory blow-up
    size_t max_fields_per_row = 10'000;
  };

  // Called once per row; `row` counts rows from 1 (the header is row 1). Returns false to stop.
  using RowHandler = std::function<bool(uint64_t row, std::span<const std::string> fields)>;

  CsvReader(Options options, RowHandler handler);
  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // Errors name the row and what is wrong ("row 17: unterminated quoted field").
  Status feed(std::string_view chunk);
  Status finish();

  uint64_t rows() const { return rows_; }

  // Reads a whole file.
  static Status read_file(const std::string& path, Options options, RowHandler handler);

 private:
  static void on_field(void* data, size_t length, void* self);
  static void on_row(int terminator, void* self);
  Status check(const char* what);
  Status parse(std::string_view chunk);

  struct Parser;
  Options options_;
  RowHandler handler_;
  std::unique_ptr<Parser> parser_;
  std::vector<std::string> fields_;
  uint64_t rows_ = 0;
  bool stopped_ = false;
  bool started_ = false;  // a byte-order mark is looked for only at the start
  std::string head_;      // the first bytes, until they show whether they are a mark
  std::string error_;
};

}  // namespace cdp::ingest
