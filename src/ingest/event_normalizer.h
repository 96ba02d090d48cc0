#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ingest/json_tree.h"
#include "ingest/tracking_limits.h"

namespace cdp::ingest {

// What a batch envelope (or the request) contributes to each of its events.
struct EventDefaults {
  std::string_view type;                    // implied by a single-event path; empty for batch
  const JsonValue* context = nullptr;       // envelope context, merged under the item's
  const JsonValue* integrations = nullptr;  // envelope integrations, merged under the item's
  const JsonValue* sent_at = nullptr;       // envelope sentAt, used when the item has none
  std::string_view client_ip;
  int64_t received_at_ms = 0;
};

struct NormalizedEvent {
  std::string message_id;
  std::string json;
};

struct EventError {
  std::string code;
  std::string reason;
};

// Validates one event against the Segment spec and writes its normalised form.
// Returns the event or the reason it was rejected. Pure function of its inputs (no clock).
struct NormalizeOutcome {
  std::optional<NormalizedEvent> event;
  EventError error;
  std::string message_id_as_sent;
};
NormalizeOutcome normalize_event(const JsonValue& item, const EventDefaults& defaults,
                                 const TrackingLimits& limits);

}  // namespace cdp::ingest
