#include "activation/warehouse_rows.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "common/json_writer.h"
#include "common/time_format.h"

namespace cdp::activation {
namespace {

constexpr size_t kMaxIdentifier = 63;  // PostgreSQL's NAMEDATALEN - 1
// A key longer than this could not be indexed (a B-tree entry is at most ~2,700 bytes).
constexpr size_t kMaxKey = 1024;
// Quarantine records keep the start of long paths and ids (they are part of its primary key).
constexpr size_t kMaxQuarantinePath = 200;
// timestamptz holds the years 1 to 9999 (ISO-8601's range; PostgreSQL refuses year 0).
constexpr int64_t kFirstTimeMs = -62'135'596'800'000;
constexpr int64_t kLastTimeMs = 253'402'300'799'999;

// The top-level fields that are times: typed timestamptz, so that warehouses can range over them.
constexpr std::string_view kTimeColumns[] = {"timestamp", "sent_at", "received_at",
                                             "original_timestamp"};

std::string_view event_table(std::string_view type) {
  if (type == "track") return "tracks";
  if (type == "identify") return "identifies";
  if (type == "page") return "pages";
  if (type == "screen") return "screens";
  if (type == "group") return "groups";
  if (type == "alias") return "aliases";
  return {};
}

// PostgreSQL's text cannot hold NUL (JSON can): U+FFFD stands in for it.
std::string without_nul(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\0') {
      out += "\xEF\xBF\xBD";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// The same for jsonb, which refuses the escape \u0000.
std::string json_without_nul(const ingest::JsonValue& value) {
  std::string json;
  ingest::write_json(json, value);
  std::string out;
  out.reserve(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    if (json[i] != '\\' || i + 1 >= json.size()) {
      out.push_back(json[i]);
      continue;
    }
    if (json.compare(i, 6, "\\u0000") == 0) {
      out += "\\ufffd";
      i += 5;
    } else {  // some other escape: both characters as they are
      out.push_back(json[i]);
      out.push_back(json[++i]);
    }
  }
  return out;
}

// Whether jsonb can hold every number in `value`: PostgreSQL's numeric has at most 131,072
// digits before the point and 16,383 after it (1e200000 is refused).
bool jsonb_numbers_fit(const ingest::JsonValue& value) {
  switch (value.kind) {
    case ingest::JsonKind::kNumber: {
      const std::string_view text = value.text;
      if (text.size() > 10'000) return false;
      const auto e = text.find_first_of("eE");
      const auto mantissa = text.substr(0, e);
      const auto point = mantissa.find('.');
      const long fraction_digits =
          point == std::string_view::npos ? 0 : static_cast<long>(mantissa.size() - point - 1);
      const long integer_digits = static_cast<long>(
          std::count_if(mantissa.begin(), mantissa.begin() + std::min(point, mantissa.size()),
                        [](char c) { return c >= '0' && c <= '9'; }));
      long exponent = 0;
      if (e != std::string_view::npos) {
        const std::string digits(text.substr(e + 1));
        exponent = std::strtol(digits.c_str(), nullptr, 10);  // saturates at LONG_MIN/MAX
        if (exponent < -1'000'000 || exponent > 1'000'000) return false;
      }
      // The exponent moves the point: digits after it become digits before it and back.
      return fraction_digits - exponent <= 16'383 && integer_digits + exponent <= 131'072;
    }
    case ingest::JsonKind::kArray:
      return std::all_of(value.elements.begin(), value.elements.end(),
                         [](const ingest::JsonValue* v) { return jsonb_numbers_fit(*v); });
    case ingest::JsonKind::kObject:
      return std::all_of(value.members.begin(), value.members.end(),
                         [](const ingest::JsonMember& m) { return jsonb_numbers_fit(*m.value); });
    default: return true;
  }
}

// The type and text of a JSON number: bigint when it is an integer that fits, double precision
// when it is another finite double, else text (PostgreSQL would refuse 1e400 as a double).
std::pair<ColumnType, std::string> number_cell(std::string_view text) {
  if (text.find_first_of(".eE") == std::string_view::npos) {
    int64_t integer = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), integer);
    if (error == std::errc() && end == text.data() + text.size()) {
      return {ColumnType::kBigint, std::string(text)};
    }
    // Beyond 64 bits (128-bit ids): every digit kept, as text; a double would round it.
    return {ColumnType::kText, std::string(text)};
  }
  errno = 0;
  const std::string copy(text);
  const double value = std::strtod(copy.c_str(), nullptr);
  if (errno == ERANGE || !std::isfinite(value)) return {ColumnType::kText, copy};
  return {ColumnType::kDouble, copy};
}

class RowBuilder {
 public:
  RowBuilder(std::string_view message_id, MessageRows& out) : message_id_(message_id), out_(out) {}

  void add(Row& row, std::string column, ColumnType type, std::string value,
           std::string_view path) {
    if (has_column(row, column)) {
      // Named by the field's path: several fields may miss one column.
      quarantine(row, path, value,
                 "its column " + column + " is already taken by another field of the event");
      return;
    }
    row.cells.push_back({std::move(column), type, std::move(value), std::string(path)});
  }

  // `value` under the column `column` (already a sql_name), objects flattened into
  // column_member columns. `fallback_prefix`, when not empty, renames a top-level field whose
  // column is taken (a property "id" becomes property_id).
  void flatten(Row& row, const ingest::JsonValue& value, const std::string& column,
               const std::string& path, std::string_view fallback_prefix, bool top_level) {
    switch (value.kind) {
      case ingest::JsonKind::kNull: return;  // no value: the column stays NULL
      case ingest::JsonKind::kObject: {
        const auto last = ingest::last_occurrences(value);
        for (size_t i = 0; i < value.members.size(); ++i) {
          if (!last[i]) continue;
          const auto& member = value.members[i];
          const std::string name = sql_name(member.key);
          const std::string child_path =
              path.empty() ? std::string(member.key) : path + "." + std::string(member.key);
          if (name.empty()) {
            std::string json;
            ingest::write_json(json, *member.value);
            quarantine(row, child_path, json,
                       "the field has no letters or digits to name a column");
            continue;
          }
          flatten(row, *member.value, column.empty() ? name : truncated(column + "_" + name),
                  child_path, fallback_prefix, top_level && column.empty());
        }
        return;
      }
      default: break;
    }
    std::string target = column;
    if (top_level && !fallback_prefix.empty() && has_column(row, target)) {
      target = truncated(std::string(fallback_prefix) + column);
    }
    switch (value.kind) {
      case ingest::JsonKind::kArray:
        if (!jsonb_numbers_fit(value)) {
          quarantine(row, path, json_without_nul(value),
                     "holds a number outside the range of jsonb");
          return;
        }
        add(row, target, ColumnType::kJson, json_without_nul(value), path);
        return;
      case ingest::JsonKind::kBool:
        add(row, target, ColumnType::kBoolean, value.boolean ? "true" : "false", path);
        return;
      case ingest::JsonKind::kNumber: {
        auto [type, text] = number_cell(value.text);
        add(row, target, type, std::move(text), path);
        return;
      }
      default: add(row, target, ColumnType::kText, without_nul(value.text), path); return;
    }
  }

  // A top-level time: timestamptz when it parses, else quarantined.
  void time(Row& row, const std::string& column, const ingest::JsonValue& value,
            std::string_view path) {
    if (value.kind == ingest::JsonKind::kNull) return;
    const auto ms = value.is_string() ? parse_iso8601_ms(value.text) : std::nullopt;
    if (!ms || *ms < kFirstTimeMs || *ms > kLastTimeMs) {
      std::string json;
      ingest::write_json(json, value);
      quarantine(row, column, json,
                 ms ? "is outside the years 1 to 9999" : "is not an ISO-8601 time");
      return;
    }
    add(row, column, ColumnType::kTimestamp, format_iso8601_ms(*ms), std::string(path));
  }

  void quarantine(const Row& row, std::string_view column, std::string_view value,
                  std::string reason) {
    out_.quarantined.push_back({std::string(utf8_prefix(message_id_, kMaxKey)), row.table,
                                std::string(utf8_prefix(column, kMaxQuarantinePath)),
                                without_nul(value), std::move(reason)});
  }

  // Rows whose key is too long to index are left out, with a quarantine record each.
  void drop_unkeyable_rows() {
    std::erase_if(out_.rows, [&](const Row& row) {
      for (const auto& cell : row.cells) {
        const bool key =
            cell.column == "id" || (row.kind == TableKind::kMemberships &&
                                    (cell.column == "audience" || cell.column == "profile_id"));
        if (key && cell.value.size() > kMaxKey) {
          quarantine(row, cell.column, utf8_prefix(cell.value, kMaxKey),
                     "is longer than " + std::to_string(kMaxKey) + " bytes, too long for a key");
          return true;
        }
      }
      return false;
    });
  }

 private:
  static bool has_column(const Row& row, std::string_view column) {
    return std::any_of(row.cells.begin(), row.cells.end(),
                       [&](const Cell& cell) { return cell.column == column; });
  }
  static std::string truncated(std::string name) {
    if (name.size() > kMaxIdentifier) name.resize(kMaxIdentifier);
    return name;
  }

  std::string_view message_id_;
  MessageRows& out_;
};

std::string_view string_member(const ingest::JsonValue& object, std::string_view key) {
  const auto* value = object.find(key);
  return value != nullptr && value->is_string() ? value->text : std::string_view();
}

// The change's seq (the raw log position of its cause) and its index among that seq's changes
// (the number after the '.' of its messageId, "audience-SEQ.INDEX"): which of two changes of one
// time came later. One seq can change a row twice: an unmerge's exit, then the part's entry.
void add_seq(RowBuilder& builder, Row& row, const ingest::JsonValue& change,
             std::string_view message_id) {
  const auto* seq = change.find("seq");
  if (seq == nullptr || seq->kind != ingest::JsonKind::kNumber) return;
  auto [type, text] = number_cell(seq->text);
  builder.add(row, "seq", type, std::move(text), "seq");
  const auto dot = message_id.rfind('.');
  if (dot == std::string_view::npos) return;
  const auto index = message_id.substr(dot + 1);
  if (index.empty() || index.size() > 9 ||
      !std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return;
  }
  builder.add(row, "seq_index", ColumnType::kBigint, std::string(index), "messageId");
}

MessageRows audience_change_rows(const ingest::JsonValue& change, std::string_view message_id) {
  MessageRows out;
  RowBuilder builder(message_id, out);
  const bool entered = string_member(change, "type") == "audience_entered";
  const std::string audience(string_member(change, "audience"));
  const std::string profile(string_member(change, "profile"));
  const auto* time = change.find("time");

  Row history{"audience_changes", TableKind::kChanges, std::string(message_id), {}};
  builder.add(history, "id", ColumnType::kText, std::string(message_id), "messageId");
  builder.add(history, "audience", ColumnType::kText, audience, "audience");
  builder.add(history, "profile_id", ColumnType::kText, profile, "profile");
  const std::string user_id = without_nul(string_member(change, "user_id"));
  if (!user_id.empty()) builder.add(history, "user_id", ColumnType::kText, user_id, "user_id");
  builder.add(history, "type", ColumnType::kText, entered ? "entered" : "exited", "type");
  if (time != nullptr) builder.time(history, "time", *time, "time");
  builder.add(history, "cause", ColumnType::kText, without_nul(string_member(change, "cause")),
              "cause");
  add_seq(builder, history, change, message_id);

  Row membership{"audience_memberships", TableKind::kMemberships, std::string(message_id), {}};
  builder.add(membership, "audience", ColumnType::kText, audience, "audience");
  builder.add(membership, "profile_id", ColumnType::kText, profile, "profile");
  if (!user_id.empty()) builder.add(membership, "user_id", ColumnType::kText, user_id, "user_id");
  builder.add(membership, "in_audience", ColumnType::kBoolean, entered ? "true" : "false", "type");
  add_seq(builder, membership, change, message_id);
  if (time != nullptr) {
    builder.time(membership, entered ? "entered_at" : "exited_at", *time, "time");
    builder.time(membership, "changed_at", *time, "time");
  }
  out.rows.push_back(std::move(history));
  out.rows.push_back(std::move(membership));
  builder.drop_unkeyable_rows();
  return out;
}

MessageRows trait_change_rows(const ingest::JsonValue& change, std::string_view message_id) {
  MessageRows out;
  RowBuilder builder(message_id, out);
  Row profile{"profiles", TableKind::kProfiles, std::string(message_id), {}};
  builder.add(profile, "id", ColumnType::kText, without_nul(string_member(change, "profile")),
              "profile");
  if (const auto user_id = string_member(change, "user_id"); !user_id.empty()) {
    builder.add(profile, "user_id", ColumnType::kText, without_nul(user_id), "user_id");
  }
  if (const auto* time = change.find("time")) builder.time(profile, "updated_at", *time, "time");
  add_seq(builder, profile, change, message_id);
  if (const auto* traits = change.find("traits"); traits != nullptr && traits->is_object()) {
    builder.flatten(profile, *traits, "", "traits", "trait_", true);
  }
  out.rows.push_back(std::move(profile));
  builder.drop_unkeyable_rows();
  return out;
}

MessageRows event_rows(const ingest::JsonValue& event, std::string_view type,
                       std::string_view message_id) {
  MessageRows out;
  RowBuilder builder(message_id, out);
  Row base{std::string(event_table(type)), TableKind::kEvents, std::string(message_id), {}};
  builder.add(base, "id", ColumnType::kText, without_nul(message_id), "messageId");
  const auto last = ingest::last_occurrences(event);
  for (size_t i = 0; i < event.members.size(); ++i) {
    if (!last[i]) continue;
    const auto& member = event.members[i];
    const std::string_view key = member.key;
    // The table says the type; properties and traits go to their own rows below; integrations
    // say where an event goes, not what it was.
    if (key == "messageId" || key == "type" || key == "properties" || key == "traits" ||
        key == "integrations") {
      continue;
    }
    const std::string column = sql_name(key);
    if (std::find(std::begin(kTimeColumns), std::end(kTimeColumns), column) !=
        std::end(kTimeColumns)) {
      builder.time(base, column, *member.value, key);
    } else if (key == "event" && member.value->is_string()) {
      // Segment's layout: event is the event's table name, event_text the name as sent.
      builder.add(base, "event", ColumnType::kText, event_table_name(member.value->text), key);
      builder.add(base, "event_text", ColumnType::kText, without_nul(member.value->text), key);
    } else if (!column.empty()) {
      builder.flatten(base, *member.value, column, std::string(key), "", false);
    }
  }
  const ingest::JsonValue* properties = event.find("properties");
  const ingest::JsonValue* traits = event.find("traits");
  if (properties != nullptr && !properties->is_object()) properties = nullptr;
  if (traits != nullptr && !traits->is_object()) traits = nullptr;

  if (type == "track") {
    const std::string own_table = event_table_name(string_member(event, "event"));
    if (!own_table.empty()) {
      Row own{own_table, TableKind::kEvents, base.message_id, base.cells};
      if (properties != nullptr) {
        builder.flatten(own, *properties, "", "properties", "property_", true);
      }
      out.rows.push_back(std::move(own));
    }
  } else if (type == "page" || type == "screen") {
    if (properties != nullptr)
      builder.flatten(base, *properties, "", "properties", "property_", true);
  } else if (type == "identify" || type == "group") {
    if (traits != nullptr) builder.flatten(base, *traits, "", "traits", "trait_", true);
  }
  const std::string_view user_id = string_member(event, "userId");
  if (type == "identify" && !user_id.empty()) {
    Row user{"users", TableKind::kUsers, base.message_id, {}};
    builder.add(user, "id", ColumnType::kText, without_nul(user_id), "userId");
    for (const std::string_view key : {"timestamp", "receivedAt"}) {
      if (const auto* value = event.find(key)) builder.time(user, sql_name(key), *value, key);
    }
    if (traits != nullptr) builder.flatten(user, *traits, "", "traits", "trait_", true);
    out.rows.push_back(std::move(user));
  }
  out.rows.insert(out.rows.begin(), std::move(base));
  builder.drop_unkeyable_rows();
  return out;
}

}  // namespace

std::string_view sql_type(ColumnType type) {
  switch (type) {
    case ColumnType::kBigint: return "bigint";
    case ColumnType::kDouble: return "double precision";
    case ColumnType::kBoolean: return "boolean";
    case ColumnType::kTimestamp: return "timestamp with time zone";
    case ColumnType::kJson: return "jsonb";
    case ColumnType::kText: break;
  }
  return "text";
}

std::optional<ColumnType> column_type_from_sql(std::string_view data_type) {
  for (const auto type : {ColumnType::kText, ColumnType::kBigint, ColumnType::kDouble,
                          ColumnType::kBoolean, ColumnType::kTimestamp, ColumnType::kJson}) {
    if (sql_type(type) == data_type) return type;
  }
  if (data_type == "character varying") return ColumnType::kText;
  return std::nullopt;
}

bool column_accepts(ColumnType column, ColumnType value) {
  return column == value || column == ColumnType::kText || column == ColumnType::kJson ||
         (column == ColumnType::kDouble && value == ColumnType::kBigint);
}

std::string sql_name(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const bool upper = c >= 'A' && c <= 'Z';
    if (std::isalnum(c) != 0 && c < 0x80) {
      // camelCase to snake_case: a capital after a lower-case letter or digit starts a word.
      if (upper && i > 0 && !out.empty() && out.back() != '_') {
        const auto previous = static_cast<unsigned char>(text[i - 1]);
        if ((previous >= 'a' && previous <= 'z') || (previous >= '0' && previous <= '9')) {
          out.push_back('_');
        }
      }
      out.push_back(static_cast<char>(upper ? c - 'A' + 'a' : c));
    } else if (!out.empty() && out.back() != '_') {
      out.push_back('_');
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  if (!out.empty() && out.front() >= '0' && out.front() <= '9') out.insert(out.begin(), '_');
  if (out.size() > kMaxIdentifier) out.resize(kMaxIdentifier);
  return out;
}

std::string event_table_name(std::string_view event) {
  std::string name = sql_name(event);
  if (name.empty()) {
    // FNV-1a: a stable name for a name with nothing usable, so its rows are not lost.
    uint64_t hash = 14695981039346656037ULL;
    for (const char c : event) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
    return "event_" + std::string(hex);
  }
  if (std::find(std::begin(kReservedTables), std::end(kReservedTables), name) !=
          std::end(kReservedTables) ||
      name.starts_with("cdp_")) {
    name.insert(name.begin(), '_');
    if (name.size() > kMaxIdentifier) name.resize(kMaxIdentifier);
  }
  return name;
}

std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  out += name;
  out += '"';
  return out;
}

Result<MessageRows> message_rows(std::string_view json, ingest::JsonParser& parser) {
  auto root = parser.parse(json);
  if (!root) return root.status();
  if (!(*root)->is_object()) return Status::invalid_argument("the message is not a JSON object");
  const auto& message = **root;
  const std::string_view message_id = string_member(message, "messageId");
  const std::string_view type = string_member(message, "type");
  if (type == "audience_entered" || type == "audience_exited") {
    return audience_change_rows(message, message_id);
  }
  if (type == "traits_changed") return trait_change_rows(message, message_id);
  if (event_table(type).empty()) {
    return Status::invalid_argument("the message's type '" + std::string(type) +
                                    "' is not one the warehouse has a table for");
  }
  return event_rows(message, type, message_id);
}

}  // namespace cdp::activation
