#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cdp::identity {

// Turns an identifier value as sent into its canonical form, so that the same customer's
// identifier matches however it was typed:
//   - every type: surrounding whitespace trimmed, Unicode NFC;
//   - email: also case-folded ("Jane@Example.COM " -> "jane@example.com");
//   - phone: E.164 via libphonenumber, numbers without a country code read in `default_region`
//     ("(415) 555-0132" -> "+14155550132"); a value that cannot be a phone number is refused.
// Stateless after construction; thread-safe.
class IdentifierNormalizer {
 public:
  // `default_region`: ISO 3166-1 alpha-2 code, e.g. "US", "GB", "DE".
  explicit IdentifierNormalizer(std::string default_region = "US");

  // The canonical value, or nullopt when `raw` cannot be an identifier of `type` (empty after
  // trimming, not a possible phone number, not valid UTF-8).
  std::optional<std::string> normalize(std::string_view type, std::string_view raw) const;

  const std::string& default_region() const { return default_region_; }

 private:
  std::optional<std::string> normalize_phone(std::string_view text) const;

  std::string default_region_;
};

// NFC text, case-folded when `fold_case`, without accents (combining marks) when `strip_marks`
// ("José" -> "jose" with both). nullopt for invalid UTF-8. ASCII input skips utf8proc.
std::optional<std::string> normalize_unicode(std::string_view text, bool fold_case,
                                             bool strip_marks = false);

// True when `region` is a region libphonenumber knows (for validating configuration).
bool is_known_phone_region(std::string_view region);

}  // namespace cdp::identity
