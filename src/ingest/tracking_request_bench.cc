#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "ingest/tracking_request.h"

namespace cdp::ingest {
namespace {

constexpr int64_t kReceivedAtMs = 1714564801500;  // 2024-05-01T12:00:01.500Z

// A ~`target_bytes` track event shaped like the ones analytics libraries send; the padding
// property (pseudo-random text) brings it to size. `index` makes the messageId unique within a
// batch.
std::string make_event(size_t target_bytes, bool with_type, size_t index) {
  std::string head = "{";
  if (with_type) head += "\"type\":\"track\",";
  head +=
      "\"event\":\"Product Viewed\",\"userId\":\"user-0000042\",\"anonymousId\":"
      "\"5f1c9a3e-7b2d-4c8e-9f10-a1b2c3d4e5f6\",\"messageId\":\"bench-" +
      std::to_string(index) +
      "\",\"timestamp\":\"2024-05-01T12:00:00.000Z\","
      "\"properties\":{\"product_id\":\"sku-1234\",\"name\":\"Trail Runner 2\",\"price\":119.99,"
      "\"currency\":\"EUR\",\"category\":\"shoes\",\"quantity\":1,\"in_stock\":true,\"padding\":\"";
  const std::string tail =
      "\"},\"context\":{\"library\":{\"name\":\"cdp_load\",\"version\":\"0.1.0\"},\"locale\":\"en-"
      "US\","
      "\"userAgent\":\"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/124.0 Safari/537.36\",\"page\":{\"path\":\"/products/sku-1234\",\"url\":"
      "\"https://shop.example.com/products/sku-1234\",\"referrer\":\"https://www.example.org/\"}}}";
  const size_t fixed = head.size() + tail.size();
  std::string event = head;
  static constexpr std::string_view kAlphabet =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
  std::minstd_rand random(static_cast<uint32_t>(index) + 1);
  for (size_t i = fixed; i < target_bytes; ++i)
    event.push_back(kAlphabet[random() % kAlphabet.size()]);
  return event + tail;
}

std::string make_batch(size_t events, size_t event_bytes) {
  std::string body = "{\"batch\":[";
  for (size_t i = 0; i < events; ++i) {
    if (i > 0) body.push_back(',');
    body += make_event(event_bytes, true, i);
  }
  return body + "],\"sentAt\":\"2024-05-01T12:00:01.000Z\"}";
}

void run(benchmark::State& state, const std::string& body, Endpoint endpoint,
         size_t expected_events) {
  TrackingRequestParser parser(TrackingLimits{});
  const RequestContext context{endpoint, "203.0.113.7", kReceivedAtMs};
  for (auto _ : state) {
    auto parsed = parser.parse(body, context);
    if (!parsed || parsed->events.size() != expected_events) {
      state.SkipWithError(parsed ? "events were rejected" : parsed.status().message().c_str());
      return;
    }
    benchmark::DoNotOptimize(parsed->events.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * expected_events));
}

// POST /v1/batch: parse, validate and normalise state.range(0) events of ~1 KB.
void parse_batch_of_1kb_events(benchmark::State& state) {
  const auto events = static_cast<size_t>(state.range(0));
  run(state, make_batch(events, 1000), Endpoint::kBatch, events);
}
BENCHMARK(parse_batch_of_1kb_events)->Arg(100);

// POST /v1/track with one ~1 KB event.
void parse_single_1kb_track_event(benchmark::State& state) {
  run(state, make_event(1000, false, 0), Endpoint::kTrack, 1);
}
BENCHMARK(parse_single_1kb_track_event);

}  // namespace
}  // namespace cdp::ingest

BENCHMARK_MAIN();
