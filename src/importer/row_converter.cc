#include "importer/row_converter.h"

#include "common/json_writer.h"
#include "common/time_format.h"

namespace cdp::importer {
namespace {

constexpr size_t kMaxProblemValueBytes = 200;
constexpr size_t kMaxMessageIdBytes = 200;

std::string trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return std::string(text);
}

std::string excerpt(std::string_view text) {
  return to_valid_utf8(text.substr(0, kMaxProblemValueBytes));
}

void append_member(std::string& object, std::string_view key, std::string_view json) {
  object.push_back(object.empty() ? '{' : ',');
  append_json_string(object, key);
  object.push_back(':');
  object.append(json);
}

// Identifier types with a place of their own in a Segment event; the others are externalIds.
bool is_trait_identifier(std::string_view type) { return type == "email" || type == "phone"; }

}  // namespace

RowConverter::RowConverter(const ImportMapping& mapping, Context context)
    : mapping_(mapping),
      context_(std::move(context)),
      cleaner_(mapping.phone_region.empty() ? "US" : mapping.phone_region),
      values_(mapping.columns.size()) {}

bool RowConverter::convert(const Row& row, RowEvent& event, std::vector<RowProblem>& problems) {
  problems.clear();
  if (!row.error.empty()) {
    problems.push_back({"", "", "the row " + row.error});
    return false;
  }
  bool has_identifier = false;
  for (size_t i = 0; i < mapping_.columns.size(); ++i) {
    const ColumnMapping& column = mapping_.columns[i];
    auto cleaned = cleaner_.clean(row.cells[i], column);
    if (!cleaned) {
      problems.push_back({column.column, excerpt(row.cells[i].text), cleaned.status().message()});
      values_[i].reset();
      continue;
    }
    values_[i] = std::move(*cleaned);
    if (!values_[i] && column.required) {
      problems.push_back({column.column, "", "is required but empty"});
    }
    has_identifier = has_identifier || (values_[i] && column.role == ColumnRole::kIdentifier);
  }
  if (problems.empty() && !has_identifier) {
    std::string columns;
    for (const auto& column : mapping_.columns) {
      if (column.role == ColumnRole::kIdentifier)
        columns += (columns.empty() ? "" : ", ") + column.column;
    }
    problems.push_back({"", "", "the row has no identifier value (" + columns + " are all empty)"});
  }
  if (!problems.empty()) return false;

  const bool records = mapping_.kind == RowKind::kRecords;
  std::string traits, properties, external_ids, user_id, anonymous_id, timestamp, message_id;
  std::string event_name = mapping_.event.empty() ? "" : [&] {
    std::string quoted;
    append_json_string(quoted, mapping_.event);
    return quoted;
  }();
  for (size_t i = 0; i < mapping_.columns.size(); ++i) {
    if (!values_[i]) continue;
    const ColumnMapping& column = mapping_.columns[i];
    const std::string& value = *values_[i];
    switch (column.role) {
      case ColumnRole::kIdentifier:
        if (column.target == "user_id") {
          user_id = value;
        } else if (column.target == "anonymous_id") {
          anonymous_id = value;
        } else if (is_trait_identifier(column.target)) {
          append_member(traits, column.target, value);
        } else {
          external_ids += external_ids.empty() ? "[" : ",";
          external_ids += "{\"id\":" + value + ",\"type\":";
          append_json_string(external_ids, column.target);
          external_ids += ",\"collection\":\"users\",\"encoding\":\"none\"}";
        }
        break;
      case ColumnRole::kTrait: append_member(traits, column.target, value); break;
      case ColumnRole::kProperty: append_member(properties, column.target, value); break;
      case ColumnRole::kTimestamp: timestamp = value; break;
      case ColumnRole::kEventName: event_name = value; break;
      case ColumnRole::kMessageId:
        // The id is the text itself (the cleaned value is its JSON form).
        message_id = trim(row.cells[i].text);
        break;
    }
  }
  if (message_id.empty()) {
    message_id = "import-" + context_.file_key + "-" + std::to_string(row.number);
  } else if (message_id.size() > kMaxMessageIdBytes) {
    problems.push_back(
        {"", excerpt(message_id),
         "the row's message_id is longer than " + std::to_string(kMaxMessageIdBytes) + " bytes"});
    return false;
  }

  std::string& out = event.json;
  out.clear();
  out.append(records ? "{\"type\":\"identify\"" : "{\"type\":\"track\"");
  if (!records) out.append(",\"event\":").append(event_name);
  if (!properties.empty()) out.append(",\"properties\":").append(properties).append("}");
  if (records && !traits.empty()) out.append(",\"traits\":").append(traits).append("}");
  out.append(",\"messageId\":");
  append_json_string(out, message_id);
  if (!user_id.empty()) out.append(",\"userId\":").append(user_id);
  if (!anonymous_id.empty()) out.append(",\"anonymousId\":").append(anonymous_id);
  out.append(",\"context\":{\"library\":{\"name\":\"cdp-import\"}");
  // Event rows carry their traits as the context's, as Segment's track calls do.
  if (!records && !traits.empty()) out.append(",\"traits\":").append(traits).append("}");
  if (!external_ids.empty()) out.append(",\"externalIds\":").append(external_ids).append("]");
  out.append("}");
  out.append(",\"timestamp\":");
  if (timestamp.empty())
    append_json_string(out, format_iso8601_ms(context_.received_at_ms));
  else
    out.append(timestamp);
  out.append(",\"receivedAt\":");
  append_json_string(out, format_iso8601_ms(context_.received_at_ms));
  out.push_back('}');
  if (out.size() > context_.max_event_bytes) {
    problems.push_back({"", "",
                        "the row makes an event of " + std::to_string(out.size()) +
                            " bytes, over the limit of " +
                            std::to_string(context_.max_event_bytes)});
    return false;
  }
  event.message_id = std::move(message_id);
  return true;
}

}  // namespace cdp::importer
