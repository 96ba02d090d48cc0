#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/internal/sample_event.h"
#include "ingest/json_tree.h"
#include "ingest/tracking_request.h"

namespace cdp::ingest {
namespace {

constexpr int64_t kReceivedAtMs = 1714564801500;  // 2024-05-01T12:00:01.500Z

std::string make_batch(size_t events, size_t event_bytes) {
  std::string body = "{\"batch\":[";
  for (size_t i = 0; i < events; ++i) {
    if (i > 0) body.push_back(',');
    body += make_sample_track_event(event_bytes, true, "bench-" + std::to_string(i),
                                    static_cast<uint32_t>(i));
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
  run(state, make_sample_track_event(1000, false, "bench-0", 0), Endpoint::kTrack, 1);
}
BENCHMARK(parse_single_1kb_track_event);

// One ~1 KB event parsed into a tree by a reused JsonParser, as the processor and a definition's
// history reader parse each event they read from the raw log. Between parses, `churn` allocations
// and frees of 4 KB blocks stand in for what RocksDB's block reads do to the heap meanwhile.
void parse_json_tree_of_1kb_event(benchmark::State& state) {
  const auto event = make_sample_track_event(1000, false, "bench-0", 0);
  const auto churn = static_cast<size_t>(state.range(0));
  JsonParser parser;
  std::vector<std::unique_ptr<char[]>> blocks(64);
  size_t next = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < churn; ++i, ++next) {
      blocks[next % blocks.size()] = std::make_unique_for_overwrite<char[]>(4096 + next % 512);
    }
    auto root = parser.parse(event);
    if (!root) {
      state.SkipWithError(root.status().message().c_str());
      return;
    }
    benchmark::DoNotOptimize(*root);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(parse_json_tree_of_1kb_event)->Arg(0)->Arg(2);

// Only the `properties` of the same event (JsonParser::parse_member), as a definition's history
// reader takes them from each event that a new counter with a property filter reads.
void parse_properties_of_1kb_event(benchmark::State& state) {
  const auto event = make_sample_track_event(1000, false, "bench-0", 0);
  JsonParser parser;
  for (auto _ : state) {
    auto properties = parser.parse_member(event, "properties");
    if (!properties || *properties == nullptr) {
      state.SkipWithError("no properties");
      return;
    }
    benchmark::DoNotOptimize(*properties);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(parse_properties_of_1kb_event);

// The same event's tree written back as compact JSON (write_json, append_json_string for every
// key and string), as the normaliser writes each event it stores and the processor its records.
void write_json_of_1kb_event(benchmark::State& state) {
  const auto event = make_sample_track_event(1000, false, "bench-0", 0);
  JsonParser parser;
  auto root = parser.parse(event);
  if (!root) {
    state.SkipWithError(root.status().message().c_str());
    return;
  }
  std::string out;
  for (auto _ : state) {
    out.clear();
    write_json(out, **root);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(write_json_of_1kb_event);

}  // namespace
}  // namespace cdp::ingest

BENCHMARK_MAIN();
