#include "importer/import_record.h"

#include <array>
#include <charconv>
#include <utility>

#include "common/json_writer.h"
#include "common/time_format.h"
#include "ingest/json_tree.h"

namespace cdp::importer {
namespace {

constexpr std::array<std::pair<ImportState, std::string_view>, 6> kStates = {{
    {ImportState::kReceived, "received"},
    {ImportState::kValidating, "validating"},
    {ImportState::kLoading, "loading"},
    {ImportState::kDone, "done"},
    {ImportState::kFailed, "failed"},
    {ImportState::kDuplicate, "duplicate"},
}};

uint64_t number_of(const ingest::JsonValue* value) {
  if (value == nullptr || value->kind != ingest::JsonKind::kNumber) return 0;
  uint64_t out = 0;
  std::from_chars(value->text.data(), value->text.data() + value->text.size(), out);
  return out;
}

std::string text_of(const ingest::JsonValue* value) {
  return value != nullptr && value->is_string() ? std::string(value->text) : std::string();
}

}  // namespace

std::string_view import_state_name(ImportState state) {
  for (const auto& [value, name] : kStates) {
    if (value == state) return name;
  }
  return "received";
}

bool is_finished(ImportState state) {
  return state == ImportState::kDone || state == ImportState::kFailed ||
         state == ImportState::kDuplicate;
}

std::string import_record_json(const ImportRecord& record) {
  JsonWriter out;
  out.begin_object();
  out.key("id").number(static_cast<int64_t>(record.id));
  out.key("file").string(record.file_name);
  out.key("origin").string(record.origin);
  out.key("mapping").string(record.mapping_name);
  out.key("mappingText").string(record.mapping_text);
  out.key("checksum").string(record.checksum);
  out.key("size").number(static_cast<int64_t>(record.size));
  out.key("rawPath").string(record.raw_path);
  out.key("format").string(record.format);
  out.key("receivedAt").string(format_iso8601_ms(record.received_at_ms));
  out.key("receivedAtMs").number(record.received_at_ms);
  if (record.finished_at_ms > 0) {
    out.key("finishedAt").string(format_iso8601_ms(record.finished_at_ms));
    out.key("finishedAtMs").number(record.finished_at_ms);
  }
  out.key("state").string(import_state_name(record.state));
  if (!record.error.empty()) out.key("error").string(record.error);
  if (record.duplicate_of != 0)
    out.key("duplicateOf").number(static_cast<int64_t>(record.duplicate_of));
  out.key("bytesDone").number(static_cast<int64_t>(record.bytes_done));
  out.key("rows").number(static_cast<int64_t>(record.rows));
  out.key("rowsAccepted").number(static_cast<int64_t>(record.rows_accepted));
  out.key("rowsQuarantined").number(static_cast<int64_t>(record.rows_quarantined));
  out.key("loadedThroughRow").number(static_cast<int64_t>(record.loaded_through_row));
  out.key("eventsStored").number(static_cast<int64_t>(record.events_stored));
  out.key("eventsDuplicate").number(static_cast<int64_t>(record.events_duplicate));
  out.key("unmappedColumns").begin_array();
  for (const auto& column : record.unmapped_columns) out.string(column);
  out.end_array();
  out.end_object();
  return out.take();
}

Result<ImportRecord> parse_import_record(std::string_view json) {
  ingest::JsonParser parser;
  auto root = parser.parse(json);
  if (!root || !(*root)->is_object()) {
    return Status::corruption("an import record is not a JSON object");
  }
  const ingest::JsonValue& object = **root;
  ImportRecord record;
  record.id = number_of(object.find("id"));
  record.file_name = text_of(object.find("file"));
  record.origin = text_of(object.find("origin"));
  record.mapping_name = text_of(object.find("mapping"));
  record.mapping_text = text_of(object.find("mappingText"));
  record.checksum = text_of(object.find("checksum"));
  record.size = number_of(object.find("size"));
  record.raw_path = text_of(object.find("rawPath"));
  record.format = text_of(object.find("format"));
  record.received_at_ms = static_cast<int64_t>(number_of(object.find("receivedAtMs")));
  record.finished_at_ms = static_cast<int64_t>(number_of(object.find("finishedAtMs")));
  const std::string state = text_of(object.find("state"));
  bool known = false;
  for (const auto& [value, name] : kStates) {
    if (name == state) {
      record.state = value;
      known = true;
    }
  }
  if (!known)
    return Status::corruption("import record " + std::to_string(record.id) +
                              " has an unknown state \"" + state + "\"");
  record.error = text_of(object.find("error"));
  record.duplicate_of = number_of(object.find("duplicateOf"));
  record.bytes_done = number_of(object.find("bytesDone"));
  record.rows = number_of(object.find("rows"));
  record.rows_accepted = number_of(object.find("rowsAccepted"));
  record.rows_quarantined = number_of(object.find("rowsQuarantined"));
  record.loaded_through_row = number_of(object.find("loadedThroughRow"));
  record.events_stored = number_of(object.find("eventsStored"));
  record.events_duplicate = number_of(object.find("eventsDuplicate"));
  if (const auto* columns = object.find("unmappedColumns");
      columns != nullptr && columns->kind == ingest::JsonKind::kArray) {
    for (const auto* column : columns->elements) record.unmapped_columns.push_back(text_of(column));
  }
  return record;
}

std::string quarantine_entry_json(const QuarantineEntry& entry, std::string_view file_name) {
  JsonWriter out;
  out.begin_object();
  out.key("import").number(static_cast<int64_t>(entry.import_id));
  out.key("file").string(file_name);
  out.key("row").number(static_cast<int64_t>(entry.row));
  out.key("column").string(entry.problem.column);
  out.key("value").string(entry.problem.value);
  out.key("reason").string(entry.problem.reason);
  out.end_object();
  return out.take();
}

}  // namespace cdp::importer
