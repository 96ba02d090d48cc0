#include "importer/value_cleaner.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <ctime>

#include "common/json_writer.h"
#include "common/time_format.h"
#include "ingest/json_tree.h"

namespace cdp::importer {
namespace {

Status reason(std::string text) { return Status::invalid_argument(std::move(text)); }

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\r' ||
                           text.front() == '\n'))
    text.remove_prefix(1);
  while (!text.empty() &&
         (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' || text.back() == '\n'))
    text.remove_suffix(1);
  return text;
}

std::string json_string(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

Result<std::string> unicode(std::string_view text, bool fold_case) {
  auto normalized = identity::normalize_unicode(text, fold_case);
  if (!normalized) {
    return reason(
        "is not valid UTF-8 (if the file is Latin-1, set encoding = \"latin-1\" in the "
        "mapping)");
  }
  return std::move(*normalized);
}

bool is_leap(int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

bool is_date(int64_t year, int month, int day) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1) return false;
  return day <= kDays[month - 1] + (month == 2 && is_leap(year) ? 1 : 0);
}

std::string format_date(int64_t year, int month, int day) {
  char out[16];
  std::snprintf(out, sizeof out, "%04d-%02d-%02d", static_cast<int>(year), month, day);
  return out;
}

template <typename T>
bool parse_whole(std::string_view text, T& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

// strptime over the whole text; tm fields are left as parsed.
bool parse_with_format(std::string_view text, const std::string& format, std::tm& tm) {
  tm = std::tm{};
  tm.tm_mday = 1;
  const std::string copy(text);
  const char* end = ::strptime(copy.c_str(), format.c_str(), &tm);
  return end != nullptr && *end == '\0';
}

Result<std::string> clean_date(std::string_view text, const ColumnMapping& column) {
  int64_t year = 0;
  int month = 0, day = 0;
  if (!column.format.empty()) {
    std::tm tm;
    if (!parse_with_format(text, column.format, tm)) {
      return reason("is not a date in the format \"" + column.format + "\"");
    }
    year = tm.tm_year + 1900;
    month = tm.tm_mon + 1;
    day = tm.tm_mday;
  } else if (text.size() == 8 && parse_whole(text.substr(0, 4), year) &&
             parse_whole(text.substr(4, 2), month) && parse_whole(text.substr(6, 2), day)) {
    // YYYYMMDD, as many exports write dates of birth.
  } else if (text.size() >= 10 && text[4] == text[7] && (text[4] == '-' || text[4] == '/') &&
             parse_whole(text.substr(0, 4), year) && parse_whole(text.substr(5, 2), month) &&
             parse_whole(text.substr(8, 2), day) && (text.size() == 10 || parse_iso8601_ms(text))) {
    // YYYY-MM-DD, YYYY/MM/DD, or a full ISO 8601 date-time whose date is taken.
  } else {
    return reason(
        "is not a date: write YYYY-MM-DD, or give the column a format such as "
        "\"%d/%m/%Y\"");
  }
  if (!is_date(year, month, day)) return reason("is not a calendar date");
  return json_string(format_date(year, month, day));
}

Result<std::string> clean_timestamp(std::string_view text, const ColumnMapping& column) {
  int64_t ms = 0;
  if (column.type == ValueType::kDate) {
    auto date = clean_date(text, column);
    if (!date) return date.status();
    auto parsed = parse_iso8601_ms(std::string_view(*date).substr(1, 10));
    if (!parsed) return reason("is not a date");
    ms = *parsed;
  } else if (!column.format.empty()) {
    std::tm tm;
    if (!parse_with_format(text, column.format, tm)) {
      return reason("is not a date-time in the format \"" + column.format + "\"");
    }
    if (!is_date(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday)) {
      return reason("is not a calendar date");
    }
    ms = static_cast<int64_t>(::timegm(&tm)) * 1000;
  } else if (int64_t number = 0; parse_whole(text, number)) {
    // Unix time: seconds for ten digits or fewer (until 2286), milliseconds above.
    if (number < 0) return reason("is a negative Unix time");
    ms = number < 100'000'000'000 ? number * 1000 : number;
    if (ms > 253'402'300'799'999) return reason("is a Unix time after the year 9999");
  } else if (auto parsed = parse_iso8601_ms(text)) {
    ms = *parsed;
  } else {
    return reason("is not an ISO 8601 date-time (2024-05-01T12:30:00Z) or a Unix time");
  }
  return json_string(format_iso8601_ms(ms));
}

Result<std::string> clean_email(std::string_view text) {
  auto folded = unicode(text, true);
  if (!folded) return folded.status();
  const std::string& email = *folded;
  const auto at = email.find('@');
  const bool one_at = at != std::string::npos && email.find('@', at + 1) == std::string::npos;
  const std::string_view domain =
      one_at ? std::string_view(email).substr(at + 1) : std::string_view();
  const auto dot = domain.rfind('.');
  const bool valid = one_at && at > 0 && dot != std::string_view::npos && dot > 0 &&
                     dot + 1 < domain.size() && domain.find("..") == std::string_view::npos &&
                     domain.front() != '.' &&
                     email.find_first_of(" \t,;<>()[]\\\"") == std::string::npos;
  if (!valid) return reason("is not an email address");
  return json_string(email);
}

bool is_ascii_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_ascii_lower(char c) { return c >= 'a' && c <= 'z'; }

Result<std::string> clean_name(std::string_view text) {
  auto normalized = unicode(text, false);
  if (!normalized) return normalized.status();
  std::string name;
  bool space = false, has_upper = false, has_lower = false, has_letter = false;
  for (unsigned char c : *normalized) {
    if (c < 0x20 || c == 0x7f) return reason("contains a control character");
    if (c >= '0' && c <= '9') return reason("contains digits, which a name does not");
    if (c == ' ' || c == '\t') {
      space = !name.empty();
      continue;
    }
    if (space) name.push_back(' ');
    space = false;
    has_upper = has_upper || is_ascii_upper(static_cast<char>(c));
    has_lower = has_lower || is_ascii_lower(static_cast<char>(c));
    has_letter = has_letter || c >= 0x80 || std::isalpha(c);
    name.push_back(static_cast<char>(c));
  }
  if (!has_letter) return reason("has no letters");
  // "JOHN O'BRIEN" and "john o'brien" become "John O'Brien"; mixed case is kept as written
  // ("McDonald", "van der Berg").
  if (has_upper != has_lower) {
    bool start = true;
    for (char& c : name) {
      if (start && is_ascii_lower(c)) c = static_cast<char>(c - 'a' + 'A');
      if (!start && is_ascii_upper(c)) c = static_cast<char>(c - 'A' + 'a');
      start = c == ' ' || c == '-' || c == '\'';
    }
  }
  return json_string(name);
}

Result<std::string> clean_postcode(std::string_view text) {
  std::string code;
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\t') {
      space = !code.empty();
      continue;
    }
    if (is_ascii_lower(c)) c = static_cast<char>(c - 'a' + 'A');
    const bool allowed = is_ascii_upper(c) || (c >= '0' && c <= '9') || c == '-';
    if (!allowed) return reason("is not a postcode (letters, digits, spaces and hyphens)");
    if (space) code.push_back(' ');
    space = false;
    code.push_back(c);
  }
  if (code.size() < 2 || code.size() > 10) return reason("is not a postcode (2 to 10 characters)");
  return json_string(code);
}

}  // namespace

ValueCleaner::ValueCleaner(std::string phone_region) : phones_(std::move(phone_region)) {}

Result<std::optional<std::string>> ValueCleaner::clean(const Cell& cell,
                                                       const ColumnMapping& column) const {
  using Out = std::optional<std::string>;
  if (cell.kind == Cell::Kind::kComposite) {
    if (column.type == ValueType::kJson) return Out(cell.text);
    return reason("is a JSON object or array where a " + std::string(value_type_name(column.type)) +
                  " was expected (give the column type = \"json\" to keep it as it is)");
  }
  if (cell.kind == Cell::Kind::kScalar && cell.text == "null") return Out();
  const std::string_view text = trim(cell.text);
  if (text.empty()) return Out();
  if (column.type == ValueType::kJson) {
    return Out(cell.kind == Cell::Kind::kScalar ? std::string(text) : json_string(text));
  }
  Result<std::string> cleaned = std::string();
  switch (column.type) {
    case ValueType::kString: {
      auto normalized = unicode(text, false);
      if (!normalized) return normalized.status();
      cleaned = json_string(*normalized);
      break;
    }
    case ValueType::kNumber: {
      double value = 0;
      if (!ingest::is_json_number(text) || !parse_whole(text, value) || !std::isfinite(value)) {
        return reason("is not a number (write 1234.5, without thousands separators)");
      }
      cleaned = std::string(text);
      break;
    }
    case ValueType::kInteger: {
      int64_t value = 0;
      if (!parse_whole(text.starts_with('+') ? text.substr(1) : text, value)) {
        return reason("is not a whole number");
      }
      cleaned = std::to_string(value);
      break;
    }
    case ValueType::kBoolean: {
      std::string lower(text.substr(0, 8));
      for (char& c : lower) {
        if (is_ascii_upper(c)) c = static_cast<char>(c - 'A' + 'a');
      }
      if (lower == "true" || lower == "yes" || lower == "y" || lower == "t" || lower == "1") {
        cleaned = std::string("true");
      } else if (lower == "false" || lower == "no" || lower == "n" || lower == "f" ||
                 lower == "0") {
        cleaned = std::string("false");
      } else {
        return reason("is not true or false (or yes/no, 1/0)");
      }
      break;
    }
    case ValueType::kDate: cleaned = clean_date(text, column); break;
    case ValueType::kTimestamp: cleaned = clean_timestamp(text, column); break;
    case ValueType::kEmail: cleaned = clean_email(text); break;
    case ValueType::kPhone: {
      auto phone = phones_.normalize("phone", text);
      if (!phone) {
        return reason("is not a phone number (numbers without a country code are read in region " +
                      phones_.default_region() + "; set phone_region in the mapping)");
      }
      cleaned = json_string(*phone);
      break;
    }
    case ValueType::kName: cleaned = clean_name(text); break;
    case ValueType::kPostcode: cleaned = clean_postcode(text); break;
    case ValueType::kJson: break;
  }
  if (!cleaned) return cleaned.status();
  return Out(std::move(*cleaned));
}

}  // namespace cdp::importer
