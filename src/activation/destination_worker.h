#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "activation/activation_store.h"
#include "activation/destination.h"
#include "activation/destination_runner.h"
#include "activation/sender.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "storage/database.h"

namespace cdp::activation {

// Counters a worker adds to; owned by the caller, which may share them across restarts.
struct DeliveryMetrics {
  Counter* delivered = nullptr;
  Counter* retried = nullptr;
  Counter* dead = nullptr;
  Histogram* latency = nullptr;  // log append (receivedAt) to delivery, first attempts of events
};

// Delivers one destination's messages on a thread of its own, so that a slow or failing
// destination never slows ingestion or another destination.
//
// It reads the raw log and the change log from its cursor, keeps what the destination subscribes
// to (selection.h), and sends batches through its Sender. A batch that fails with a retryable
// error goes to the durable outbox (one WriteBatch with the cursor), and the whole destination
// waits (exponential backoff with jitter, at least the Retry-After it was given) before the next
// attempt. Attempts after a failure take turns between the outbox and the log: an outage parks
// one batch in the outbox per two probes and leaves the rest in the log, where the cursor waits,
// and a message the destination keeps failing on backs off alone while the others flow. A message
// still failing when its retry window has passed, or refused by the destination (4xx), becomes a
// dead letter, which can be replayed. Delivered messages leave a delivery record. At least once: a
// crash between a delivery and its record resends the batch.
//
// With `ordered`, a user's messages are delivered in log order: while one of them waits in the
// outbox, the user's later messages join it there instead of being sent.
// Thread-safe.
class DestinationWorker final : public DestinationRunner {
 public:
  struct Deps {
    storage::Database& database;
    ActivationStore& store;
    const Clock& clock;
    DeliveryMetrics metrics;
  };
  // Most messages kept in the outbox (in memory too); past it the cursor waits and new messages
  // stay in the log.
  static constexpr size_t kMaxOutbox = 20'000;
  // Most dead letters one replay of all of them moves.
  static constexpr size_t kMaxReplay = 10'000;

  // Reads the cursor (creating it at the logs' end, or start with from_beginning) and the
  // outbox, then starts the thread. State that cannot be read leaves the worker in state
  // "error", trying again every few seconds, sending nothing.
  static Result<std::unique_ptr<DestinationWorker>> start(Deps deps, DestinationSpec spec,
                                                          std::unique_ptr<Sender> sender);
  ~DestinationWorker() override;

  const DestinationSpec& spec() const override { return spec_; }
  void notify() override;
  // The attempt in flight is cancelled: its batch goes to the outbox.
  void request_stop() override;
  void stop() override;
  DestinationStats stats() override;
  // Moves dead letters back into the outbox for an immediate retry with a new retry window:
  // those with the given ids, or the first kMaxReplay when `ids` is empty. Returns how many
  // moved; unavailable while the worker stops or cannot read its state.
  Result<uint64_t> replay_dead_letters(const std::vector<uint64_t>& ids) override;

 private:
  // A message read from a log, not yet attempted.
  struct Pending {
    Message message;
    bool change = false;
    uint64_t event_seq = 0;                       // events: its seq
    std::optional<profile::ChangeCursor> before;  // changes: the change cursor before it
    int64_t logged_ms = 0;                        // events: receivedAt
  };
  // What one attempt sends: fresh messages of one log, or due outbox entries.
  struct Batch {
    std::vector<Pending> fresh;
    std::vector<uint64_t> retries;  // outbox ids
    std::vector<Pending> diverted;  // ordered: fresh messages that join their user in the outbox
    int attempt = 1;
  };

  DestinationWorker(Deps deps, DestinationSpec spec, std::unique_ptr<Sender> sender)
      : deps_(std::move(deps)), spec_(std::move(spec)), sender_(std::move(sender)) {}
  Status load();
  void reload();  // load(), or state "error" and needs_reload_
  void run();
  Batch next_batch(int64_t now, size_t limit);
  // Adds messages from the logs (one log per batch, taking turns).
  void take_fresh(Batch& batch, size_t limit);
  void refill();
  void settle(Batch& batch, const SendResult& result, int64_t now);
  void update_cursor();
  Status flush_cursor();
  OutboxEntry entry_for(const Pending& pending, int64_t now);
  void add_to_outbox(OutboxEntry entry, rocksdb::WriteBatch& write);
  void remove_from_outbox(uint64_t id, rocksdb::WriteBatch& write);
  void record(rocksdb::WriteBatch& write, const OutboxEntry& entry, std::string state);

  Deps deps_;
  const DestinationSpec spec_;
  std::unique_ptr<Sender> sender_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::atomic<bool> notified_{false};
  std::thread thread_;

  DeliveryCursor cursor_;      // as stored
  bool cursor_dirty_ = false;  // cursor_ moved past skipped entries and is not stored yet
  int64_t cursor_flushed_ms_ = 0;
  uint64_t events_scanned_ = 0;  // the next raw log seq to read
  std::optional<profile::ChangeCursor> changes_scanned_;
  std::deque<Pending> events_pending_;
  std::deque<Pending> changes_pending_;
  bool changes_turn_ = false;
  bool fresh_turn_ = false;    // the next attempt takes messages from the logs first
  bool more_to_read_ = false;  // the last look at a log stopped at its scan limit
  bool needs_reload_ = false;  // state in memory is not what is stored

  std::map<uint64_t, OutboxEntry> outbox_;
  std::unordered_map<std::string, size_t> outbox_keys_;  // ordered: messages per user key
  uint64_t outbox_bytes_ = 0;
  uint64_t next_id_ = 1;
  int consecutive_failures_ = 0;
  int64_t paused_until_ms_ = 0;
  double tokens_ = 0;
  int64_t tokens_at_ms_ = 0;
  std::mt19937_64 random_;
  DestinationStats stats_;
};

// Where a new destination starts when it takes new data only: after the raw log's last seq and
// after every change already in the change log.
Result<DeliveryCursor> end_of_logs(storage::Database& database);

}  // namespace cdp::activation
