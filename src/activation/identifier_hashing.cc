#include "activation/identifier_hashing.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

#include "common/check.h"

namespace cdp::activation {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

}  // namespace

std::optional<HashRule> parse_hash_rule(std::string_view name) {
  if (name == "none") return HashRule::kNone;
  if (name == "sha256") return HashRule::kSha256;
  if (name == "google") return HashRule::kGoogle;
  if (name == "meta") return HashRule::kMeta;
  return std::nullopt;
}

std::string_view hash_rule_name(HashRule rule) {
  switch (rule) {
    case HashRule::kNone: return "none";
    case HashRule::kSha256: return "sha256";
    case HashRule::kGoogle: return "google";
    case HashRule::kMeta: return "meta";
  }
  return "none";
}

bool is_sha256_hex(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c)) != 0;
         });
}

std::string sha256_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  CDP_CHECK(EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr) == 1);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

std::optional<std::string> write_email(std::string_view email, HashRule rule) {
  std::string normal;
  if (rule == HashRule::kMeta) {
    for (const char c : email) {
      if (!std::isspace(static_cast<unsigned char>(c))) normal += c;
    }
    normal = lower(normal);
  } else {
    normal = lower(trim(email));
  }
  if (normal.empty()) return std::nullopt;
  if (rule == HashRule::kNone) return normal;
  if (is_sha256_hex(normal)) return normal;
  if (rule == HashRule::kGoogle) {
    const auto at = normal.rfind('@');
    if (at != std::string::npos) {
      const auto domain = std::string_view(normal).substr(at + 1);
      if (domain == "gmail.com" || domain == "googlemail.com") {
        std::string local = normal.substr(0, at);
        std::erase(local, '.');
        normal = local + normal.substr(at);
      }
    }
  }
  return sha256_hex(normal);
}

std::optional<std::string> write_phone(std::string_view phone, HashRule rule) {
  const auto trimmed = trim(phone);
  if (is_sha256_hex(trimmed)) return lower(trimmed);  // already hashed: never mangled or rehashed
  std::string digits;
  for (const char c : trimmed) {
    if (c >= '0' && c <= '9') digits += c;
  }
  if (digits.empty()) return std::nullopt;
  const std::string e164 = "+" + digits;
  switch (rule) {
    case HashRule::kNone: return e164;
    case HashRule::kMeta: return sha256_hex(digits);
    case HashRule::kSha256:
    case HashRule::kGoogle: return sha256_hex(e164);
  }
  return std::nullopt;
}

}  // namespace cdp::activation
