#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cdp::server::internal {

// A few threads that run queued jobs in arrival order, with a bound on what may wait.
//
// Lifecycle: jobs are posted until stop(), which runs what is still queued and joins the
// threads. Thread-safe.
class WorkPool {
 public:
  WorkPool(int threads, size_t max_queued);
  ~WorkPool();
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // Queues `job`; false (and `job` untouched) when max_queued jobs already wait or the pool
  // has stopped: the caller runs it itself.
  bool try_post(std::function<void()>& job);
  void stop();

 private:
  void run();

  const size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace cdp::server::internal
