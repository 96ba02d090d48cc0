// Fuzz target for the tracking API's request parser and event normaliser: any body must either be
// refused with a Status or yield events that are valid JSON objects within the size limit, each
// with type, messageId, timestamp and receivedAt, and rejections with a code.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ingest/json_tree.h"
#include "ingest/tracking_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using cdp::ingest::Endpoint;
  static constexpr Endpoint kEndpoints[] = {
      Endpoint::kBatch,  Endpoint::kTrack, Endpoint::kIdentify, Endpoint::kPage,
      Endpoint::kScreen, Endpoint::kGroup, Endpoint::kAlias,    Endpoint::kBatch};
  cdp::ingest::TrackingLimits limits;
  limits.max_event_bytes = 4096;
  limits.max_batch_events = 50;
  static cdp::ingest::TrackingRequestParser parser(limits);
  static cdp::ingest::JsonParser checker;

  const Endpoint endpoint = kEndpoints[data[0] % 8];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  auto parsed = parser.parse(body, {endpoint, "203.0.113.7", 1700000000000});
  if (!parsed.has_value()) return 0;
  if (parsed->events.size() + parsed->rejections.size() != parsed->item_count) std::abort();
  for (const auto& event : parsed->events) {
    if (event.json.size() > limits.max_event_bytes || event.message_id.empty()) std::abort();
    auto root = checker.parse(event.json);
    if (!root.has_value() || !(*root)->is_object()) std::abort();
    for (const char* field : {"type", "messageId", "timestamp", "receivedAt"}) {
      const auto* value = (*root)->find(field);
      if (value == nullptr || !value->is_string()) std::abort();
    }
  }
  for (const auto& rejection : parsed->rejections) {
    if (rejection.code.empty() || rejection.reason.empty()) std::abort();
  }
  return 0;
}
