#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cdp::importer {

// How one value of a file is checked and normalised before it enters the log (value_cleaner.h).
enum class ValueType {
  kString,     // trimmed, Unicode NFC
  kNumber,     // a finite decimal number
  kInteger,    // a whole number that fits 64 bits
  kBoolean,    // true/false, yes/no, y/n, t/f, 1/0 (any case)
  kDate,       // a calendar date, written YYYY-MM-DD
  kTimestamp,  // an ISO 8601 date-time or Unix seconds/milliseconds, written ISO 8601 UTC
  kEmail,      // trimmed, lower-cased, one @ with a dotted domain
  kPhone,      // E.164 through libphonenumber (default region from the mapping)
  kName,       // a person's name: whitespace collapsed, ALL CAPS or all lower case title-cased
  kPostcode,   // upper-cased, inner whitespace collapsed, letters, digits, space or hyphen
  kJson,       // JSON Lines only: any JSON value, passed through
};

std::string_view value_type_name(ValueType type);
std::optional<ValueType> parse_value_type(std::string_view name);

// What a column of the file becomes in the event written for its row.
enum class ColumnRole {
  kIdentifier,  // an identifier of `target` type: user_id, anonymous_id, email, phone, or custom
  kTrait,       // traits.<target> (records) or context.traits.<target> (events)
  kProperty,    // properties.<target> (events only)
  kTimestamp,   // the event's timestamp
  kEventName,   // the track event's name (events only)
  kMessageId,   // the event's messageId: re-sending a row with the same id adds nothing
};

struct ColumnMapping {
  std::string column;  // the header name (CSV) or top-level key (JSON Lines)
  ColumnRole role = ColumnRole::kTrait;
  std::string target;  // identifier type, trait or property name
  ValueType type = ValueType::kString;
  bool required = false;  // an empty value sends the row to quarantine
  // kDate and kTimestamp: a strptime format ("%d/%m/%Y") instead of ISO 8601.
  std::string format;
};

// Whether each row is a profile record (an identify) or an event (a track).
enum class RowKind { kRecords, kEvents };
enum class FileFormat { kAuto, kCsv, kJsonLines };

// A mapping file (TOML, docs/import.md) says what each column of a file is:
//
//   kind = "records"            # or "events"
//   source = "crm"              # the source name events are stored under
//   [columns]
//   customer_id = { identifier = "user_id", required = true }
//   email = { identifier = "email" }
//   first_name = { trait = "firstName", type = "name" }
//   updated = { timestamp = true }
//
// Mappings are validated as a whole when parsed: an unknown key, a role that does not fit the
// kind, or a records mapping without an identifier column is an error naming the key.
struct ImportMapping {
  std::string name;  // set by whoever stores the mapping (the file's stem by default)
  RowKind kind = RowKind::kRecords;
  std::string source = "import";
  FileFormat format = FileFormat::kAuto;
  bool latin1 = false;  // CSV only: the file is Latin-1, not UTF-8
  char delimiter = ',';
  std::string event;         // events: the name of every row's event when no column names it
  std::string phone_region;  // empty: the server's [identity] phone_default_region
  std::vector<ColumnMapping> columns;  // in file order once bound (see import_job.h)

  // The mapping's own text, kept so that a stored mapping reads as it was written.
  std::string text;

  static Result<ImportMapping> parse_toml(std::string_view text, std::string_view origin);
};

}  // namespace cdp::importer
