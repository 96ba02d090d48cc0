#pragma once

#include <atomic>
#include <cstdint>

namespace cdp {

// Wall-clock time in milliseconds since the Unix epoch, injected so that tests can fake time.
// Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override;
  // The process-wide instance; never destroyed.
  static SystemClock& instance();
};

// A clock that only moves when told; for tests.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_ms) : now_ms_(start_ms) {}
  int64_t now_ms() const override { return now_ms_.load(); }
  void set_ms(int64_t ms) { now_ms_.store(ms); }
  void advance_ms(int64_t ms) { now_ms_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace cdp
