#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "server/http_types.h"

namespace cdp::server {

// Runs requests that read many records (audience previews, members at a past time, sizes over
// time) one at a time on a thread of their own, so that a preview over a million profiles does
// not hold one of the few HTTP threads that ingest events.
//
// A task is told whether to run: true normally; false when the queue is full or stopped
// (submit) or the server stops with it still waiting (stop), and then it answers "unavailable"
// instead.
// Thread-safe.
class SlowQueries {
 public:
  using Task = std::function<void(bool run)>;
  static constexpr size_t kMaxWaiting = 16;

  SlowQueries();
  ~SlowQueries();
  SlowQueries(const SlowQueries&) = delete;
  SlowQueries& operator=(const SlowQueries&) = delete;

  void submit(Task task);
  // Runs `call` and answers with what it returns; or answers 503 `busy` with `busy_message` when
  // it cannot run.
  void answer(const Request& request, Responder respond,
              std::function<Response(const Request&)> call, std::string busy_message);
  // Refuses what waits (after the running task ends) and every later submit. Idempotent.
  void stop();

 private:
  void work();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Task> waiting_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the members above exist
};

}  // namespace cdp::server
