#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "ingest/json_tree.h"
#include "ingest/tracking_limits.h"
#include "storage/raw_log_writer.h"

namespace cdp::ingest {

// The tracking API's endpoints. Single-event endpoints imply the event's type.
enum class Endpoint { kIdentify, kTrack, kPage, kScreen, kGroup, kAlias, kBatch };

// Maps "/v1/track", "/v1/t", "/v1/batch", "/v1/import", "/v1/b"... to an endpoint.
std::optional<Endpoint> endpoint_for_path(std::string_view path);

// One batch item that was not stored, and why.
struct Rejection {
  size_t index = 0;
  std::string message_id;  // as sent; empty when absent
  std::string code;        // stable machine-readable reason, e.g. "missing_event"
  std::string reason;      // one line for people
};

struct ParsedRequest {
  std::optional<std::string> body_write_key;  // "writeKey" in the body (or envelope), if any
  std::vector<storage::AppendEvent> events;   // valid, normalised events, in request order
  std::vector<size_t> event_indexes;          // each event's index in the request
  std::vector<Rejection> rejections;
  size_t item_count = 0;
};

struct RequestContext {
  Endpoint endpoint = Endpoint::kBatch;
  std::string_view client_ip;  // the connection's address, for context.ip
  int64_t received_at_ms = 0;
};

// Parses and validates a tracking API request body and normalises each event as Segment does:
// it assigns messageId, sets receivedAt, corrects client clock skew through sentAt, merges the
// batch envelope's context and integrations into each item, fills context.ip, coerces numeric
// ids to strings and drops the body's writeKey. Invalid items are rejected one by one.
// Not thread-safe (it reuses its parser's buffers): keep one per thread.
class TrackingRequestParser {
 public:
  explicit TrackingRequestParser(TrackingLimits limits) : limits_(limits) {}

  // kInvalidArgument when the body as a whole is unusable (not JSON, not an object, no batch).
  Result<ParsedRequest> parse(std::string_view body, const RequestContext& context);

  const TrackingLimits& limits() const { return limits_; }

 private:
  TrackingLimits limits_;
  JsonParser json_;
};

}  // namespace cdp::ingest
