#include "match/field_normalizer.h"

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <utility>

namespace cdp::match {
namespace {

constexpr std::array<std::string_view, 10> kPlaceholders = {
    "null", "none", "n/a", "na", "nan", "unknown", "-", "?", "undefined", "nil"};

constexpr std::array<std::pair<std::string_view, std::string_view>, 18> kStreetTypes = {{
    {"street", "st"},
    {"road", "rd"},
    {"avenue", "ave"},
    {"place", "pl"},
    {"drive", "dr"},
    {"court", "ct"},
    {"crescent", "cres"},
    {"circuit", "cct"},
    {"lane", "ln"},
    {"terrace", "tce"},
    {"boulevard", "blvd"},
    {"highway", "hwy"},
    {"parade", "pde"},
    {"close", "cl"},
    {"square", "sq"},
    {"apartment", "apt"},
    {"north", "n"},
    {"south", "s"},
}};

// Accents stripped and case folded; invalid UTF-8 is a missing value.
std::string strip_and_fold(std::string_view raw) {
  return identity::normalize_unicode(raw, /*fold_case=*/true, /*strip_marks=*/true).value_or("");
}

bool is_alnum_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
}

// Letters and digits only.
std::string compact(std::string_view raw) {
  std::string out;
  for (char c : strip_and_fold(raw)) {
    if (is_alnum_byte(static_cast<unsigned char>(c))) out.push_back(c);
  }
  return out;
}

std::string abbreviate_street_types(const std::string& text) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    std::string_view token(text.data() + start, end - start);
    for (const auto& [word, abbreviation] : kStreetTypes) {
      if (token == word) {
        token = abbreviation;
        break;
      }
    }
    if (!out.empty()) out.push_back(' ');
    out.append(token);
    start = end + 1;
  }
  return out;
}

int parse_digits(std::string_view text) {
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return text.empty() ? -1 : value;
}

NormalizedValue normalize_date(std::string_view raw) {
  NormalizedValue out;
  std::string_view text = raw;
  if (text.size() > 10 && text[10] == 'T') text = text.substr(0, 10);  // ISO date-time
  int year = -1;
  int month = -1;
  int day = -1;
  if (text.size() == 10 && (text[4] == '-' || text[4] == '/') && text[7] == text[4]) {
    year = parse_digits(text.substr(0, 4));
    month = parse_digits(text.substr(5, 2));
    day = parse_digits(text.substr(8, 2));
  } else if (text.size() == 10 && (text[2] == '/' || text[2] == '.' || text[2] == '-') &&
             text[5] == text[2]) {
    day = parse_digits(text.substr(0, 2));
    month = parse_digits(text.substr(3, 2));
    year = parse_digits(text.substr(6, 4));
  } else if (text.size() == 8) {
    year = parse_digits(text.substr(0, 4));
    month = parse_digits(text.substr(4, 2));
    day = parse_digits(text.substr(6, 2));
  }
  if (year >= 0 && month >= 0 && day >= 0) {
    out.text = fmt::format("{:04}{:02}{:02}", year, month, day);
    const std::chrono::year_month_day date{std::chrono::year(year),
                                           std::chrono::month(static_cast<unsigned>(month)),
                                           std::chrono::day(static_cast<unsigned>(day))};
    if (date.ok()) {
      out.day = static_cast<int32_t>(std::chrono::sys_days(date).time_since_epoch().count());
    }
    return out;
  }
  out.text = compact(raw);  // not a date we can read: kept for typo comparisons
  return out;
}

}  // namespace

std::string fold_text(std::string_view raw) {
  std::string out;
  bool space = false;
  for (char c : strip_and_fold(raw)) {
    if (is_alnum_byte(static_cast<unsigned char>(c))) {
      if (space && !out.empty()) out.push_back(' ');
      space = false;
      out.push_back(c);
    } else {
      space = true;
    }
  }
  return out;
}

FieldNormalizer::FieldNormalizer(std::string phone_region)
    : identifiers_(std::move(phone_region)) {}

NormalizedValue FieldNormalizer::normalize(FieldKind kind, std::string_view raw) const {
  while (!raw.empty() && (raw.front() == ' ' || raw.front() == '\t')) raw.remove_prefix(1);
  while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t')) raw.remove_suffix(1);
  NormalizedValue out;
  if (raw.empty()) return out;
  if (raw.size() <= 9) {
    const std::string lower = strip_and_fold(raw);
    for (std::string_view placeholder : kPlaceholders) {
      if (lower == placeholder) return out;
    }
  }
  switch (kind) {
    case FieldKind::kDate: return normalize_date(raw);
    case FieldKind::kEmail:
      out.text = identifiers_.normalize("email", raw).value_or("");
      if (out.text.find('@') == std::string::npos) out.text.clear();
      return out;
    case FieldKind::kPhone:
      out.text = identifiers_.normalize("phone", raw).value_or(compact(raw));
      return out;
    case FieldKind::kNumber:
      // A decimal point and a sign are part of the number; spaces and thousands separators
      // are not.
      for (char c : strip_and_fold(raw)) {
        if (is_alnum_byte(static_cast<unsigned char>(c)) || c == '.' || c == '-') {
          out.text.push_back(c);
        }
      }
      return out;
    case FieldKind::kPostcode:
    case FieldKind::kHouseNumber:
    case FieldKind::kIdentifier: out.text = compact(raw); return out;
    case FieldKind::kAddress: out.text = abbreviate_street_types(fold_text(raw)); return out;
    case FieldKind::kFirstName:
    case FieldKind::kSurname:
    case FieldKind::kFullName:
    case FieldKind::kPlace:
    case FieldKind::kCategory:
    case FieldKind::kText: out.text = fold_text(raw); return out;
  }
  return out;
}

}  // namespace cdp::match
