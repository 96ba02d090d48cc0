#pragma once

#include <string>

#include "ingest/json_tree.h"

namespace cdp::profile {

// A JSON string member's text, or "" when it is absent or not a string (commands and events).
inline std::string text_of(const ingest::JsonValue* value) {
  return value != nullptr && value->is_string() ? std::string(value->text) : std::string();
}

}  // namespace cdp::profile
