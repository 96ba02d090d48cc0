#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cdp {

// Decodes standard base64 (RFC 4648, '=' padding optional). Returns nullopt on a bad character.
std::optional<std::string> base64_decode(std::string_view text);

std::string base64_encode(std::string_view bytes);

}  // namespace cdp
