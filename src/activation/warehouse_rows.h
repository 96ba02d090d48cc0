#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/json_tree.h"

namespace cdp::activation {

// What the warehouse tables are made of: each message a destination delivers becomes rows of
// named, typed cells, Segment's warehouse layout (docs/activation.md#postgresql):
//   - an event: a row in its type's table (tracks, identifies, pages, screens, groups, aliases),
//     keyed by messageId, with the top level and context flattened into columns (context.page.url
//     becomes context_page_url); a track also gets a row in its event's own table (Order
//     Completed becomes order_completed) with the properties as columns; an identify with a
//     userId also updates that user's row in users (the traits as columns).
//   - an audience change: a row in audience_changes and the profile's row in
//     audience_memberships.
//   - a trait change: the profile's row in profiles (the changed traits as columns).
// Pure functions: no database. PostgresSender checks the cells against the tables it finds.

enum class ColumnType { kText, kBigint, kDouble, kBoolean, kTimestamp, kJson };

// How PostgreSQL names the type: in CREATE/ALTER, and in information_schema.columns.data_type.
std::string_view sql_type(ColumnType type);
// The type of a column as information_schema names it; nullopt for types cdp does not write.
std::optional<ColumnType> column_type_from_sql(std::string_view data_type);
// Whether a value of type `value` may be stored in a column of type `column`: the same type, an
// integer in a double column, anything in a text or json column. Otherwise it is quarantined.
bool column_accepts(ColumnType column, ColumnType value);

struct Cell {
  std::string column;
  ColumnType type = ColumnType::kText;
  std::string value;  // PostgreSQL's text form of the value (JSON for kJson)
  std::string path;   // where it came from in the message ("properties.price"), for quarantine
};

// What a table's rows do with a row whose key is already there.
enum class TableKind {
  kEvents,       // keyed by id (the messageId); a reloaded row is skipped
  kUsers,        // keyed by id (the userId); newer values replace older ones, column by column
  kMemberships,  // keyed by (audience, profile_id); the latest change wins
  kChanges,      // audience_changes, keyed by id; a reloaded row is skipped
  kProfiles,     // keyed by id (the profile); like users, by updated_at
};

struct Row {
  std::string table;
  TableKind kind = TableKind::kEvents;
  std::string message_id;   // the message the row came from
  std::vector<Cell> cells;  // the key cells first; at most one cell per column
};

// A value that cannot be loaded as it is: kept in cdp_quarantine instead of failing the load.
struct Quarantined {
  std::string message_id;
  std::string table;
  std::string column;
  std::string value;
  std::string reason;
};

struct MessageRows {
  std::vector<Row> rows;
  std::vector<Quarantined> quarantined;
};

// The tables cdp creates itself; an event's own table never takes one of these names.
inline constexpr std::string_view kReservedTables[] = {
    "tracks",        "identifies", "pages",    "screens",          "groups",
    "aliases",       "users",      "profiles", "audience_changes", "audience_memberships",
    "cdp_quarantine"};

// A column or table name from a JSON key or event name: snake_case (anonymousId becomes
// anonymous_id), only [a-z0-9_], not starting with a digit, at most 63 bytes (PostgreSQL's
// limit). Empty when nothing usable is left.
std::string sql_name(std::string_view text);
// The table of a track event's own rows: sql_name(event), prefixed with "_" when it would take a
// reserved name or start with cdp_; "event_" and a hash of the name when it has no ASCII letters
// or digits ("購入完了"). At most 63 bytes.
std::string event_table_name(std::string_view event);

// The rows of one message (an event of the raw log, or an audience change as select_change
// writes it). `parser` is scratch space. Errors only for text that is not a JSON object.
Result<MessageRows> message_rows(std::string_view json, ingest::JsonParser& parser);

// Double-quoted SQL identifier. REQUIRES: `name` came from sql_name or is a fixed name.
std::string quote_identifier(std::string_view name);

}  // namespace cdp::activation
