#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <latch>
#include <memory>
#include <string>

#include "common/clock.h"
#include "storage/database.h"
#include "storage/internal/temp_dir.h"
#include "storage/raw_log_writer.h"

namespace cdp::storage {
namespace {

constexpr size_t kEventsPerRequest = 100;
constexpr size_t kEventBytes = 1000;

// Appends through a RawLogWriter into a fresh database in a temp directory.
// Args: sync (0/1), requests submitted together per iteration (as concurrent HTTP requests would
// be; the writer commits them as one group). Each iteration waits until all are acknowledged.
void append_1kb_events(benchmark::State& state) {
  const bool sync = state.range(0) != 0;
  const auto requests_in_flight = static_cast<size_t>(state.range(1));
  internal::TempDir dir;
  Database::Options database_options;
  database_options.path = dir.sub("data");
  auto database = Database::open(database_options);
  if (!database) {
    state.SkipWithError(database.status().message().c_str());
    return;
  }
  RawLogWriter::Options writer_options;
  writer_options.sync = sync;
  writer_options.min_free_bytes = 0;
  RawLogWriter writer(**database, writer_options, SystemClock::instance());
  if (!writer.start().is_ok()) {
    state.SkipWithError("the writer did not start");
    return;
  }
  const std::string padding(kEventBytes - 60, 'x');
  uint64_t next_id = 0;
  std::atomic<size_t> failures{0};
  for (auto _ : state) {
    std::latch done(static_cast<std::ptrdiff_t>(requests_in_flight));
    for (size_t r = 0; r < requests_in_flight; ++r) {
      AppendRequest request{"bench", 1714564801000, {}};
      request.events.reserve(kEventsPerRequest);
      for (size_t e = 0; e < kEventsPerRequest; ++e) {
        std::string id = "bench-" + std::to_string(next_id++);
        std::string json = R"({"type":"track","event":"Viewed","messageId":")" + id +
                           R"(","properties":{"padding":")" + padding + "\"}}";
        request.events.push_back(AppendEvent{std::move(id), std::move(json)});
      }
      const Status status = writer.submit(std::move(request), [&](const AppendOutcome& outcome) {
        if (!outcome.status.is_ok() || outcome.stored != kEventsPerRequest) failures.fetch_add(1);
        done.count_down();
      });
      if (!status.is_ok()) {
        failures.fetch_add(1);
        done.count_down();
      }
    }
    done.wait();
  }
  writer.stop();
  if (failures.load() > 0) state.SkipWithError("some appends failed");
  const auto events =
      static_cast<int64_t>(state.iterations() * requests_in_flight * kEventsPerRequest);
  state.SetItemsProcessed(events);
  state.SetBytesProcessed(events * static_cast<int64_t>(kEventBytes));
  state.counters["groups"] = static_cast<double>(writer.stats().groups);
}
BENCHMARK(append_1kb_events)
    ->ArgNames({"sync", "requests_in_flight"})
    ->Args({0, 1})
    ->Args({0, 16})
    ->Args({1, 1})
    ->Args({1, 16})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace cdp::storage

BENCHMARK_MAIN();
