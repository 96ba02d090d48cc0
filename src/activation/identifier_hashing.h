#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cdp::activation {

// How identifiers are written for an ad platform's audience upload
// (../shared/reference/privacy-and-activation.md, "Hashing PII for ad platforms").
enum class HashRule {
  kNone,    // as stored (already normalised by cdp: emails trimmed and lower-cased, phones E.164)
  kSha256,  // SHA-256 hex of the trimmed, lower-cased email and of the E.164 phone
  kGoogle,  // as kSha256, and dots removed before the @ of gmail.com / googlemail.com addresses
  kMeta,    // SHA-256 hex of the email without any whitespace, lower-cased, and of the phone's
            // digits only (country code included, no '+')
};

std::optional<HashRule> parse_hash_rule(std::string_view name);
std::string_view hash_rule_name(HashRule rule);

// The email as the rule writes it; nullopt when there is nothing left to write. A value that is
// already a SHA-256 hex digest (64 hex digits) passes unchanged (lower-cased), so nothing is
// hashed twice.
std::optional<std::string> write_email(std::string_view email, HashRule rule);
// The phone (E.164, "+15551234567") as the rule writes it; nullopt when it has no digits.
std::optional<std::string> write_phone(std::string_view phone, HashRule rule);

bool is_sha256_hex(std::string_view text);
std::string sha256_hex(std::string_view text);

}  // namespace cdp::activation
