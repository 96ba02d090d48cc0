#pragma once

#include <cstddef>

namespace cdp::ingest {

// Size limits of the tracking API (Segment's defaults). Configurable under [limits].
struct TrackingLimits {
  size_t max_event_bytes = 32 * 1024;  // one normalised event
  size_t max_body_bytes = 500 * 1024;  // one request body, after decompression
  size_t max_batch_events = 2500;      // items in one batch
  size_t max_message_id_bytes = 256;   // messageIds are dedup keys; keep them bounded
};

}  // namespace cdp::ingest
