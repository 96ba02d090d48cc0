#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cdp::identity {

// The identifier types cdp extracts by itself. Any other type (custom, from
// context.externalIds[] or a configured trait/property path) is just its name.
inline constexpr std::string_view kUserId = "user_id";
inline constexpr std::string_view kAnonymousId = "anonymous_id";
inline constexpr std::string_view kEmail = "email";
inline constexpr std::string_view kPhone = "phone";
inline constexpr std::string_view kDeviceId = "device_id";
inline constexpr std::string_view kAdvertisingId = "advertising_id";

// One identifier of a customer: a type and a normalised value.
struct Identifier {
  std::string type;
  std::string value;

  // `type` NUL `value`: the key of the identifier index (types never contain NUL).
  std::string key() const;
  // `type:value`, the form the Profile API takes and shows.
  std::string display() const;

  auto operator<=>(const Identifier&) const = default;
};

// Decodes key() back.
Result<Identifier> identifier_from_key(std::string_view key);

// Parses `type:value` (the value may itself contain ':'). A type is [a-z0-9_.-]+.
Result<Identifier> parse_identifier(std::string_view text);

// True when `type` is a valid identifier type name: 1-64 of [a-z0-9_.-].
bool is_identifier_type(std::string_view type);

}  // namespace cdp::identity
