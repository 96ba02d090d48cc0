#include "match/field.h"

#include <array>
#include <utility>

namespace cdp::match {
namespace {

constexpr std::array<std::pair<std::string_view, FieldKind>, 14> kNames = {{
    {"first_name", FieldKind::kFirstName},
    {"surname", FieldKind::kSurname},
    {"full_name", FieldKind::kFullName},
    {"date", FieldKind::kDate},
    {"email", FieldKind::kEmail},
    {"phone", FieldKind::kPhone},
    {"postcode", FieldKind::kPostcode},
    {"place", FieldKind::kPlace},
    {"address", FieldKind::kAddress},
    {"house_number", FieldKind::kHouseNumber},
    {"number", FieldKind::kNumber},
    {"identifier", FieldKind::kIdentifier},
    {"category", FieldKind::kCategory},
    {"text", FieldKind::kText},
}};

constexpr std::array<std::pair<std::string_view, FieldKind>, 15> kSynonyms = {{
    {"given_name", FieldKind::kFirstName},
    {"forename", FieldKind::kFirstName},
    {"last_name", FieldKind::kSurname},
    {"family_name", FieldKind::kSurname},
    {"name", FieldKind::kFullName},
    {"dob", FieldKind::kDate},
    {"date_of_birth", FieldKind::kDate},
    {"zip", FieldKind::kPostcode},
    {"postal_code", FieldKind::kPostcode},
    {"city", FieldKind::kPlace},
    {"street", FieldKind::kAddress},
    {"street_number", FieldKind::kHouseNumber},
    {"id", FieldKind::kIdentifier},
    {"gender", FieldKind::kCategory},
    {"state", FieldKind::kCategory},
}};

}  // namespace

bool is_location(FieldKind kind) {
  return kind == FieldKind::kPostcode || kind == FieldKind::kPlace || kind == FieldKind::kAddress ||
         kind == FieldKind::kHouseNumber;
}

std::string_view field_kind_name(FieldKind kind) {
  for (const auto& [name, value] : kNames) {
    if (value == kind) return name;
  }
  return "text";
}

std::optional<FieldKind> parse_field_kind(std::string_view name) {
  for (const auto& [known, kind] : kNames) {
    if (known == name) return kind;
  }
  for (const auto& [known, kind] : kSynonyms) {
    if (known == name) return kind;
  }
  return std::nullopt;
}

}  // namespace cdp::match
