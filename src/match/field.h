#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cdp::match {

// What a column holds. The kind decides how values are normalised, which comparison levels
// the default model uses for it, and whether it may be a blocking key. Declaring kinds is the
// only per-data-set input the default model needs.
enum class FieldKind {
  kFirstName,    // given name: nicknames, swapped with the surname
  kSurname,      // family name
  kFullName,     // whole name in one column: token order does not matter
  kDate,         // date of birth and the like: typos, days apart
  kEmail,        // e-mail address: local part, domain
  kPhone,        // phone number: digits, last digits
  kPostcode,     // postal code: typos, district prefix
  kPlace,        // city, suburb, birth place
  kAddress,      // street address: token overlap
  kHouseNumber,  // house or street number: part of the address, exact or one typo
  kNumber,       // house number, age: typos, numeric difference
  kIdentifier,   // national or customer id: exact or one typo
  kCategory,     // gender, state, occupation: exact only
  kText,         // anything else: string similarity
};

// Postcode, place, address and house number: where someone lives. Strangers in one household
// agree on all of them, so they are not independent evidence (see Model).
bool is_location(FieldKind kind);

// The kind's name as used in mapping and model files ("first_name", "date", ...).
std::string_view field_kind_name(FieldKind kind);

// Parses a kind name; also accepts common synonyms ("given_name", "last_name", "dob", "zip",
// "city"). nullopt when unknown.
std::optional<FieldKind> parse_field_kind(std::string_view name);

// One input column and what it holds.
struct FieldSpec {
  std::string column;
  FieldKind kind = FieldKind::kText;
};

}  // namespace cdp::match
