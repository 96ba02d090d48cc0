// Fuzz target for CsvReader: any bytes either parse or give an error, never crash; the rows do
// not depend on how the input is split into chunks; Latin-1 input always comes out as UTF-8.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/csv_reader.h"

namespace {

using Rows = std::vector<std::vector<std::string>>;

bool read(std::string_view input, size_t chunk, cdp::ingest::CsvReader::Encoding encoding,
          Rows* rows) {
  cdp::ingest::CsvReader::Options options;
  options.encoding = encoding;
  options.max_field_bytes = 4096;
  cdp::ingest::CsvReader reader(options, [&](uint64_t, std::span<const std::string> fields) {
    rows->emplace_back(fields.begin(), fields.end());
    return true;
  });
  for (size_t at = 0; at < input.size(); at += chunk) {
    if (!reader.feed(input.substr(at, chunk)).is_ok()) return false;
  }
  return reader.finish().is_ok();
}

bool valid_utf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t length = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += length;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = 1 + data[0] % 17;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  Rows whole;
  Rows chunked;
  const bool whole_ok =
      read(input, input.size() + 1, cdp::ingest::CsvReader::Encoding::kUtf8, &whole);
  const bool chunked_ok = read(input, chunk, cdp::ingest::CsvReader::Encoding::kUtf8, &chunked);
  if (whole_ok != chunked_ok) std::abort();
  if (whole_ok && whole != chunked) std::abort();
  Rows latin1;
  if (read(input, chunk, cdp::ingest::CsvReader::Encoding::kLatin1, &latin1)) {
    for (const auto& row : latin1) {
      for (const auto& field : row) {
        if (!valid_utf8(field)) std::abort();
      }
    }
  }
  return 0;
}
