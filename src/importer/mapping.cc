#include "importer/mapping.h"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <set>
#include <utility>

#include "identity/normalizer.h"
#include "ingest/source_registry.h"

namespace cdp::importer {
namespace {

constexpr std::array<std::pair<ValueType, std::string_view>, 11> kTypeNames = {{
    {ValueType::kString, "string"},
    {ValueType::kNumber, "number"},
    {ValueType::kInteger, "integer"},
    {ValueType::kBoolean, "boolean"},
    {ValueType::kDate, "date"},
    {ValueType::kTimestamp, "timestamp"},
    {ValueType::kEmail, "email"},
    {ValueType::kPhone, "phone"},
    {ValueType::kName, "name"},
    {ValueType::kPostcode, "postcode"},
    {ValueType::kJson, "json"},
}};

Status error(std::string_view origin, const std::string& what) {
  return Status::invalid_argument(std::string(origin) + ": " + what);
}

std::string key_list(const std::set<std::string_view>& keys) {
  std::string list;
  for (auto key : keys) list += (list.empty() ? "" : ", ") + std::string(key);
  return list;
}

Status check_keys(const toml::table& table, std::string_view origin, const std::string& where,
                  const std::set<std::string_view>& known) {
  for (const auto& [key, value] : table) {
    if (known.count(key.str()) == 0) {
      return error(origin, where + " has an unknown key \"" + std::string(key.str()) +
                               "\" (known: " + key_list(known) + ")");
    }
  }
  return Status::ok();
}

Result<std::string> text_value(const toml::table& table, std::string_view key,
                               std::string_view origin, const std::string& where) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return std::string();
  auto value = node->value<std::string>();
  if (!value) return error(origin, where + " " + std::string(key) + " must be a string");
  return *value;
}

// The types an identifier type takes unless the mapping says otherwise.
ValueType default_identifier_type(std::string_view type) {
  if (type == "email") return ValueType::kEmail;
  if (type == "phone") return ValueType::kPhone;
  return ValueType::kString;
}

Result<ColumnMapping> parse_column(std::string_view column, const toml::node& node,
                                   std::string_view origin) {
  const std::string where = "[columns] " + std::string(column);
  const auto* table = node.as_table();
  if (table == nullptr) {
    return error(origin, where +
                             " must be a table such as { trait = \"firstName\" } or "
                             "{ identifier = \"email\" }");
  }
  CDP_RETURN_IF_ERROR(check_keys(*table, origin, where,
                                 {"identifier", "trait", "property", "timestamp", "event",
                                  "message_id", "type", "required", "format"}));
  ColumnMapping mapping;
  mapping.column = std::string(column);
  int roles = 0;
  for (auto [key, role] :
       {std::pair<std::string_view, ColumnRole>{"identifier", ColumnRole::kIdentifier},
        {"trait", ColumnRole::kTrait},
        {"property", ColumnRole::kProperty}}) {
    const toml::node* value = table->get(key);
    if (value == nullptr) continue;
    ++roles;
    auto target = value->value<std::string>();
    if (!target || target->empty()) {
      return error(origin, where + " " + std::string(key) + " must be a non-empty string");
    }
    mapping.role = role;
    mapping.target = *target;
  }
  for (auto [key, role] :
       {std::pair<std::string_view, ColumnRole>{"timestamp", ColumnRole::kTimestamp},
        {"event", ColumnRole::kEventName},
        {"message_id", ColumnRole::kMessageId}}) {
    const toml::node* value = table->get(key);
    if (value == nullptr) continue;
    if (value->value<bool>() != true) {
      return error(origin, where + " " + std::string(key) + " must be true when present");
    }
    ++roles;
    mapping.role = role;
  }
  if (roles != 1) {
    return error(origin, where +
                             " must have exactly one of identifier, trait, property, timestamp, "
                             "event or message_id");
  }
  if (mapping.role == ColumnRole::kIdentifier) {
    // Identifier types are case-insensitive names, stored lower-cased like externalIds types.
    for (char& c : mapping.target) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    mapping.type = default_identifier_type(mapping.target);
  }
  if (mapping.role == ColumnRole::kTimestamp) mapping.type = ValueType::kTimestamp;
  if (const toml::node* type = table->get("type")) {
    auto name = type->value<std::string>();
    auto parsed = name ? parse_value_type(*name) : std::nullopt;
    if (!parsed) {
      std::string list;
      for (const auto& [value, type_name] : kTypeNames)
        list += (list.empty() ? "" : ", ") + std::string(type_name);
      return error(origin, where + " type must be one of " + list);
    }
    mapping.type = *parsed;
  }
  if (mapping.role == ColumnRole::kTimestamp && mapping.type != ValueType::kTimestamp &&
      mapping.type != ValueType::kDate) {
    return error(origin, where + " is the timestamp: its type must be timestamp or date");
  }
  if ((mapping.role == ColumnRole::kEventName || mapping.role == ColumnRole::kMessageId) &&
      mapping.type != ValueType::kString) {
    return error(origin, where + " must have type string");
  }
  if (const toml::node* required = table->get("required")) {
    auto value = required->value<bool>();
    if (!value) return error(origin, where + " required must be true or false");
    mapping.required = *value;
  }
  auto format = text_value(*table, "format", origin, where);
  if (!format) return format.status();
  mapping.format = std::move(*format);
  if (!mapping.format.empty() && mapping.type != ValueType::kDate &&
      mapping.type != ValueType::kTimestamp) {
    return error(origin, where + " has a format, which only date and timestamp columns take");
  }
  return mapping;
}

}  // namespace

std::string_view value_type_name(ValueType type) {
  for (const auto& [value, name] : kTypeNames) {
    if (value == type) return name;
  }
  return "string";
}

std::optional<ValueType> parse_value_type(std::string_view name) {
  for (const auto& [value, type_name] : kTypeNames) {
    if (type_name == name) return value;
  }
  return std::nullopt;
}

Result<ImportMapping> ImportMapping::parse_toml(std::string_view text, std::string_view origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return error(origin, "line " + std::to_string(where.line) + ", column " +
                             std::to_string(where.column) + ": " + std::string(e.description()));
  }
  CDP_RETURN_IF_ERROR(check_keys(
      root, origin, "the mapping",
      {"kind", "source", "format", "encoding", "delimiter", "event", "phone_region", "columns"}));
  ImportMapping mapping;
  mapping.text = std::string(text);
  const std::string top = "the mapping's";

  auto kind = text_value(root, "kind", origin, top);
  if (!kind) return kind.status();
  if (*kind == "events") {
    mapping.kind = RowKind::kEvents;
  } else if (!kind->empty() && *kind != "records") {
    return error(origin, "kind \"" + *kind + "\" must be \"records\" or \"events\"");
  }
  auto source = text_value(root, "source", origin, top);
  if (!source) return source.status();
  if (!source->empty()) mapping.source = *source;
  if (auto valid = ingest::SourceRegistry::validate_name(mapping.source); !valid.is_ok()) {
    return error(origin, valid.message());
  }
  auto format = text_value(root, "format", origin, top);
  if (!format) return format.status();
  if (*format == "csv") {
    mapping.format = FileFormat::kCsv;
  } else if (*format == "jsonl" || *format == "ndjson") {
    mapping.format = FileFormat::kJsonLines;
  } else if (!format->empty() && *format != "auto") {
    return error(origin, "format \"" + *format + "\" must be \"csv\", \"jsonl\" or \"auto\"");
  }
  auto encoding = text_value(root, "encoding", origin, top);
  if (!encoding) return encoding.status();
  if (*encoding == "latin-1" || *encoding == "latin1" || *encoding == "iso-8859-1") {
    mapping.latin1 = true;
  } else if (!encoding->empty() && *encoding != "utf-8" && *encoding != "utf8") {
    return error(origin, "encoding \"" + *encoding + "\" must be \"utf-8\" or \"latin-1\"");
  }
  auto delimiter = text_value(root, "delimiter", origin, top);
  if (!delimiter) return delimiter.status();
  if (*delimiter == "\\t" || *delimiter == "tab") *delimiter = "\t";
  if (delimiter->size() > 1 || *delimiter == "\"" || *delimiter == "\n") {
    return error(origin, "delimiter must be one character (\",\", \";\", \"|\" or \"\\t\")");
  }
  if (delimiter->size() == 1) mapping.delimiter = (*delimiter)[0];
  auto event = text_value(root, "event", origin, top);
  if (!event) return event.status();
  mapping.event = std::move(*event);
  auto region = text_value(root, "phone_region", origin, top);
  if (!region) return region.status();
  if (!region->empty()) {
    if (!identity::is_known_phone_region(*region)) {
      return error(origin, "phone_region \"" + *region +
                               "\" is not an ISO 3166 region libphonenumber knows (\"US\", "
                               "\"GB\", \"DE\", ...)");
    }
    mapping.phone_region = *region;
  }

  const auto* columns = root["columns"].as_table();
  if (columns == nullptr || columns->empty()) {
    return error(origin, "[columns] is missing: it says what each column of the file is");
  }
  // toml++ keeps a table's keys sorted; columns keep the order the mapping wrote them in, which
  // is the order of traits in events and of problems in the quarantine.
  std::vector<std::pair<toml::source_position, ColumnMapping>> ordered;
  for (const auto& [key, node] : *columns) {
    auto column = parse_column(key.str(), node, origin);
    if (!column) return column.status();
    ordered.emplace_back(node.source().begin, std::move(*column));
  }
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [position, column] : ordered) mapping.columns.push_back(std::move(column));

  int identifiers = 0, timestamps = 0, names = 0, message_ids = 0;
  for (const auto& column : mapping.columns) {
    identifiers += column.role == ColumnRole::kIdentifier;
    timestamps += column.role == ColumnRole::kTimestamp;
    names += column.role == ColumnRole::kEventName;
    message_ids += column.role == ColumnRole::kMessageId;
    if (mapping.kind == RowKind::kRecords &&
        (column.role == ColumnRole::kProperty || column.role == ColumnRole::kEventName)) {
      return error(origin, "[columns] " + column.column +
                               ": records have traits, not properties or event names (set kind "
                               "= \"events\" for event rows)");
    }
    if (column.type == ValueType::kJson && mapping.format == FileFormat::kCsv) {
      return error(origin, "[columns] " + column.column + ": type json needs JSON Lines input");
    }
  }
  if (identifiers == 0) {
    return error(origin,
                 "no column is an identifier: add one such as "
                 "customer_id = { identifier = \"user_id\" } so each row can find its profile");
  }
  if (timestamps > 1 || names > 1 || message_ids > 1) {
    return error(origin,
                 "at most one column may be the timestamp, the event name or the "
                 "message_id");
  }
  if (mapping.kind == RowKind::kEvents && names == 0 && mapping.event.empty()) {
    return error(origin,
                 "events need a name: set event = \"Order Completed\" or mark a column "
                 "{ event = true }");
  }
  if (mapping.kind == RowKind::kRecords && !mapping.event.empty()) {
    return error(origin, "event is for kind = \"events\"");
  }
  return mapping;
}

}  // namespace cdp::importer
