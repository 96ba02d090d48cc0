#pragma once

#include <algorithm>
#include <cstdint>

namespace cdp::activation {

// The wait before the next attempt after `failures` consecutive failed attempts (1, 2, ...):
// exponential from 1 s, doubling, capped at 10 minutes, with "equal jitter" (a uniformly random
// point in the upper half of the step, `unit_random` in [0, 1)) so that destinations that failed
// together do not retry together.
inline int64_t retry_delay_ms(int failures, double unit_random) {
  constexpr int64_t kFirst = 1000;
  constexpr int64_t kCap = 10 * 60 * 1000;
  const int doublings = std::clamp(failures - 1, 0, 20);
  const int64_t step = std::min(kCap, kFirst << doublings);
  return step / 2 + static_cast<int64_t>(static_cast<double>(step / 2) * unit_random);
}

}  // namespace cdp::activation
