#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "common/status.h"
#include "pipeline/processor.h"
#include "storage/database.h"
#include "storage/raw_log_writer.h"

namespace cdp::pipeline {

// Lets time move audiences: when the earliest check time of any profile (the `x/` keys that
// the processor keeps, docs/formats/audiences.md) has come, appends a tick to the raw log
// ({"type":"tick"}, source cdp:admin), and the processor re-evaluates the profiles that are due
// as of the tick's time. Ticks are entries of the log so that a replay makes the same changes at
// the same times; there is at most one tick waiting for the processor at a time, and none while
// nothing is due.
// Lifecycle: start(), then destroy (stops the thread). check() is for tests, without start().
class AudienceClock {
 public:
  struct Options {
    std::chrono::milliseconds period{1000};
    const Clock* clock = &SystemClock::instance();
  };

  AudienceClock(storage::Database& database, storage::RawLogWriter& writer, Processor& processor,
                Options options)
      : database_(database), writer_(writer), processor_(processor), options_(options) {}
  ~AudienceClock();
  AudienceClock(const AudienceClock&) = delete;
  AudienceClock& operator=(const AudienceClock&) = delete;

  void start();

  // Appends a tick if one is due and none is waiting; returns its seq, or 0.
  Result<uint64_t> check();

 private:
  void run();

  storage::Database& database_;
  storage::RawLogWriter& writer_;
  Processor& processor_;
  const Options options_;
  uint64_t waiting_seq_ = 0;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace cdp::pipeline
