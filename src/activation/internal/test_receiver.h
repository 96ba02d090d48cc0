#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>  // also for test_receiver.cc: Boost.Asio uses std::exchange without it
#include <vector>

namespace cdp::activation::testing {

// A real HTTP/1.1 server on 127.0.0.1 for delivery tests, whose answers a test scripts: status,
// headers, a delay, or a connection reset. Records every request it read. Thread-safe.
class TestReceiver {
 public:
  struct Request {
    std::string target;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
  };
  struct Reply {
    int status = 200;
    std::map<std::string, std::string> headers;
    std::string body;
    int delay_ms = 0;    // before answering (timeouts)
    bool reset = false;  // close the connection without answering
  };
  using Script = std::function<Reply(const Request&, size_t index)>;  // index: 0, 1, ...

  TestReceiver();  // answers 200 until scripted
  ~TestReceiver();
  void script(Script script);
  // Whether requests() keeps what was read (default true); benchmarks turn it off.
  void keep_bodies(bool keep);
  std::string url(const std::string& path = "/hook") const;
  unsigned short port() const { return port_; }
  std::vector<Request> requests() const;
  size_t count() const;
  // Waits (real time) until at least `n` requests were read; false after `timeout_ms`.
  bool wait_for(size_t n, int timeout_ms = 10'000) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  unsigned short port_ = 0;
};

}  // namespace cdp::activation::testing
