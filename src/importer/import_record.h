#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "importer/row_converter.h"

namespace cdp::importer {

// Where an import is. received -> validating -> loading -> done; or failed (the file as a whole
// could not be read: nothing of it entered the log), or duplicate (the same bytes were imported
// before: nothing was added).
enum class ImportState { kReceived, kValidating, kLoading, kDone, kFailed, kDuplicate };
std::string_view import_state_name(ImportState state);
bool is_finished(ImportState state);

// One file import: the raw zone's facts about the file, and the clean and curated zones' counts.
struct ImportRecord {
  uint64_t id = 0;
  std::string file_name;  // as uploaded or dropped, without directories
  std::string origin;     // who brought it: "api", "cli", "watch:<dir>"
  std::string mapping_name;
  std::string mapping_text;  // the mapping as used, so that a resume reads the file the same way
  std::string checksum;      // SHA-256 of the bytes, hex; empty until the file was read
  uint64_t size = 0;
  std::string raw_path;  // the file as received, relative to the data directory
  std::string format;    // "csv" or "jsonl", once known
  int64_t received_at_ms = 0;
  int64_t finished_at_ms = 0;
  ImportState state = ImportState::kReceived;
  std::string error;          // failed: what was wrong with the file
  uint64_t duplicate_of = 0;  // duplicate: the import that brought these bytes
  uint64_t bytes_done = 0;    // progress of the current phase through the file
  uint64_t rows = 0;          // data rows read (validation)
  uint64_t rows_accepted = 0;
  uint64_t rows_quarantined = 0;
  uint64_t loaded_through_row = 0;  // rows up to this one are durable in the log
  uint64_t events_stored = 0;
  uint64_t events_duplicate = 0;  // rows whose messageId the log already had
  std::vector<std::string> unmapped_columns;
};

std::string import_record_json(const ImportRecord& record);
Result<ImportRecord> parse_import_record(std::string_view json);

// A quarantined row's problem, as stored and listed.
struct QuarantineEntry {
  uint64_t import_id = 0;
  uint64_t row = 0;
  RowProblem problem;
};
std::string quarantine_entry_json(const QuarantineEntry& entry, std::string_view file_name);

}  // namespace cdp::importer
