// How fast the processor applies a pre-filled raw log: identify/track events of ~500 bytes over a
// population with realistic identifier overlap (each user has a user_id, an email and 1-3
// anonymous ids that also appear in anonymous page views before they identify).
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "audience/definitions.h"
#include "ingest/internal/sample_event.h"
#include "pipeline/processor.h"
#include "profile/audience_preview.h"
#include "profile/audience_records.h"
#include "storage/big_endian.h"
#include "storage/internal/temp_dir.h"
#include "storage/raw_log_record.h"

namespace cdp::pipeline {
namespace {

// `plans`: users have plan "pro" one time in five and "free" otherwise (else every identify says
// "pro", which makes the trait audiences of apply_prefilled_log flip for everyone).
std::string event_json(std::mt19937& random, size_t users, uint64_t seq, bool plans = false) {
  const auto user = random() % users;
  const auto device = random() % 3;
  const std::string anonymous = "anon-" + std::to_string(user) + "-" + std::to_string(device);
  const auto kind = random() % 10;
  const std::string second = std::to_string(seq % 60);
  std::string json =
      R"({"messageId":"m-)" + std::to_string(seq) + R"(","timestamp":"2024-05-01T12:00:)" +
      (second.size() == 1 ? "0" : "") + second +
      R"j(.000Z","context":{"library":{"name":"bench"},"userAgent":"Mozilla/5.0 (X11; Linux x86_64)","ip":"10.0.0.1"},)j";
  if (kind < 2) {
    json += R"("type":"identify","userId":"user-)" + std::to_string(user) + R"(","anonymousId":")" +
            anonymous + R"(","traits":{"email":"user)" + std::to_string(user) +
            R"(@example.com","plan":")" + (!plans || user % 5 == 0 ? "pro" : "free") +
            R"(","visits":)" + std::to_string(seq % 100) + "}}";
  } else if (kind < 5) {
    json += R"("type":"page","anonymousId":")" + anonymous +
            R"(","name":"Pricing","properties":{"path":"/pricing"}})";
  } else {
    json += R"("type":"track","userId":"user-)" + std::to_string(user) +
            R"(","event":"Product Viewed","properties":{"sku":"sku-)" + std::to_string(seq % 500) +
            R"(","price":19.99}})";
  }
  return json;
}

// CPU time of the whole process (every thread's), in ms: on these shared, noisy machines it
// varies less from run to run than wall time, and it counts the work of a pass's threads.
double process_cpu_ms() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto ms = [](const timeval& t) { return t.tv_sec * 1e3 + t.tv_usec / 1e3; };
  return ms(usage.ru_utime) + ms(usage.ru_stime);
}

// When `CDP_PERF_CONTROL` names perf's control FIFO (`perf record -D -1 --control
// fifo:PATH`), profiling is enabled around a benchmark's measured step only, not its fill.
void perf_control(const char* command) {
  const char* path = std::getenv("CDP_PERF_CONTROL");
  if (path == nullptr) return;
  if (std::FILE* fifo = std::fopen(path, "w")) {
    std::fprintf(fifo, "%s\n", command);
    std::fclose(fifo);
  }
}

// A mix of audience definitions as admin commands: trait comparisons, windowed counts with
// filters, funnels, and conditions on five computed traits.
std::vector<std::string> definition_commands(size_t audiences) {
  std::vector<std::string> commands;
  if (audiences == 0) return commands;
  for (int t = 0; t < 5; ++t) {
    commands.push_back(
        R"({"type":"define_trait","name":"spend)" + std::to_string(t) +
        R"(","definition":{"kind":"sum","event":"Product Viewed","property":"price",)"
        R"("window":")" +
        std::to_string(1 + t * 7) + R"( days"}})");
  }
  for (size_t i = 0; i < audiences; ++i) {
    const auto n = std::to_string(i);
    std::string condition;
    switch (i % 4) {
      case 0:
        condition = R"(trait.plan = \"pro\" and trait.visits >= )" + std::to_string(i % 100);
        break;
      case 1:
        condition = R"(performed \"Product Viewed\" where property.price > )" +
                    std::to_string(i % 30) + " at least " + std::to_string(1 + i % 3) +
                    " times in last " + std::to_string(1 + i % 7) + " days";
        break;
      case 2:
        condition = R"(performed \"Product Viewed\" then \"Product Viewed\" within )" +
                    std::to_string(1 + i % 24) + " hours";
        break;
      default: condition = "computed.spend" + std::to_string(i % 5) + " > " + std::to_string(i);
    }
    commands.push_back(R"({"type":"define_audience","name":"a)" + n +
                       R"(","definition":{"condition":")" + condition + R"("}})");
  }
  return commands;
}

// Writes entries first..last to the raw log, `entry(seq)` giving each one's source and JSON,
// received a millisecond apart.
void fill_log(storage::Database& database, uint64_t first, uint64_t last,
              const std::function<std::pair<std::string_view, std::string>(uint64_t)>& entry) {
  rocksdb::WriteBatch batch;
  std::string value;
  for (uint64_t seq = first; seq <= last; ++seq) {
    value.clear();
    const auto [source, json] = entry(seq);
    storage::encode_raw_log_value(value, source, 1'714'564'800'000 + static_cast<int64_t>(seq),
                                  json);
    batch.Put(database.raw_log(), storage::u64_be(seq), value);
    if (seq % 10'000 == 0 || seq == last) {
      (void)database.db().Write(rocksdb::WriteOptions(), &batch);
      batch.Clear();
    }
  }
}

// The events of bench/profiles.sh's load (cdp_load): ~1 KB "Product Viewed" tracks of random
// users, each with a userId and an anonymousId.
std::string sample_track_json(std::mt19937& random, size_t users, uint64_t seq) {
  auto json = ingest::make_sample_track_event(1000, true, "m-" + std::to_string(seq), 0);
  const auto user = std::to_string(random() % users);
  json.replace(json.find("user-0000042"), 12, "user-" + user);
  json.replace(json.find("5f1c9a3e-"), 9, "anon-" + user + "-");
  return json;
}

// The change log's entries so far: membership changes and trait changes.
struct ChangeCounts {
  uint64_t memberships = 0;
  uint64_t traits = 0;
};
ChangeCounts count_changes(storage::Database& database) {
  ChangeCounts counts;
  (void)profile::read_change_log(database, std::nullopt, [&](const auto& item) {
    ++(item.json.starts_with(R"({"type":"traits_changed")") ? counts.traits : counts.memberships);
    return true;
  });
  return counts;
}

// CPU seconds RocksDB's compactions have spent on each column family since the database opened.
std::vector<double> compaction_seconds(storage::Database& database) {
  std::vector<double> seconds;
  for (auto* family : database.all_column_families()) {
    std::map<std::string, std::string> stats;
    double cpu = 0;
    if (database.db().GetMapProperty(family, rocksdb::DB::Properties::kCFStats, &stats)) {
      if (auto it = stats.find("compaction.Sum.CompMergeCPU"); it != stats.end()) {
        cpu = std::strtod(it->second.c_str(), nullptr);
      }
    }
    seconds.push_back(cpu);
  }
  return seconds;
}

// Waits until RocksDB has no flush or compaction running or due: a pass over the profiles right
// after they were written would otherwise read through however many level-0 files the
// compactions had not merged yet, and its time would vary by twice between runs.
void wait_for_compactions(storage::Database& database) {
  auto busy = [&] {
    uint64_t value = 0;
    for (const char* property :
         {"rocksdb.num-running-compactions", "rocksdb.num-running-flushes"}) {
      if (database.db().GetIntProperty(property, &value) && value > 0) return true;
    }
    for (auto* family : database.all_column_families()) {
      for (const char* property :
           {"rocksdb.compaction-pending", "rocksdb.mem-table-flush-pending"}) {
        if (database.db().GetIntProperty(family, property, &value) && value > 0) return true;
      }
    }
    return false;
  };
  while (busy()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // Releasing the first snapshot lets RocksDB rewrite the bottommost files whose entries still
  // carry sequence numbers (the raw log's, ~70 MB here): a pass's snapshot would start that
  // compaction beside the timed part (0.9 s of CPU during the exact preview, 2026-11-29).
  database.db().ReleaseSnapshot(database.db().GetSnapshot());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  while (busy()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

// The cores compactions took while the timed part ran (they run beside the processor and, in the
// server, compete with it), in all and for the column families that took most.
void report_compaction(benchmark::State& state, storage::Database& database,
                       const std::vector<double>& before, std::chrono::nanoseconds elapsed) {
  const auto after = compaction_seconds(database);
  const double wall = std::chrono::duration<double>(elapsed).count();
  double total = 0;
  for (size_t i = 0; i < after.size(); ++i) {
    const double cores = (after[i] - before[i]) / wall;
    total += cores;
    if (cores >= 0.01) {
      state.counters["compaction_" + database.all_column_families()[i]->GetName()] = cores;
    }
  }
  state.counters["compaction_cores"] = total;
}

// How often the processor's cache answered reads of records between two readings of its stats.
void report_cache_hits(benchmark::State& state, const profile::StateCacheStats& before,
                       const profile::StateCacheStats& after) {
  const auto rate = [](uint64_t hits, uint64_t misses) {
    return static_cast<double>(hits) / static_cast<double>(std::max<uint64_t>(1, hits + misses));
  };
  state.counters["profile_hits"] =
      rate(after.profile_hits - before.profile_hits, after.profile_misses - before.profile_misses);
  state.counters["identifier_hits"] = rate(after.identifier_hits - before.identifier_hits,
                                           after.identifier_misses - before.identifier_misses);
}

// Args: events in the log, distinct users, audiences defined (at the start of the log), which
// events (0: event_json's identify/page/track mix, 1: sample_track_json), and how many events of
// the same kind are applied before the timed part (the steady state: profiles exist and are in
// their audiences; counters below count the timed part only).
void apply_prefilled_log(benchmark::State& state) {
  const auto events = static_cast<uint64_t>(state.range(0));
  const auto users = static_cast<size_t>(state.range(1));
  const auto commands = definition_commands(static_cast<size_t>(state.range(2)));
  const bool tracks = state.range(3) != 0;
  const auto warm = static_cast<uint64_t>(state.range(4));
  for (auto _ : state) {
    state.PauseTiming();
    // Removed before the timer resumes below: as a local it would be deleted inside the timed
    // iteration (0.3 s for define_audience_over_profiles' database).
    auto dir = std::make_unique<storage::internal::TempDir>();
    storage::Database::Options options;
    options.path = dir->sub("data");
    auto database = storage::Database::open(options);
    if (!database) {
      state.SkipWithError(database.status().message().c_str());
      return;
    }
    std::mt19937 random(42);
    const auto entry = [&](uint64_t seq) -> std::pair<std::string_view, std::string> {
      if (seq <= commands.size()) return {storage::kAdminSource, commands[seq - 1]};
      const auto event = seq - commands.size();
      return {"web",
              tracks ? sample_track_json(random, users, event) : event_json(random, users, event)};
    };
    fill_log(**database, 1, commands.size() + warm, entry);
    auto rules = identity::CompiledRules::compile(identity::IdentityRules::defaults());
    auto processor = Processor::open(**database, *rules, Processor::Options{});
    if (!processor) {
      state.SkipWithError(processor.status().message().c_str());
      return;
    }
    ChangeCounts warm_changes;
    if (warm > 0) {
      if (auto status = (*processor)->process_available(); !status.is_ok()) {
        state.SkipWithError(status.message().c_str());
        return;
      }
      warm_changes = count_changes(**database);
    }
    fill_log(**database, commands.size() + warm + 1, commands.size() + warm + events, entry);
    const auto cache_before = (*processor)->cache_stats();
    const auto compaction_before = compaction_seconds(**database);
    const auto started = std::chrono::steady_clock::now();
    state.ResumeTiming();
    perf_control("enable");
    auto status = (*processor)->process_available();
    perf_control("disable");
    state.PauseTiming();
    if (!status.is_ok()) state.SkipWithError(status.message().c_str());
    report_compaction(state, **database, compaction_before,
                      std::chrono::steady_clock::now() - started);
    state.counters["profiles"] = static_cast<double>((*processor)->stats().profiles);
    // How much of the time RocksDB held writes back because flushes and compactions were behind
    // (since the database was opened: the warm-up included).
    std::string db_stats;
    if ((*database)->db().GetProperty("rocksdb.dbstats", &db_stats)) {
      const auto at = db_stats.find("Cumulative stall:");
      const auto comma = at == std::string::npos ? at : db_stats.find(", ", at);
      if (comma != std::string::npos) {
        state.counters["stall_percent"] = std::strtod(db_stats.c_str() + comma + 2, nullptr);
      }
    }
    report_cache_hits(state, cache_before, (*processor)->cache_stats());
    // What audiences cost in memory and disk: the average live profile record (audience state
    // lives inside it) and the size of the audiences and changes column families.
    uint64_t live = 0;
    uint64_t bytes = 0;
    std::unique_ptr<rocksdb::Iterator> it(
        (*database)->db().NewIterator(rocksdb::ReadOptions(), (*database)->profiles()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const auto record = it->value().ToStringView();  // its JSON ends at the first NUL
      if (record.substr(0, record.find('\0')).find("merged_into") != std::string_view::npos) {
        continue;
      }
      ++live;
      bytes += it->value().size();
    }
    state.counters["profile_bytes"] = live > 0 ? static_cast<double>(bytes) / live : 0;
    uint64_t audience_bytes = 0;
    for (auto* family : {(*database)->audiences(), (*database)->changes()}) {
      std::unique_ptr<rocksdb::Iterator> scan(
          (*database)->db().NewIterator(rocksdb::ReadOptions(), family));
      for (scan->SeekToFirst(); scan->Valid(); scan->Next()) {
        audience_bytes += scan->key().size() + scan->value().size();
      }
    }
    state.counters["audience_cf_bytes"] = static_cast<double>(audience_bytes);
    const auto changes = count_changes(**database);
    state.counters["membership_changes"] =
        static_cast<double>(changes.memberships - warm_changes.memberships);
    state.counters["trait_changes"] = static_cast<double>(changes.traits - warm_changes.traits);
    it.reset();
    processor->reset();
    database->reset();
    dir.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(events));
}
BENCHMARK(apply_prefilled_log)
    ->Args({200'000, 20'000, 0, 0, 0})
    ->Args({200'000, 20'000, 100, 0, 0})
    ->Args({300'000, 100'000, 0, 1, 0})
    ->Args({300'000, 100'000, 100, 1, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);
// The steady state of the 100-audience case: 300,000 more events once the first 300,000 have
// made the profiles and their memberships (what bench/profiles.sh's runs meet after its fill).
BENCHMARK(apply_prefilled_log)
    ->Args({300'000, 100'000, 100, 1, 300'000})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(2);
// The profile count of the mixed-load benchmark (bench/profiles.sh): most events meet a profile
// that is not in the processor's cache.
BENCHMARK(apply_prefilled_log)
    ->Args({1'000'000, 1'000'000, 0, 0, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

// Defining one audience over profiles that exist: the full evaluation, with the history its new
// counter needs (one timeline scan per profile) or without (a trait condition), narrowed by the
// candidate index. Also reported: a preview of the same condition as the server runs it, within
// its budget (`preview_ms`: the size or its estimate, the interval, how many candidates it read),
// the exact preview (`exact_ms`), and opening the processor (`open_ms`: the index is built);
// `exact_cpu_ms` and `define_cpu_ms`: the CPU time of every thread of the process meanwhile
// (RocksDB's flushes and compactions included).
// Args: events, users, the condition (0: traits, 1: a new counter with a property filter, which
// reads history, 2: one the index cannot narrow).
void define_audience_over_profiles(benchmark::State& state) {
  const auto events = static_cast<uint64_t>(state.range(0));
  const auto users = static_cast<size_t>(state.range(1));
  const std::string condition =
      state.range(2) == 1
          ? R"(performed \"Product Viewed\" where property.price > 10 at least 2 times)"
      : state.range(2) == 2
          ? R"(not trait.plan = \"free\")"  // the index cannot narrow it: every profile is read
          : R"(trait.plan = \"pro\" and trait.visits >= 50)";
  const std::string body = R"({"condition":")" + condition + R"("})";
  for (auto _ : state) {
    state.PauseTiming();
    // Removed before the timer resumes below: as a local it would be deleted inside the timed
    // iteration (0.3 s for this bench's database at 1.2 M events).
    auto dir = std::make_unique<storage::internal::TempDir>();
    storage::Database::Options options;
    options.path = dir->sub("data");
    auto database = storage::Database::open(options);
    std::mt19937 random(42);
    fill_log(**database, 1, events + 1,
             [&](uint64_t seq) -> std::pair<std::string_view, std::string> {
               if (seq <= events) return {"web", event_json(random, users, seq, true)};
               return {storage::kAdminSource,
                       R"({"type":"define_audience","name":"new","definition":)" + body + "}"};
             });
    auto rules = identity::CompiledRules::compile(identity::IdentityRules::defaults());
    Processor::Options processor_options;
    processor_options.until_seq = events;
    auto processor = Processor::open(**database, *rules, processor_options);
    (void)(*processor)->process_available();
    processor->reset();
    const auto settling = std::chrono::steady_clock::now();
    wait_for_compactions(**database);
    state.counters["settle_ms"] =
        static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - settling)
                                .count());
    const auto opening = std::chrono::steady_clock::now();
    processor = Processor::open(**database, *rules, Processor::Options{});
    ingest::JsonParser parser;
    auto candidate = audience::parse_audience("preview", **parser.parse(body));
    candidate->name.clear();  // as the preview handler does: no saved audience has this name
    const auto now_ms = 1'714'564'800'000 + static_cast<int64_t>(events);
    // As the server previews: within its budget, estimated when it cannot read every candidate;
    // then exactly, every candidate read.
    profile::PreviewOptions budgeted;
    budgeted.budget = profile::kPreviewBudget;
    const auto preview_start = std::chrono::steady_clock::now();
    auto preview = profile::preview_audience(**database, *(*processor)->definitions(), *candidate,
                                             (*processor)->candidate_index(), budgeted, now_ms);
    const auto preview_end = std::chrono::steady_clock::now();
    const auto exact_cpu = process_cpu_ms();
    const auto exact_compactions = compaction_seconds(**database);
    auto exact = profile::preview_audience(**database, *(*processor)->definitions(), *candidate,
                                           (*processor)->candidate_index(), {}, now_ms);
    const auto exact_end = std::chrono::steady_clock::now();
    state.counters["exact_cpu_ms"] = process_cpu_ms() - exact_cpu;
    // Compactions beside the pass (CPU ms, all families): work left from writing the profiles,
    // or the definition's own.
    auto compaction_ms = [&](const std::vector<double>& before) {
      const auto after = compaction_seconds(**database);
      double total = 0;
      for (size_t i = 0; i < after.size(); ++i) total += after[i] - before[i];
      return total * 1e3;
    };
    state.counters["exact_compaction_ms"] = compaction_ms(exact_compactions);
    if (!preview) state.SkipWithError(preview.status().message().c_str());
    if (!exact) state.SkipWithError(exact.status().message().c_str());
    auto ms = [](auto from, auto to) {
      return static_cast<double>(
          std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count());
    };
    state.counters["open_ms"] = ms(opening, preview_start);
    state.counters["preview_ms"] = ms(preview_start, preview_end);
    state.counters["preview_size"] = preview ? static_cast<double>(preview->size) : 0;
    state.counters["preview_low"] = preview ? static_cast<double>(preview->size_low) : 0;
    state.counters["preview_high"] = preview ? static_cast<double>(preview->size_high) : 0;
    state.counters["preview_read"] = preview ? static_cast<double>(preview->read) : 0;
    state.counters["candidates"] = preview ? static_cast<double>(preview->candidates) : 0;
    state.counters["exact_ms"] = ms(preview_end, exact_end);
    state.counters["exact_size"] = exact ? static_cast<double>(exact->size) : 0;
    state.counters["index_bytes"] =
        static_cast<double>((*processor)->candidate_index()->usage().bytes);
    const auto cache_before = (*processor)->cache_stats();
    const auto define_cpu = process_cpu_ms();
    const auto define_compactions = compaction_seconds(**database);
    state.ResumeTiming();
    perf_control("enable");
    auto status = (*processor)->process_available();
    perf_control("disable");
    state.PauseTiming();
    state.counters["define_cpu_ms"] = process_cpu_ms() - define_cpu;
    state.counters["define_compaction_ms"] = compaction_ms(define_compactions);
    if (!status.is_ok()) state.SkipWithError(status.message().c_str());
    state.counters["profiles"] = static_cast<double>((*processor)->stats().profiles);
    report_cache_hits(state, cache_before, (*processor)->cache_stats());
    processor->reset();
    database->reset();
    dir.reset();
    state.ResumeTiming();
  }
}
BENCHMARK(define_audience_over_profiles)
    ->Args({200'000, 100'000, 0})
    ->Args({200'000, 100'000, 1})
    ->Args({1'200'000, 1'000'000, 0})
    ->Args({1'200'000, 1'000'000, 1})
    ->Args({1'200'000, 1'000'000, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

}  // namespace
}  // namespace cdp::pipeline

BENCHMARK_MAIN();
