#pragma once

#include <optional>
#include <string>
#include <vector>

#include "identity/identifier.h"
#include "ingest/json_tree.h"

namespace cdp::identity {

// A configured identifier: the value at `path` (e.g. {"traits", "crm_id"} or
// {"properties", "loyalty_number"}) is an identifier of `type`.
struct IdentifierPath {
  std::string type;
  std::vector<std::string> path;
};

// What one event says about who sent it, before normalisation and rules.
struct EventIdentifiers {
  std::vector<Identifier> identifiers;     // raw values, in extraction order
  std::optional<std::string> previous_id;  // alias calls: the id being linked to userId
};

// Reads the identifiers of one normalised event:
//   userId -> user_id; anonymousId -> anonymous_id;
//   traits.email, context.traits.email -> email; traits.phone, context.traits.phone -> phone;
//   context.device.id -> device_id; context.device.advertisingId -> advertising_id;
//   context.externalIds[] {id, type} -> type (lower-cased);
//   each configured path -> its type.
// String values are taken as they are; numbers by their exact text; anything else is ignored.
EventIdentifiers extract_identifiers(const ingest::JsonValue& event,
                                     const std::vector<IdentifierPath>& custom);

// Parses "traits.crm_id" into {"traits", "crm_id"}. Empty segments are refused.
Result<std::vector<std::string>> parse_path(std::string_view dotted);

}  // namespace cdp::identity
