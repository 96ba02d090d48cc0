#include "identity/normalizer.h"

#include <phonenumbers/phonenumberutil.h>
#include <utf8proc.h>

#include <cstdlib>
#include <memory>

#include "identity/identifier.h"

namespace cdp::identity {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

std::string_view trim(std::string_view text) {
  auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

bool is_ascii(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> normalize_unicode(std::string_view text, bool fold_case,
                                             bool strip_marks) {
  if (is_ascii(text)) {
    // ASCII is already NFC; folding it is lower-casing. The common case avoids utf8proc.
    std::string out(text);
    if (fold_case) {
      for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      }
    }
    return out;
  }
  utf8proc_uint8_t* mapped = nullptr;
  int options = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
  if (fold_case) options |= UTF8PROC_CASEFOLD;
  if (strip_marks) options |= UTF8PROC_STRIPMARK;
  const auto length = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                   static_cast<utf8proc_ssize_t>(text.size()), &mapped,
                                   static_cast<utf8proc_option_t>(options));
  if (length < 0) return std::nullopt;
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(mapped, &std::free);
  return std::string(reinterpret_cast<const char*>(mapped), static_cast<size_t>(length));
}

IdentifierNormalizer::IdentifierNormalizer(std::string default_region)
    : default_region_(std::move(default_region)) {}

std::optional<std::string> IdentifierNormalizer::normalize(std::string_view type,
                                                           std::string_view raw) const {
  const auto text = trim(raw);
  if (text.empty()) return std::nullopt;
  if (type == kPhone) return normalize_phone(text);
  auto value = normalize_unicode(text, type == kEmail);
  if (!value || value->empty()) return std::nullopt;
  return value;
}

std::optional<std::string> IdentifierNormalizer::normalize_phone(std::string_view text) const {
  const auto* util = PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  if (util->Parse(std::string(text), default_region_, &number) !=
      PhoneNumberUtil::NO_PARSING_ERROR) {
    return std::nullopt;
  }
  if (!util->IsPossibleNumber(number)) return std::nullopt;
  std::string e164;
  util->Format(number, PhoneNumberUtil::E164, &e164);
  return e164;
}

bool is_known_phone_region(std::string_view region) {
  return PhoneNumberUtil::GetInstance()->GetCountryCodeForRegion(std::string(region)) != 0;
}

}  // namespace cdp::identity
