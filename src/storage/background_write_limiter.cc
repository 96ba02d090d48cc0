#include "storage/background_write_limiter.h"

#include <algorithm>
#include <thread>

namespace cdp::storage {

BackgroundWriteLimiter::BackgroundWriteLimiter(int64_t bytes_per_s,
                                               std::chrono::microseconds burst_window)
    : rocksdb::RateLimiter(Mode::kWritesOnly),
      burst_window_(burst_window),
      bytes_per_s_(std::max<int64_t>(bytes_per_s, 1)) {}

void BackgroundWriteLimiter::SetBytesPerSecond(int64_t bytes_per_s) {
  bytes_per_s_.store(std::max<int64_t>(bytes_per_s, 1), std::memory_order_relaxed);
}

int64_t BackgroundWriteLimiter::GetBytesPerSecond() const {
  return bytes_per_s_.load(std::memory_order_relaxed);
}

int64_t BackgroundWriteLimiter::GetSingleBurstBytes() const {
  // At least one 4 KB block, whatever the rate.
  return std::max<int64_t>(4096, GetBytesPerSecond() * burst_window_.count() / 1'000'000);
}

void BackgroundWriteLimiter::Request(int64_t bytes, rocksdb::Env::IOPriority priority,
                                     rocksdb::Statistics* /*stats*/) {
  const auto index = std::min<int>(priority, rocksdb::Env::IO_TOTAL - 1);
  requests_[index].fetch_add(1, std::memory_order_relaxed);
  if (bytes <= 0) return;
  const auto cost = std::chrono::nanoseconds(
      static_cast<int64_t>(static_cast<double>(bytes) * 1e9 / GetBytesPerSecond()));
  Clock::time_point deadline;
  const auto now = Clock::now();
  {
    std::lock_guard lock(mutex_);
    // An idle limiter does not bank time: the clock starts again from now.
    paid_until_ = std::max(paid_until_, now) + cost;
    deadline = paid_until_ - burst_window_;
  }
  if (deadline > now) {
    waiting_[index].fetch_add(1, std::memory_order_relaxed);
    std::this_thread::sleep_until(deadline);
    waiting_[index].fetch_sub(1, std::memory_order_relaxed);
  }
  bytes_[index].fetch_add(bytes, std::memory_order_relaxed);
}

namespace {

int64_t sum(const std::array<std::atomic<int64_t>, rocksdb::Env::IO_TOTAL>& counts,
            rocksdb::Env::IOPriority priority) {
  if (priority < rocksdb::Env::IO_TOTAL) return counts[priority].load(std::memory_order_relaxed);
  int64_t total = 0;
  for (const auto& count : counts) total += count.load(std::memory_order_relaxed);
  return total;
}

}  // namespace

int64_t BackgroundWriteLimiter::GetTotalBytesThrough(rocksdb::Env::IOPriority priority) const {
  return sum(bytes_, priority);
}

int64_t BackgroundWriteLimiter::GetTotalRequests(rocksdb::Env::IOPriority priority) const {
  return sum(requests_, priority);
}

rocksdb::Status BackgroundWriteLimiter::GetTotalPendingRequests(
    int64_t* pending, rocksdb::Env::IOPriority priority) const {
  *pending = sum(waiting_, priority);
  return rocksdb::Status::OK();
}

}  // namespace cdp::storage
