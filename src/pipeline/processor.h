#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/status.h"
#include "identity/rules.h"
#include "profile/profile_builder.h"
#include "profile/state_transaction.h"
#include "storage/database.h"

namespace cdp::pipeline {

// The processor's meta keys (docs/formats/profiles.md).
inline constexpr const char* kCursorKey = "processor/cursor";      // u64 BE: last applied seq
inline constexpr const char* kLastProfileKey = "profile/last_id";  // u64 BE
inline constexpr const char* kRulesKey = "processor/rules";        // fingerprint of the rules
inline constexpr const char* kRebuildKey = "processor/rebuild";    // present while rebuilding
// Present while a definition command is applied in parts: where the next part begins.
inline constexpr const char* kDefinitionResumeKey = "processor/definition_resume";

// The one ordered consumer of the raw log: applies each event to profile state exactly once.
// Every batch of events is written together with the cursor (the last applied seq) in one
// RocksDB WriteBatch, so after a crash processing resumes at the cursor and nothing is applied
// twice or skipped. An identity command (an unmerge) is a batch of its own; a definition command
// over many profiles is several, each written with where the next one begins and the cursor
// before the command, the last one with the cursor past it.
//
// Lifecycle: open(), start() (a thread of its own) or process_available() (tests, tools),
// notify() whenever the raw log grows, stop().
// Thread-safe: notify(), stats() and stop() from any thread.
class Processor {
 public:
  struct Options {
    size_t max_batch_events = 1000;  // events per WriteBatch
    MetricsRegistry* metrics = nullptr;
    const Clock* clock = &SystemClock::instance();
    // Where the raw log is read (default: the database the state is written to). A rules plan
    // builds scratch state from the live directory's log.
    storage::Database* log = nullptr;
    // Apply nothing after this seq (a plan compares with state that reached only so far).
    uint64_t until_seq = UINT64_MAX;
    // Also told of a definition's progress (definition_progress() has the latest); for tests.
    profile::ProfileBuilder::DefinitionProgress on_definition_progress;
    // false: no candidate index; definition commands and previews read every profile (tests
    // compare the two).
    bool candidate_index = true;
    // Called on the processor thread after each batch is written, with the new cursor: the
    // change log may have grown (destinations that read it are woken). Must not block.
    std::function<void(uint64_t cursor)> on_applied;
    // Bytes a definition command writes per batch, about (ProfileBuilder::
    // set_definition_batch_bytes); tests make it small.
    size_t definition_batch_bytes = 32 << 20;
    // run() applies nothing while the data directory's disk has less free space than this (0:
    // no check), so that the state it writes cannot take the disk to "no space left", from
    // which RocksDB recovers only once a whole write buffer's worth is free again. The server
    // sets half of ingest's reserve: the processor goes on applying what was acknowledged
    // after ingest stops.
    uint64_t min_free_bytes = 0;
  };

  // A definition command being applied: which, and how far through the profiles.
  struct DefinitionProgress {
    std::string name;  // empty: none
    uint64_t done = 0;
    uint64_t total = 0;
  };

  struct Stats {
    uint64_t cursor = 0;              // last applied seq
    uint64_t events_applied = 0;      // since start
    int64_t last_received_at_ms = 0;  // of the last applied event
    uint64_t profiles = 0;            // profile ids assigned so far
  };

  // Reads of identifier and profile records that the processor's cache answered. Only from the
  // thread that calls process_batch(), or while nothing does (not thread-safe).
  const profile::StateTransaction::CacheStats& cache_stats() const { return state_.cache_stats(); }

  // Reads the cursor and the last profile id. Warns when the stored rules fingerprint differs
  // from `rules` (state built under other rules; see docs/identity.md). Refuses state that an
  // interrupted rebuild left half-deleted.
  static Result<std::unique_ptr<Processor>> open(
      storage::Database& database, std::shared_ptr<const identity::CompiledRules> rules,
      Options options);
  ~Processor();
  Processor(const Processor&) = delete;
  Processor& operator=(const Processor&) = delete;

  void start();
  void stop();
  void notify();
  // Calls `done(true)` on the processor thread once the entry at `seq` is applied, or
  // `done(false)` at `deadline` (or stop()) if it is not yet. `done` must not block.
  void when_applied(uint64_t seq, std::chrono::steady_clock::time_point deadline,
                    std::function<void(bool applied)> done);
  // Applies everything in the log now, on the calling thread, calling `progress` after each
  // batch. REQUIRES: not start()ed.
  Status process_available(const std::function<void(const Stats&)>& progress = nullptr);

  Stats stats() const;

  // The audience and computed trait definitions as of the last applied batch (for readers).
  std::shared_ptr<const audience::Definitions> definitions() const;
  DefinitionProgress definition_progress() const;
  // Which profiles a condition may hold for (built from stored state when the processor opens,
  // then kept up to date as it applies events): narrows previews and definition commands.
  // nullptr when Options::candidate_index is false.
  const audience::CandidateIndex* candidate_index() const { return index_.get(); }

  // Applies up to one batch, on the calling thread; returns how many log entries it applied. A
  // definition command is applied in parts (Options::definition_batch_bytes), up to
  // kPartsPerCall per call, each counting as one: while one part is written, the next is worked
  // out. Everything it applied is written when it returns. REQUIRES: not start()ed.
  Result<size_t> process_batch();
  static constexpr size_t kPartsPerCall = 4;

 private:
  Processor(storage::Database& database, std::shared_ptr<const identity::CompiledRules> rules,
            Options options, uint64_t cursor, profile::ProfileId last_profile_id);
  void run();
  // A part of a definition command being written on another thread, and where the command
  // stood before it (where it goes on from if the write fails).
  struct PartWrite {
    std::future<rocksdb::Status> written;
    std::optional<profile::DefinitionResume> resume_before;
  };
  // One batch (or one part of a command): with `may_defer`, a part that is not the command's
  // last is left in `pending`, being written; a part in `pending` is waited for before
  // anything else is written or returned.
  Result<size_t> apply_batch(std::optional<PartWrite>& pending, bool may_defer);
  // Answers the waiters whose entry is applied or whose deadline passed; all of them on stop.
  void answer_waiters(bool stopping);

  struct Waiter {
    uint64_t seq;
    std::chrono::steady_clock::time_point deadline;
    std::function<void(bool)> done;
  };

  storage::Database& database_;
  std::shared_ptr<const identity::CompiledRules> rules_;
  Options options_;
  profile::ProfileBuilder builder_;
  std::shared_ptr<audience::CandidateIndex> index_;
  profile::StateTransaction state_;

  std::atomic<uint64_t> cursor_;
  std::atomic<uint64_t> events_applied_{0};
  std::atomic<int64_t> last_received_at_ms_{0};
  std::atomic<uint64_t> profiles_;

  Counter* applied_counter_ = nullptr;
  Counter* created_counter_ = nullptr;
  Counter* merged_counter_ = nullptr;
  Counter* quarantined_counter_ = nullptr;
  Counter* unidentified_counter_ = nullptr;

  mutable std::mutex definitions_mutex_;
  std::shared_ptr<const audience::Definitions> definitions_;
  DefinitionProgress progress_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool pending_ = false;
  std::vector<Waiter> waiters_;
  std::thread thread_;
};

}  // namespace cdp::pipeline
