#include "identity/identifier.h"

namespace cdp::identity {

std::string Identifier::key() const {
  std::string key;
  key.reserve(type.size() + 1 + value.size());
  key.append(type);
  key.push_back('\0');
  key.append(value);
  return key;
}

std::string Identifier::display() const { return type + ":" + value; }

Result<Identifier> identifier_from_key(std::string_view key) {
  const auto nul = key.find('\0');
  if (nul == std::string_view::npos) {
    return Status::corruption("identifier index key without a type separator");
  }
  return Identifier{std::string(key.substr(0, nul)), std::string(key.substr(nul + 1))};
}

bool is_identifier_type(std::string_view type) {
  if (type.empty() || type.size() > 64) return false;
  for (char c : type) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<Identifier> parse_identifier(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    return Status::invalid_argument("\"" + std::string(text) +
                                    "\" is not an identifier: write type:value, for example "
                                    "email:jane@example.com or user_id:42");
  }
  const auto type = text.substr(0, colon);
  if (!is_identifier_type(type)) {
    return Status::invalid_argument("\"" + std::string(type) +
                                    "\" is not an identifier type: use lower-case letters, "
                                    "digits, '_', '.' or '-'");
  }
  if (colon + 1 == text.size()) {
    return Status::invalid_argument("identifier \"" + std::string(text) + "\" has an empty value");
  }
  return Identifier{std::string(type), std::string(text.substr(colon + 1))};
}

}  // namespace cdp::identity
