#include "importer/row_reader.h"

#include <fstream>
#include <unordered_map>

#include "ingest/csv_reader.h"
#include "ingest/json_tree.h"

namespace cdp::importer {
namespace {

constexpr size_t kChunkBytes = 1 << 20;

// A source of chunks: a file, or bytes in memory.
using ChunkSource = std::function<Result<std::string_view>()>;  // empty view: the end

bool ends_with(std::string_view text, std::string_view suffix) {
  if (text.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i) {
    char c = text[text.size() - suffix.size() + i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != suffix[i]) return false;
  }
  return true;
}

// CSV: the header binds mapping columns to positions; each row's cells are taken from them.
class CsvRows {
 public:
  CsvRows(const ImportMapping& mapping, const RowReader::RowHandler& on_row)
      : mapping_(mapping), on_row_(on_row), cells_(mapping.columns.size()) {}

  bool row(uint64_t number, std::span<const std::string> fields) {
    if (number == 1) return bind(fields);
    // A blank line in CSV is one empty field: not a record.
    if (fields.size() == 1 && fields[0].empty()) return true;
    for (size_t i = 0; i < positions_.size(); ++i) {
      cells_[i].text = positions_[i] < fields.size() ? fields[positions_[i]] : std::string();
    }
    Row row;
    row.number = number;
    row.cells = cells_;
    if (fields.size() != header_size_) {
      row.error = "has " + std::to_string(fields.size()) + " fields where the header has " +
                  std::to_string(header_size_);
    }
    return on_row_(row);
  }

  Status status() const { return status_; }
  FileShape shape;

 private:
  bool bind(std::span<const std::string> header) {
    header_size_ = header.size();
    std::unordered_map<std::string_view, size_t> position;
    for (size_t i = 0; i < header.size(); ++i) {
      if (!position.emplace(header[i], i).second) {
        status_ = Status::invalid_argument("the header names column \"" + header[i] +
                                           "\" twice: rename one of them");
        return false;
      }
    }
    std::vector<bool> mapped(header.size(), false);
    std::string missing;
    size_t missing_count = 0;
    for (const auto& column : mapping_.columns) {
      auto found = position.find(column.column);
      if (found == position.end()) {
        missing += (missing.empty() ? "\"" : ", \"") + column.column + "\"";
        ++missing_count;
        continue;
      }
      positions_.push_back(found->second);
      mapped[found->second] = true;
    }
    if (!missing.empty()) {
      std::string names;
      for (const auto& name : header) names += (names.empty() ? "" : ", ") + name;
      status_ = Status::invalid_argument(
          (missing_count == 1 ? "the mapping's column " + missing + " is"
                              : "the mapping's columns " + missing + " are") +
          " not in the file's header (" + names + "): fix the mapping or the file");
      return false;
    }
    for (size_t i = 0; i < header.size(); ++i) {
      if (!mapped[i]) shape.unmapped_columns.push_back(header[i]);
    }
    return true;
  }

  const ImportMapping& mapping_;
  const RowReader::RowHandler& on_row_;
  std::vector<Cell> cells_;
  std::vector<size_t> positions_;
  size_t header_size_ = 0;
  Status status_;
};

Result<FileShape> read_csv(const ChunkSource& next, const ImportMapping& mapping,
                           const RowReader::RowHandler& on_row) {
  CsvRows rows(mapping, on_row);
  ingest::CsvReader::Options options;
  options.delimiter = mapping.delimiter;
  options.encoding =
      mapping.latin1 ? ingest::CsvReader::Encoding::kLatin1 : ingest::CsvReader::Encoding::kUtf8;
  bool stopped = false;
  ingest::CsvReader reader(options, [&](uint64_t number, std::span<const std::string> fields) {
    stopped = !rows.row(number, fields);
    return !stopped;
  });
  while (!stopped) {
    auto chunk = next();
    if (!chunk) return chunk.status();
    if (chunk->empty()) break;
    CDP_RETURN_IF_ERROR(reader.feed(*chunk));
  }
  if (!stopped) CDP_RETURN_IF_ERROR(reader.finish());
  CDP_RETURN_IF_ERROR(rows.status());
  if (reader.rows() == 0) {
    return Status::invalid_argument("the file is empty: a CSV file needs a header row");
  }
  return rows.shape;
}

Result<FileShape> read_json_lines(const ChunkSource& next, const ImportMapping& mapping,
                                  const RowReader::RowHandler& on_row) {
  ingest::JsonParser parser;
  std::vector<Cell> cells(mapping.columns.size());
  std::string line;
  uint64_t number = 0;
  bool too_long = false;
  // Returns false when the handler stops.
  auto finish_line = [&]() -> bool {
    ++number;
    Row row;
    row.number = number;
    row.cells = cells;
    if (too_long) {
      too_long = false;
      line.clear();
      row.error = "is longer than " + std::to_string(RowReader::kMaxLineBytes) + " bytes";
      return on_row(row);
    }
    std::string_view text = line;
    while (!text.empty() && (text.back() == '\r' || text.back() == ' ' || text.back() == '\t'))
      text.remove_suffix(1);
    if (text.find_first_not_of(" \t") == std::string_view::npos) {
      line.clear();
      return true;
    }
    auto root = parser.parse(text);
    if (!root || !(*root)->is_object()) {
      row.error = root ? "is not a JSON object" : "is not JSON: " + root.status().message();
    } else {
      for (size_t i = 0; i < mapping.columns.size(); ++i) {
        const ingest::JsonValue* value = (*root)->find(mapping.columns[i].column);
        Cell& cell = cells[i];
        cell.text.clear();
        cell.kind = Cell::Kind::kText;
        if (value == nullptr) continue;
        switch (value->kind) {
          case ingest::JsonKind::kString: cell.text.assign(value->text); break;
          case ingest::JsonKind::kNumber:
            cell.kind = Cell::Kind::kScalar;
            cell.text.assign(value->text);
            break;
          case ingest::JsonKind::kBool:
            cell.kind = Cell::Kind::kScalar;
            cell.text = value->boolean ? "true" : "false";
            break;
          case ingest::JsonKind::kNull: break;
          default: cell.kind = Cell::Kind::kComposite; ingest::write_json(cell.text, *value);
        }
      }
    }
    line.clear();
    return on_row(row);
  };
  bool first = true;
  while (true) {
    auto chunk = next();
    if (!chunk) return chunk.status();
    if (chunk->empty()) break;
    std::string_view rest = *chunk;
    if (first && rest.starts_with("\xEF\xBB\xBF")) rest.remove_prefix(3);
    first = false;
    while (!rest.empty()) {
      const auto newline = rest.find('\n');
      const std::string_view piece = rest.substr(0, newline);
      if (!too_long) {
        if (line.size() + piece.size() > RowReader::kMaxLineBytes) {
          too_long = true;
          line.clear();
        } else {
          line.append(piece);
        }
      }
      if (newline == std::string_view::npos) break;
      rest.remove_prefix(newline + 1);
      if (!finish_line()) return FileShape{FileFormat::kJsonLines, {}};
    }
  }
  if (!line.empty() || too_long) finish_line();
  return FileShape{FileFormat::kJsonLines, {}};
}

Result<FileShape> read_rows(const ChunkSource& next, std::string_view first_bytes,
                            std::string_view file_name, const ImportMapping& mapping,
                            const RowReader::RowHandler& on_row) {
  const FileFormat format = RowReader::detect_format(mapping, file_name, first_bytes);
  if (format == FileFormat::kJsonLines) return read_json_lines(next, mapping, on_row);
  for (const auto& column : mapping.columns) {
    if (column.type == ValueType::kJson) {
      return Status::invalid_argument("column \"" + column.column +
                                      "\" has type json, which needs JSON Lines, not CSV");
    }
  }
  ImportMapping csv = mapping;
  if (mapping.delimiter == ',' && ends_with(file_name, ".tsv")) csv.delimiter = '\t';
  auto shape = read_csv(next, csv, on_row);
  if (!shape) return shape.status();
  shape->format = FileFormat::kCsv;
  return shape;
}

}  // namespace

FileFormat RowReader::detect_format(const ImportMapping& mapping, std::string_view file_name,
                                    std::string_view first_bytes) {
  if (mapping.format != FileFormat::kAuto) return mapping.format;
  if (ends_with(file_name, ".csv") || ends_with(file_name, ".tsv")) return FileFormat::kCsv;
  if (ends_with(file_name, ".jsonl") || ends_with(file_name, ".ndjson") ||
      ends_with(file_name, ".json")) {
    return FileFormat::kJsonLines;
  }
  if (first_bytes.starts_with("\xEF\xBB\xBF")) first_bytes.remove_prefix(3);
  const auto start = first_bytes.find_first_not_of(" \t\r\n");
  return start != std::string_view::npos && first_bytes[start] == '{' ? FileFormat::kJsonLines
                                                                      : FileFormat::kCsv;
}

Result<FileShape> RowReader::read(const std::string& path, std::string_view file_name,
                                  const ImportMapping& mapping, const RowHandler& on_row,
                                  const ProgressHandler& on_progress) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Status::not_found("cannot open " + path);
  std::string buffer(kChunkBytes, '\0');
  uint64_t total = 0;
  file.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  size_t pending = static_cast<size_t>(file.gcount());
  const std::string first(buffer.data(), std::min<size_t>(pending, 64));
  ChunkSource next = [&]() -> Result<std::string_view> {
    if (pending == 0) {
      if (file.bad()) return Status::unavailable("reading " + path + " failed");
      if (!file) return std::string_view();
      file.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      pending = static_cast<size_t>(file.gcount());
      if (file.bad()) return Status::unavailable("reading " + path + " failed");
    }
    total += pending;
    const std::string_view chunk(buffer.data(), pending);
    pending = 0;
    if (on_progress) on_progress(total);
    return chunk;
  };
  return read_rows(next, first, file_name, mapping, on_row);
}

Result<FileShape> RowReader::read_bytes(std::string_view bytes, std::string_view file_name,
                                        const ImportMapping& mapping, const RowHandler& on_row) {
  bool done = false;
  ChunkSource next = [&]() -> Result<std::string_view> {
    if (done) return std::string_view();
    done = true;
    return bytes;
  };
  return read_rows(next, bytes.substr(0, 64), file_name, mapping, on_row);
}

}  // namespace cdp::importer
