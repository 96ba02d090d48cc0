#include "ingest/csv_reader.h"

#include <csv.h>

#include <fstream>
#include <utility>

namespace cdp::ingest {

struct CsvReader::Parser {
  csv_parser state{};
};

CsvReader::CsvReader(Options options, RowHandler handler)
    : options_(options), handler_(std::move(handler)), parser_(std::make_unique<Parser>()) {
  // Strict: a quote inside an unquoted field, or text after a closing quote, is an error
  // rather than a guess. CSV_STRICT_FINI: an unterminated quoted field at the end too.
  (void)csv_init(&parser_->state, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
  csv_set_delim(&parser_->state, static_cast<unsigned char>(options_.delimiter));
}

CsvReader::~CsvReader() { csv_free(&parser_->state); }

void CsvReader::on_field(void* data, size_t length, void* self) {
  auto* reader = static_cast<CsvReader*>(self);
  if (reader->stopped_) return;
  if (length > reader->options_.max_field_bytes) {
    reader->error_ = "row " + std::to_string(reader->rows_ + 1) + ": field " +
                     std::to_string(reader->fields_.size() + 1) + " is longer than " +
                     std::to_string(reader->options_.max_field_bytes) + " bytes";
    reader->stopped_ = true;
    return;
  }
  if (reader->fields_.size() >= reader->options_.max_fields_per_row) {
    reader->error_ = "row " + std::to_string(reader->rows_ + 1) + " has more than " +
                     std::to_string(reader->options_.max_fields_per_row) + " fields";
    reader->stopped_ = true;
    return;
  }
  const std::string_view bytes(static_cast<const char*>(data), data ? length : 0);
  std::string field;
  if (reader->options_.encoding == Encoding::kLatin1) {
    field.reserve(bytes.size());
    for (unsigned char c : bytes) {
      if (c < 0x80) {
        field.push_back(static_cast<char>(c));
      } else {
        field.push_back(static_cast<char>(0xC0 | (c >> 6)));
        field.push_back(static_cast<char>(0x80 | (c & 0x3F)));
      }
    }
  } else {
    field.assign(bytes);
  }
  reader->fields_.push_back(std::move(field));
}

void CsvReader::on_row(int terminator, void* self) {
  auto* reader = static_cast<CsvReader*>(self);
  if (reader->stopped_) return;
  // libcsv reports an empty line as a row without fields; it is not a record.
  if (reader->fields_.empty()) return;
  ++reader->rows_;
  (void)terminator;
  if (!reader->handler_(reader->rows_, reader->fields_)) reader->stopped_ = true;
  reader->fields_.clear();
}

Status CsvReader::check(const char* what) {
  if (!error_.empty()) return Status::invalid_argument(error_);
  const int error = csv_error(&parser_->state);
  if (error == CSV_SUCCESS) return Status::ok();
  if (error == CSV_ENOMEM) return Status::resource_exhausted("out of memory while reading CSV");
  return Status::invalid_argument("row " + std::to_string(rows_ + 1) + ": " + what + ": " +
                                  csv_strerror(error) +
                                  " (quote fields that contain the delimiter, quotes or line "
                                  "breaks, and double quotes inside them)");
}

Status CsvReader::feed(std::string_view chunk) {
  if (stopped_) return check("reading");
  if (!started_) {
    // The byte-order mark may arrive split over chunks: hold the first bytes until they either
    // are the whole mark or cannot be.
    constexpr std::string_view kMark = "\xEF\xBB\xBF";
    head_.append(chunk);
    if (head_.size() < kMark.size() && kMark.substr(0, head_.size()) == head_) {
      return Status::ok();
    }
    started_ = true;
    std::string head = std::move(head_);
    std::string_view rest = head;
    if (rest.substr(0, kMark.size()) == kMark) rest.remove_prefix(kMark.size());
    return parse(rest);
  }
  return parse(chunk);
}

Status CsvReader::parse(std::string_view chunk) {
  csv_parse(&parser_->state, chunk.data(), chunk.size(), &CsvReader::on_field, &CsvReader::on_row,
            this);
  // libcsv gathers a field in its own buffer before handing it over: an unterminated quote
  // would otherwise take in the rest of the file.
  if (error_.empty() && parser_->state.entry_pos > options_.max_field_bytes) {
    error_ = "row " + std::to_string(rows_ + 1) + ": field " + std::to_string(fields_.size() + 1) +
             " is longer than " + std::to_string(options_.max_field_bytes) +
             " bytes (an unterminated quote takes in the rest of the file)";
    stopped_ = true;
  }
  return check("malformed CSV");
}

Status CsvReader::finish() {
  if (!started_) {
    started_ = true;
    CDP_RETURN_IF_ERROR(parse(std::exchange(head_, {})));
  }
  if (!stopped_) {
    if (csv_fini(&parser_->state, &CsvReader::on_field, &CsvReader::on_row, this) != 0) {
      return check("the file ends inside a quoted field");
    }
  }
  return check("reading");
}

Status CsvReader::read_file(const std::string& path, Options options, RowHandler handler) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found("cannot open " + path);
  CsvReader reader(options, std::move(handler));
  std::string buffer(1 << 16, '\0');
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto got = static_cast<size_t>(in.gcount());
    if (got == 0) break;
    CDP_RETURN_IF_ERROR(reader.feed(std::string_view(buffer.data(), got)));
    if (reader.stopped_) return reader.check("reading");
  }
  if (in.bad()) return Status::unavailable("cannot read " + path);
  return reader.finish();
}

}  // namespace cdp::ingest
