#pragma once

#include <algorithm>
#include <cstddef>
#include <thread>
#include <vector>

namespace cdp::match::internal {

// Runs body(begin, end, worker) over [0, n) split into `threads` contiguous ranges, one thread
// each (the calling thread takes the first); worker < max(threads, 1). Waits for all.
template <typename Body>
void parallel_for(size_t n, int threads, Body body) {
  const size_t workers =
      std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(std::max(threads, 1)), n));
  if (workers <= 1) {
    body(size_t{0}, n, size_t{0});
    return;
  }
  std::vector<std::thread> pool;
  const size_t chunk = (n + workers - 1) / workers;
  for (size_t worker = 1; worker < workers; ++worker) {
    const size_t begin = std::min(n, worker * chunk);
    const size_t end = std::min(n, begin + chunk);
    pool.emplace_back([&body, begin, end, worker] { body(begin, end, worker); });
  }
  body(size_t{0}, std::min(n, chunk), size_t{0});
  for (auto& thread : pool) thread.join();
}

}  // namespace cdp::match::internal
