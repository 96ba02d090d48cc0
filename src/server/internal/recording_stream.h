#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "server/http_types.h"

namespace cdp::server::internal {

// A ResponseStream for tests that keeps what is written; `leave()` makes it act like a client
// that went away (later writes are refused).
class RecordingStream : public ResponseStream {
 public:
  bool write(std::string bytes) override {
    std::lock_guard lock(mutex_);
    if (gone_) return false;
    text_ += bytes;
    changed_.notify_all();
    return true;
  }
  // Like a real stream's end: nothing written after it arrives.
  void close() override { leave(); }
  bool closed() const override {
    std::lock_guard lock(mutex_);
    return gone_;
  }
  void leave() {
    std::lock_guard lock(mutex_);
    gone_ = true;
  }
  std::string text() const {
    std::lock_guard lock(mutex_);
    return text_;
  }
  // Waits up to `timeout` for `part` to have been written `times` times; the text either way.
  std::string wait_for(const std::string& part, size_t times = 1,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return count_in(text_, part) >= times; });
    return text_;
  }
  size_t count(const std::string& part) const {
    std::lock_guard lock(mutex_);
    return count_in(text_, part);
  }
  static size_t count_in(const std::string& text, const std::string& part) {
    size_t n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
    return n;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string text_;
  bool gone_ = false;
};

}  // namespace cdp::server::internal
