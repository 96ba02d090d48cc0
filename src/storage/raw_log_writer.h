#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/status.h"
#include "storage/database.h"

namespace cdp::storage {

struct AppendEvent {
  std::string message_id;
  std::string json;  // the normalised event
};

// Events from one request of one source, appended together.
struct AppendRequest {
  std::string source;
  int64_t received_at_ms = 0;
  std::vector<AppendEvent> events;
};

struct AppendOutcome {
  Status status;               // not ok: nothing of the request was stored
  std::vector<uint64_t> seqs;  // per event: its seq, or 0 when it was a duplicate
  size_t stored = 0;
  size_t duplicates = 0;
};

// Called once per request on the writer thread, after the write is durable (or failed).
// Must not block.
using AppendDone = std::function<void(AppendOutcome)>;

// The single writer of the raw log: a thread that takes every pending request, drops messageIds
// already seen in the dedup window, assigns sequence numbers and writes the events, their dedup
// entries and the last seq in one WriteBatch with one fsync (group commit).
//
// Lifecycle: construct, start(), submit() from any thread, stop() (drains the queue).
// Thread-safe.
//
// Rationale: a single writer makes seq assignment and dedup race-free without locks on the
// ingest path, and batching many requests into one fsync is what makes durable acks fast.
// The queue is bounded: when it is full, or storage cannot take writes, submit() fails at once
// so the server can answer 429/503 instead of piling up memory.
class RawLogWriter {
 public:
  struct Options {
    bool sync = true;                       // fsync before acknowledging
    size_t max_queue_bytes = 64ULL << 20;   // pending event bytes before submit() refuses
    size_t max_group_bytes = 8ULL << 20;    // event bytes per WriteBatch
    uint64_t min_free_bytes = 64ULL << 20;  // refuse writes when the disk has less free space
    // Where to export how long each stage of a write takes (none when null). Acknowledgement
    // latency is their sum plus parsing; these say which stage a slow tail comes from.
    MetricsRegistry* metrics = nullptr;
    // Called on the writer thread after each durable group with the last seq (must not block):
    // how the processor learns that the log grew.
    std::function<void(uint64_t last_seq)> on_commit;
  };

  struct Stats {
    uint64_t last_seq = 0;
    uint64_t groups = 0;
    uint64_t events_stored = 0;
    uint64_t duplicates = 0;
    size_t queued_bytes = 0;
    size_t queued_requests = 0;
    bool storage_available = true;
  };

  RawLogWriter(Database& database, Options options, const Clock& clock);
  ~RawLogWriter();
  RawLogWriter(const RawLogWriter&) = delete;
  RawLogWriter& operator=(const RawLogWriter&) = delete;

  Status start();
  // Queues `request`; `done` runs when it is durable or has failed.
  // Returns kResourceExhausted when the queue is full and kUnavailable when storage cannot take
  // writes (disk full, I/O error); `done` is then never called.
  Status submit(AppendRequest request, AppendDone done);
  // Finishes the queued requests and stops the thread. Idempotent.
  void stop();

  Stats stats() const;

 private:
  struct Pending {
    AppendRequest request;
    AppendDone done;
    size_t bytes = 0;
    std::chrono::steady_clock::time_point queued_at;
  };

  // Per-stage durations; a private histogram when no registry is given.
  struct StageHistograms {
    Histogram* queue_wait = nullptr;    // submit() until its group starts
    Histogram* dedup_lookup = nullptr;  // the group's MultiGet
    Histogram* write = nullptr;         // the group's WriteBatch, fsync included
    Histogram unexported;
  };

  void run();
  void commit(std::vector<Pending>& group);
  bool has_free_space(std::string& why) const;
  void try_recover();

  Database& database_;
  const Options options_;
  const Clock& clock_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  size_t queued_bytes_ = 0;
  bool stopping_ = false;

  std::atomic<bool> storage_available_{true};
  std::atomic<uint64_t> last_seq_{0};
  std::atomic<uint64_t> groups_{0};
  std::atomic<uint64_t> events_stored_{0};
  std::atomic<uint64_t> duplicates_{0};
  StageHistograms stages_;
  std::thread thread_;
};

// Appends `request` and waits until it is durable, for producers inside the server that append on
// their own threads (imports, the matcher). A full queue or unavailable storage is waited out
// while `keep_trying()` holds, as an SDK would retry; once it does not, that error is the result.
Result<AppendOutcome> append_and_wait(RawLogWriter& writer, const AppendRequest& request,
                                      const std::function<bool()>& keep_trying);

}  // namespace cdp::storage
