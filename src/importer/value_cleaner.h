#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "identity/normalizer.h"
#include "importer/mapping.h"

namespace cdp::importer {

// One value as a reader found it.
struct Cell {
  enum class Kind {
    kText,      // a CSV field or a JSON string
    kScalar,    // a JSON number or boolean, as its source text
    kComposite  // a JSON object or array, as compact JSON
  };
  Kind kind = Kind::kText;
  std::string text;  // empty (or a JSON null) means missing
};

// Checks a value against its column's type and writes its normalised form as a JSON value:
// "  Jane@Example.COM " -> "\"jane@example.com\"", "(415) 555-0132" -> "\"+14155550132\"",
// "07/03/1984" with format "%d/%m/%Y" -> "\"1984-03-07\"". Stateless after construction;
// thread-safe.
class ValueCleaner {
 public:
  explicit ValueCleaner(std::string phone_region);

  // nullopt when the value is missing (empty after trimming, or JSON null); otherwise the JSON
  // value, or kInvalidArgument whose message is the reason, written to follow the column name
  // ("is not a valid email address").
  Result<std::optional<std::string>> clean(const Cell& cell, const ColumnMapping& column) const;

 private:
  identity::IdentifierNormalizer phones_;
};

}  // namespace cdp::importer
