#include "storage/background_write_limiter.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace cdp::storage {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// Threads at both of RocksDB's background priorities (flushes high, compactions low) ask for
// 10 MB in all at 20 MB/s: every request is served, the bytes are counted per priority, and the
// whole takes at least what the rate allows beyond one burst.
TEST(BackgroundWriteLimiterTest, ServesEveryRequestAndNeverFasterThanTheRate) {
  constexpr int64_t kRate = 20 << 20;
  BackgroundWriteLimiter limiter(kRate, std::chrono::microseconds(10'000));
  const int64_t burst = limiter.GetSingleBurstBytes();
  EXPECT_EQ(burst, kRate / 100);
  constexpr int kThreads = 4;
  constexpr int kRequests = 25;
  constexpr int64_t kBytes = 100 << 10;
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&limiter, t] {
      const auto priority = t % 2 == 0 ? rocksdb::Env::IO_HIGH : rocksdb::Env::IO_LOW;
      for (int i = 0; i < kRequests; ++i) {
        EXPECT_EQ(limiter.RequestToken(kBytes, 0, priority, nullptr,
                                       rocksdb::RateLimiter::OpType::kWrite),
                  static_cast<size_t>(kBytes));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const auto elapsed = Clock::now() - start;
  const int64_t total = kThreads * kRequests * kBytes;
  EXPECT_GE(elapsed, milliseconds((total - burst) * 1000 / kRate));
  EXPECT_LT(elapsed, std::chrono::seconds(20));  // a lost wakeup would never return
  EXPECT_EQ(limiter.GetTotalBytesThrough(), total);
  EXPECT_EQ(limiter.GetTotalBytesThrough(rocksdb::Env::IO_HIGH), total / 2);
  EXPECT_EQ(limiter.GetTotalBytesThrough(rocksdb::Env::IO_LOW), total / 2);
  EXPECT_EQ(limiter.GetTotalRequests(), kThreads * kRequests);
  int64_t pending = -1;
  ASSERT_TRUE(limiter.GetTotalPendingRequests(&pending).ok());
  EXPECT_EQ(pending, 0);
}

// Up to one burst is written at once after a pause; the next burst waits its turn.
TEST(BackgroundWriteLimiterTest, AnIdleLimiterLetsOneBurstThroughAtOnce) {
  BackgroundWriteLimiter limiter(1 << 20, std::chrono::microseconds(400'000));
  const int64_t burst = limiter.GetSingleBurstBytes();
  auto start = Clock::now();
  limiter.Request(burst, rocksdb::Env::IO_LOW, nullptr);
  EXPECT_LT(Clock::now() - start, milliseconds(300));
  start = Clock::now();
  limiter.Request(burst, rocksdb::Env::IO_LOW, nullptr);
  EXPECT_GE(Clock::now() - start, milliseconds(390));
}

// Reads are not limited (the limiter paces writes only), and a larger request is cut to a burst.
TEST(BackgroundWriteLimiterTest, PacesWritesOneBurstAtATime) {
  BackgroundWriteLimiter limiter(1 << 20, std::chrono::microseconds(10'000));
  EXPECT_FALSE(limiter.IsRateLimited(rocksdb::RateLimiter::OpType::kRead));
  EXPECT_EQ(limiter.RequestToken(1 << 20, 0, rocksdb::Env::IO_HIGH, nullptr,
                                 rocksdb::RateLimiter::OpType::kWrite),
            static_cast<size_t>(limiter.GetSingleBurstBytes()));
  limiter.SetBytesPerSecond(2 << 20);
  EXPECT_EQ(limiter.GetBytesPerSecond(), 2 << 20);
  EXPECT_EQ(limiter.GetSingleBurstBytes(), (2 << 20) / 100);
}

}  // namespace
}  // namespace cdp::storage
