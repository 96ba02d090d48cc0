#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "identity/normalizer.h"
#include "match/field.h"

namespace cdp::match {

// A value ready for comparison.
struct NormalizedValue {
  std::string text;      // canonical text; empty when the value is missing
  int32_t day = kNoDay;  // dates: days since 1970-01-01
  static constexpr int32_t kNoDay = INT32_MIN;
};

// Turns raw field values into the forms comparisons work on:
//   - text kinds: Unicode decomposed, accents stripped, case-folded, punctuation to spaces,
//     whitespace collapsed ("  O'Brien-Smith " -> "o brien smith"); addresses also abbreviate
//     street types ("street" -> "st");
//   - dates: "YYYY-MM-DD", "YYYY/MM/DD", "YYYYMMDD" and "DD/MM/YYYY" become "YYYYMMDD" and a day
//     number; other text is kept (digits only) for typo comparisons, without a day number;
//   - e-mail: trimmed and case-folded; phone: E.164 when libphonenumber can read it, else digits;
//   - postcodes, numbers, identifiers: letters and digits only, lower-case.
// Placeholders ("null", "n/a", "unknown", "-", ...) are missing values.
// Stateless after construction; thread-safe.
class FieldNormalizer {
 public:
  explicit FieldNormalizer(std::string phone_region = "US");

  NormalizedValue normalize(FieldKind kind, std::string_view raw) const;

 private:
  identity::IdentifierNormalizer identifiers_;
};

// Case-folded, accent-free, punctuation-free text with single spaces (the text kinds' form).
std::string fold_text(std::string_view raw);

}  // namespace cdp::match
