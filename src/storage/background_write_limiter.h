#pragma once

#include <rocksdb/rate_limiter.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

namespace cdp::storage {

// Paces the disk writes of RocksDB's flushes and compactions to a byte rate (a RocksDB
// `RateLimiter`, set as `DBOptions::rate_limiter`).
//
// Why not RocksDB's own `NewGenericRateLimiter`: with it, a flush once waited in the limiter
// forever, and every write with it (bench/RESULTS.md, 2026-11-26 14:40 UTC). 7.8's code shows
// how: a request that cannot be granted sleeps without a deadline when another thread is already
// timing the next refill, and relies on being signalled. If the timing thread has woken but not
// yet taken the lock, a request that comes meanwhile refills, is not granted and sleeps without
// a deadline; the timing thread, granted, leaves without signalling anyone. That request then
// waits until some other request comes. Our compaction threads run at idle CPU priority, which
// keeps a woken thread off the CPU for long, so the window is wide.
//
// Here each request reserves its slot on a shared virtual clock under a lock and then sleeps
// until its own deadline: no thread ever waits for another to wake it. A request may run ahead
// of the clock by one burst (`GetSingleBurstBytes`): writes below that rate are not delayed at all.
// Requests are served in arrival order, whatever their priority; RocksDB asks for at most one
// burst at a time, so a flush waits behind at most one burst per compaction thread.
class BackgroundWriteLimiter : public rocksdb::RateLimiter {
 public:
  // `burst_window`: how far ahead of the rate a request may run, which sets the burst
  // (bytes_per_s * burst_window) and how finely writes are paced.
  BackgroundWriteLimiter(int64_t bytes_per_s, std::chrono::microseconds burst_window);

  void SetBytesPerSecond(int64_t bytes_per_s) override;
  int64_t GetBytesPerSecond() const override;
  int64_t GetSingleBurstBytes() const override;
  // Blocks until `bytes` may be written at the rate (RocksDB keeps `bytes` <= one burst).
  void Request(int64_t bytes, rocksdb::Env::IOPriority priority,
               rocksdb::Statistics* stats) override;
  int64_t GetTotalBytesThrough(
      rocksdb::Env::IOPriority priority = rocksdb::Env::IO_TOTAL) const override;
  int64_t GetTotalRequests(
      rocksdb::Env::IOPriority priority = rocksdb::Env::IO_TOTAL) const override;
  rocksdb::Status GetTotalPendingRequests(
      int64_t* pending, rocksdb::Env::IOPriority priority = rocksdb::Env::IO_TOTAL) const override;

 private:
  using Clock = std::chrono::steady_clock;

  const std::chrono::microseconds burst_window_;
  std::atomic<int64_t> bytes_per_s_;
  std::mutex mutex_;
  // When the bytes granted so far will have been written at the rate (guarded by mutex_).
  Clock::time_point paid_until_{};
  std::array<std::atomic<int64_t>, rocksdb::Env::IO_TOTAL> bytes_{};
  std::array<std::atomic<int64_t>, rocksdb::Env::IO_TOTAL> requests_{};
  std::array<std::atomic<int64_t>, rocksdb::Env::IO_TOTAL> waiting_{};
};

}  // namespace cdp::storage
