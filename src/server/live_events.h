#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "server/http_types.h"
#include "storage/database.h"

namespace cdp::server {

// What the console's live debugger shows: the events stored in the raw log as they arrive, and
// the items the tracking API refused, with their reason, as server-sent events
// (docs/console.md#live-events). Each client says which source, type and event name it wants
// and gets at most kEventsPerSecond of them; the rest are counted in `dropped` frames, so a busy
// server never queues more for a browser than it can show.
//
// One thread follows the raw log while anyone listens (woken by the writer's commits, at most
// every kRoundInterval, reading at most kRecordsPerRound records a round): with nobody
// listening it reads nothing. Thread-safe.
class LiveEvents {
 public:
  struct Filter {
    std::string source;  // empty: any source except cdp's own (cdp:admin, cdp:match, ...)
    std::string type;    // empty: any
    std::string name;    // the track event's name; empty: any
  };

  static constexpr int kEventsPerSecond = 100;
  static constexpr size_t kMaxBacklog = 100;
  static constexpr size_t kMaxSubscribers = 16;
  static constexpr size_t kRecordsPerRound = 500;
  static constexpr std::chrono::milliseconds kRoundInterval{100};
  static constexpr std::chrono::seconds kKeepAliveInterval{15};

  LiveEvents(storage::Database& database, const Clock& clock);
  ~LiveEvents();
  LiveEvents(const LiveEvents&) = delete;
  LiveEvents& operator=(const LiveEvents&) = delete;

  void start();
  void stop();
  // Records up to `last_seq` are in the raw log (the writer's on_commit). Cheap: no lock.
  void notify(uint64_t last_seq);

  // Streams to `stream` from now on, after the last `backlog` stored events that pass `filter`
  // (at most kMaxBacklog, looked for among the last kRecordsPerRound). kResourceExhausted with
  // kMaxSubscribers streams open.
  Status subscribe(std::shared_ptr<ResponseStream> stream, Filter filter, size_t backlog);
  // A refused tracking request (index empty) or event of one; `item` is what was refused, cut.
  // Cheap while nobody listens.
  void rejected(std::string_view source, std::string_view code, std::string_view reason,
                std::string_view message_id, int64_t index, std::string_view item);

  size_t subscribers() const;
  // Whether another stream may open (fewer than kMaxSubscribers whose client is still there).
  bool has_room();

 private:
  struct Subscriber;
  void run();
  // Under mutex_: forgets the subscribers whose client has gone.
  void forget_gone();
  // Under mutex_: sends `frame` to `subscriber` if its rate allows; false when it has gone.
  bool offer(Subscriber& subscriber, const std::string& frame,
             std::chrono::steady_clock::time_point now);

  storage::Database& database_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::unique_ptr<Subscriber>> subscribers_;
  uint64_t next_seq_ = 0;  // the next record to read; 0: nobody listens, nothing read
  bool stopping_ = false;
  std::atomic<bool> pending_{false};
  std::atomic<uint64_t> last_seq_{0};  // the last committed record, from notify()
  std::atomic<size_t> listening_{0};   // subscribers_.size(), read without the lock
  std::thread thread_;
};

// The SSE frame of one event: "event: NAME\ndata: JSON\n\n" (with "id: ID\n" when not empty).
std::string sse_frame(std::string_view event, std::string_view data, std::string_view id = {});

}  // namespace cdp::server
