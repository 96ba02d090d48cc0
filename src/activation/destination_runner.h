#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "activation/activation_store.h"
#include "activation/destination.h"
#include "common/status.h"

namespace cdp::activation {

// What a destination is doing, for the admin API and the console.
struct DestinationStats {
  std::string state;             // delivering, idle, backing_off, disabled, error
  uint64_t delivered = 0;        // messages (files: rows) taken by the destination, since start
  uint64_t failed_attempts = 0;  // batches (files: exports) that failed and will be repeated
  uint64_t dead = 0;             // messages given up on (since start)
  uint64_t outbox = 0;           // messages waiting for a retry now
  uint64_t outbox_bytes = 0;     // their size as stored (message JSON and record)
  uint64_t dead_letters = 0;     // dead letters stored now
  DeliveryCursor cursor;
  int64_t paused_until_ms = 0;  // backing off until; files: the next export
  std::string last_error;
  int64_t last_error_ms = 0;
  int64_t last_delivery_ms = 0;
};

// One destination's thread, whatever its kind: DestinationWorker (a stream of messages) or
// FileExportWorker (audience files on a schedule). Thread-safe.
class DestinationRunner {
 public:
  virtual ~DestinationRunner() = default;
  virtual const DestinationSpec& spec() const = 0;
  // New entries in the logs, or time moved (fake clocks): look again now. Never blocks.
  virtual void notify() = 0;
  // Stops after the work in flight, which is cancelled where it can be. request_stop() returns
  // at once; stop() also waits for the thread.
  virtual void request_stop() = 0;
  virtual void stop() = 0;
  virtual DestinationStats stats() = 0;
  virtual Result<uint64_t> replay_dead_letters(const std::vector<uint64_t>& ids) = 0;
};

}  // namespace cdp::activation
