// Webhook delivery through a DestinationWorker to a real HTTP receiver on loopback
// (internal/test_receiver): throughput with and without batching, the delivery latency of one
// destination while another is stalled, and the outbox's disk use per pending message. And
// warehouse loads into a real PostgreSQL (CDP_TEST_POSTGRES=host:port, scripts/test-postgres.sh).
// Procedure and results: bench/RESULTS.md ("Delivery").
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "activation/destination_worker.h"
#include "activation/internal/test_receiver.h"
#include "activation/postgres_sender.h"
#include "activation/webhook_sender.h"
#include "ingest/internal/sample_event.h"
#include "storage/big_endian.h"
#include "storage/internal/temp_dir.h"

namespace cdp::activation {
namespace {

using testing::TestReceiver;
using Clock = std::chrono::steady_clock;

struct Fixture {
  storage::internal::TempDir dir;
  std::unique_ptr<storage::Database> database;
  std::unique_ptr<ActivationStore> store;
  NetworkGuard guard{{*parse_network("127.0.0.0/8")}};
  uint64_t seq = 0;

  Fixture() {
    storage::Database::Options options;
    options.path = dir.sub("data");
    database = std::move(storage::Database::open(options)).value();
    store = std::make_unique<ActivationStore>(*database);
  }
  // A ~1 KB track event like the analytics libraries send.
  void append(const std::string& json) {
    ++seq;
    const storage::RawLogRecord record{seq, "web", SystemClock::instance().now_ms(), json};
    (void)database->db().Put(rocksdb::WriteOptions(), database->raw_log(), storage::u64_be(seq),
                             record.encode_value());
  }
  void fill(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      append(ingest::make_sample_track_event(1000, true, "m-" + std::to_string(seq + 1), seq));
    }
  }
  std::unique_ptr<DestinationWorker> start(const std::string& name, const std::string& url,
                                           const std::string& extra,
                                           const cdp::Clock& clock = SystemClock::instance()) {
    auto spec = *parse_destination_text(
        name, R"({"type":"webhook","url":")" + url + R"(","events":{},"secret":"s")" + extra + "}");
    return std::move(DestinationWorker::start({*database, *store, clock, {}}, spec,
                                              std::make_unique<WebhookSender>(spec, guard, clock)))
        .value();
  }
};

// Args: messages, batch size. Every message from the start of a pre-filled log, delivered to a
// receiver that answers 200.
void deliver_prefilled_log(benchmark::State& state) {
  const auto messages = static_cast<size_t>(state.range(0));
  const auto batch = state.range(1);
  Fixture fixture;
  fixture.fill(messages);
  TestReceiver receiver;
  receiver.keep_bodies(false);
  int round = 0;
  for (auto _ : state) {
    auto worker = fixture.start("d" + std::to_string(round++), receiver.url(),
                                R"(,"start":"beginning","batch_size":)" + std::to_string(batch));
    while (worker->stats().delivered < messages) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    worker->stop();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * messages));
  state.counters["requests_per_s"] =
      benchmark::Counter(static_cast<double>(receiver.count()), benchmark::Counter::kIsRate);
}
BENCHMARK(deliver_prefilled_log)
    ->Args({20'000, 1})
    ->Args({100'000, 100})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

// Args: messages, batch size. The pre-filled log's 1 KB tracks loaded into PostgreSQL (rows in
// tracks and in the event's own table), each round into a new schema, so every row is new.
void load_prefilled_log_into_postgres(benchmark::State& state) {
  const char* server = std::getenv("CDP_TEST_POSTGRES");
  if (server == nullptr) {
    state.SkipWithError("CDP_TEST_POSTGRES is not set (scripts/test-postgres.sh start)");
    return;
  }
  const std::string address = server;
  const auto colon = address.rfind(':');
  const auto messages = static_cast<size_t>(state.range(0));
  Fixture fixture;
  fixture.fill(messages);
  int round = 0;
  for (auto _ : state) {
    const std::string name = "w" + std::to_string(round++);
    auto spec = *parse_destination_text(
        name, R"({"type":"postgres","events":{},"start":"beginning","batch_size":)" +
                  std::to_string(state.range(1)) + R"(,"postgres":{"host":")" +
                  address.substr(0, colon) + R"(","port":)" + address.substr(colon + 1) +
                  R"(,"user":"cdp","dbname":"cdp_test","schema":"bench_)" +
                  std::to_string(SystemClock::instance().now_ms()) + "_" + name + "\"}}");
    auto worker = std::move(DestinationWorker::start(
                                {*fixture.database, *fixture.store, SystemClock::instance(), {}},
                                spec, std::make_unique<PostgresSender>(spec, fixture.guard)))
                      .value();
    while (worker->stats().delivered < messages) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    worker->stop();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * messages));
}
BENCHMARK(load_prefilled_log_into_postgres)
    ->Args({20'000, 1000})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

// Args: 0 the other destination (B) is healthy; 1 B's receiver answers 503 for an hour: B runs
// on a fake clock that moves 720 times faster than real time, so its backoff goes through a
// whole hour of retries during the 5 s run; 2 B's receiver never answers within B's timeout
// (real time). Events are appended at 1,000/s for 5 s; reports destination A's delivery latency
// (append to the receiver reading the request), median and p95.
void latency_beside_a_stalled_destination(benchmark::State& state) {
  const auto b_mode = state.range(0);
  std::vector<double> latencies_ms;
  size_t b_requests = 0;
  for (auto _ : state) {
    Fixture fixture;
    TestReceiver a;
    TestReceiver b;
    a.keep_bodies(false);
    b.keep_bodies(false);
    std::mutex mutex;
    std::map<std::string, Clock::time_point> appended;
    std::vector<double> round_ms;
    a.script([&](const TestReceiver::Request& request, size_t) {
      const auto now = Clock::now();
      std::lock_guard lock(mutex);
      // Single messages: the messageId is the first "m-N" in the body.
      const auto at = request.body.find("\"m-");
      const auto end = request.body.find('"', at + 1);
      auto it = appended.find(request.body.substr(at + 1, end - at - 1));
      if (it != appended.end()) {
        round_ms.push_back(std::chrono::duration<double, std::milli>(now - it->second).count());
      }
      return TestReceiver::Reply{};
    });
    FakeClock hour(SystemClock::instance().now_ms());
    if (b_mode == 1) {
      b.script([](const TestReceiver::Request&, size_t) {
        return TestReceiver::Reply{503, {}, "", 0, false};
      });
    } else if (b_mode == 2) {
      b.script([](const TestReceiver::Request&, size_t) {
        return TestReceiver::Reply{200, {}, "", 2500, false};
      });
    }
    auto worker_a = fixture.start("a", a.url(), "");
    auto worker_b =
        fixture.start("b", b.url(), R"(,"timeout_ms":2000)",
                      b_mode == 1 ? static_cast<const cdp::Clock&>(hour) : SystemClock::instance());
    const auto start = Clock::now();
    for (int i = 0; i < 5000; ++i) {
      std::this_thread::sleep_until(start + std::chrono::microseconds(1000 * i));
      const std::string id = "m-" + std::to_string(fixture.seq + 1);
      {
        std::lock_guard lock(mutex);
        appended[id] = Clock::now();
      }
      fixture.append(ingest::make_sample_track_event(1000, true, id, fixture.seq));
      if (b_mode == 1) hour.advance_ms(720);  // 5,000 steps: one hour
      worker_a->notify();
      worker_b->notify();
    }
    while (worker_a->stats().delivered < 5000)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    worker_a->stop();
    worker_b->stop();
    b_requests += b.count();
    std::lock_guard lock(mutex);
    latencies_ms.insert(latencies_ms.end(), round_ms.begin(), round_ms.end());
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  const auto at = [&](double q) {
    return latencies_ms.empty() ? 0.0
                                : latencies_ms[static_cast<size_t>(q * (latencies_ms.size() - 1))];
  };
  state.counters["p50_ms"] = at(0.50);
  state.counters["p95_ms"] = at(0.95);
  state.counters["p99_ms"] = at(0.99);
  state.counters["b_requests"] = static_cast<double>(b_requests);
}
BENCHMARK(latency_beside_a_stalled_destination)
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

// Messages parked in the outbox by a failing receiver; reports the outbox's bytes on disk (SST
// files after a flush and full compaction) per pending message, for ~1 KB events.
void outbox_bytes_per_pending_message(benchmark::State& state) {
  const size_t messages = 10'000;
  for (auto _ : state) {
    Fixture fixture;
    fixture.fill(messages);
    TestReceiver receiver;
    receiver.keep_bodies(false);
    receiver.script([](const TestReceiver::Request&, size_t) {
      return TestReceiver::Reply{503, {}, "", 0, false};
    });
    auto worker =
        fixture.start("down", receiver.url(), R"(,"start":"beginning","batch_size":10000)");
    while (worker->stats().outbox < messages)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    worker->stop();
    auto& db = fixture.database->db();
    (void)db.Flush(rocksdb::FlushOptions(), fixture.database->activation());
    rocksdb::CompactRangeOptions compact;
    (void)db.CompactRange(compact, fixture.database->activation(), nullptr, nullptr);
    const double bytes = static_cast<double>(fixture.database->int_property(
        "rocksdb.total-sst-files-size", fixture.database->activation()));
    state.counters["disk_bytes_per_message"] = bytes / messages;
    state.counters["logical_bytes_per_message"] =
        static_cast<double>(worker->stats().outbox_bytes) / messages;
    state.counters["event_bytes"] =
        static_cast<double>(ingest::make_sample_track_event(1000, true, "m-1", 1).size());
  }
}
BENCHMARK(outbox_bytes_per_pending_message)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace cdp::activation

BENCHMARK_MAIN();
