#include "server/live_events.h"

#include <algorithm>
#include <deque>

#include "common/json_writer.h"
#include "common/log.h"
#include "common/thread_name.h"
#include "common/time_format.h"
#include "ingest/json_tree.h"
#include "storage/raw_log_reader.h"
#include "storage/raw_log_record.h"

namespace cdp::server {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

bool internal_source(std::string_view source) { return source.starts_with("cdp:"); }

}  // namespace

struct LiveEvents::Subscriber {
  std::shared_ptr<ResponseStream> stream;
  Filter filter;
  double tokens = kEventsPerSecond;  // a token bucket: kEventsPerSecond, bursts of one second
  SteadyTime refilled;
  uint64_t dropped = 0;  // not sent since the last `dropped` frame
  SteadyTime reported;
  bool gone = false;
};

std::string sse_frame(std::string_view event, std::string_view data, std::string_view id) {
  std::string frame;
  frame.reserve(data.size() + event.size() + id.size() + 24);
  if (!id.empty()) frame.append("id: ").append(id).push_back('\n');
  frame.append("event: ").append(event).push_back('\n');
  // A line break in the data would end the field: each line is a data field of its own, which
  // the client joins with '\n' again.
  size_t start = 0;
  for (;;) {
    const auto end = data.find('\n', start);
    frame.append("data: ").append(data.substr(start, end - start)).push_back('\n');
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  frame.push_back('\n');
  return frame;
}

LiveEvents::LiveEvents(storage::Database& database, const Clock& clock)
    : database_(database), clock_(clock) {}

LiveEvents::~LiveEvents() { stop(); }

void LiveEvents::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void LiveEvents::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& subscriber : subscribers_) subscriber->stream->close();
    subscribers_.clear();
    listening_ = 0;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LiveEvents::notify(uint64_t last_seq) {
  last_seq_.store(last_seq, std::memory_order_relaxed);
  if (listening_.load(std::memory_order_relaxed) == 0) return;
  // Set between the follower's check and its wait, the wake-up would be lost: the lock orders
  // them. Taken once a round at most (while pending_ is set, the follower has yet to see it).
  if (!pending_.exchange(true)) {
    std::lock_guard lock(mutex_);
  }
  wake_.notify_one();
}

size_t LiveEvents::subscribers() const {
  std::lock_guard lock(mutex_);
  return subscribers_.size();
}

bool LiveEvents::has_room() {
  std::lock_guard lock(mutex_);
  forget_gone();
  return subscribers_.size() < kMaxSubscribers;
}

void LiveEvents::forget_gone() {
  std::erase_if(subscribers_, [](const auto& subscriber) {
    return subscriber->gone || subscriber->stream->closed();
  });
  listening_ = subscribers_.size();
}

namespace {

// Whether the stored event passes a filter's type and name (the source is checked apart).
bool passes(const LiveEvents::Filter& filter, const ingest::JsonValue* event) {
  if (filter.type.empty() && filter.name.empty()) return true;
  if (event == nullptr) return false;
  auto text = [&](std::string_view key) {
    const auto* value = event->find(key);
    return value != nullptr && value->is_string() ? value->text : std::string_view();
  };
  return (filter.type.empty() || text("type") == filter.type) &&
         (filter.name.empty() || text("event") == filter.name);
}

bool source_passes(const LiveEvents::Filter& filter, std::string_view source) {
  return filter.source.empty() ? !internal_source(source) : source == filter.source;
}

std::string event_frame(const storage::RawLogRecord& record) {
  return sse_frame("event", record.to_json_line(), std::to_string(record.seq));
}

}  // namespace

Status LiveEvents::subscribe(std::shared_ptr<ResponseStream> stream, Filter filter,
                             size_t backlog) {
  backlog = std::min(backlog, kMaxBacklog);
  std::lock_guard lock(mutex_);
  if (stopping_) return Status::unavailable("the server is stopping");
  forget_gone();
  if (subscribers_.size() >= kMaxSubscribers) {
    return Status::resource_exhausted(std::to_string(kMaxSubscribers) +
                                      " live event streams are open already; close one");
  }
  // (Read under the lock, so that the follower cannot move on meanwhile: at most
  // kRecordsPerRound records, for an admin opening a debugger.)
  storage::RawLogReader reader(database_);
  // The newest records before the ones the follower reads next: together, each record once.
  uint64_t end = next_seq_;
  if (end == 0) {
    auto bounds = reader.bounds();
    if (!bounds) return bounds.status();
    end = bounds->second + 1;
  }
  if (backlog > 0 && end > 1) {
    const uint64_t from = end > kRecordsPerRound ? end - kRecordsPerRound : 1;
    std::deque<std::string> frames;
    ingest::JsonParser parser;
    auto scanned = reader.scan(from, end - from, [&](const storage::RawLogRecord& record) {
      if (!source_passes(filter, record.source)) return true;
      if (!filter.type.empty() || !filter.name.empty()) {
        auto event = parser.parse(record.event_json);
        if (!passes(filter, event ? *event : nullptr)) return true;
      }
      frames.push_back(event_frame(record));
      if (frames.size() > backlog) frames.pop_front();
      return true;
    });
    if (!scanned) return scanned.status();
    for (auto& frame : frames) stream->write(std::move(frame));
  }
  if (next_seq_ == 0) next_seq_ = end;
  auto subscriber = std::make_unique<Subscriber>();
  subscriber->stream = std::move(stream);
  subscriber->filter = std::move(filter);
  subscriber->refilled = subscriber->reported = std::chrono::steady_clock::now();
  subscribers_.push_back(std::move(subscriber));
  listening_ = subscribers_.size();
  pending_ = true;
  wake_.notify_one();
  return Status::ok();
}

bool LiveEvents::offer(Subscriber& subscriber, const std::string& frame, SteadyTime now) {
  const double elapsed = std::chrono::duration<double>(now - subscriber.refilled).count();
  subscriber.refilled = now;
  subscriber.tokens =
      std::min<double>(kEventsPerSecond, subscriber.tokens + elapsed * kEventsPerSecond);
  if (subscriber.tokens < 1) {
    ++subscriber.dropped;
    return true;
  }
  subscriber.tokens -= 1;
  return subscriber.stream->write(frame);
}

void LiveEvents::rejected(std::string_view source, std::string_view code, std::string_view reason,
                          std::string_view message_id, int64_t index, std::string_view item) {
  if (listening_.load(std::memory_order_relaxed) == 0) return;
  JsonWriter data;
  data.begin_object();
  data.key("source").string(source);
  data.key("receivedAt").string(format_iso8601_ms(clock_.now_ms()));
  data.key("code").string(code);
  data.key("reason").string(reason);
  if (!message_id.empty()) data.key("messageId").string(message_id);
  if (index >= 0) data.key("index").number(index);
  if (!item.empty()) data.key("item").string(to_valid_utf8(item));
  data.end_object();
  const std::string frame = sse_frame("rejected", data.str());
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  for (auto& subscriber : subscribers_) {
    const auto& filter = subscriber->filter;
    // A refused item has no trusted type or name: it shows where those are not asked for.
    if (!filter.type.empty() || !filter.name.empty()) continue;
    if (!filter.source.empty() && filter.source != source) continue;
    if (!offer(*subscriber, frame, now)) subscriber->gone = true;
  }
}

void LiveEvents::run() {
  set_thread_name("cdp-live");
  SteadyTime last_round{};
  auto last_keep_alive = std::chrono::steady_clock::now();
  ingest::JsonParser parser;
  std::vector<storage::RawLogRecord> records;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_ || pending_.load(); });
    // Rounds coalesce the commits of a busy log.
    const auto since = std::chrono::steady_clock::now() - last_round;
    if (since < kRoundInterval) {
      wake_.wait_for(lock, kRoundInterval - since, [&] { return stopping_; });
    }
    if (stopping_) break;
    const auto now = std::chrono::steady_clock::now();
    last_round = now;
    pending_ = false;

    const bool keep_alive = now - last_keep_alive >= kKeepAliveInterval;
    if (keep_alive) last_keep_alive = now;
    for (auto& subscriber : subscribers_) {
      if (subscriber->gone) continue;
      if (subscriber->dropped > 0 && now - subscriber->reported >= std::chrono::seconds(1)) {
        subscriber->reported = now;
        const std::string count = std::to_string(subscriber->dropped);
        subscriber->dropped = 0;
        if (!subscriber->stream->write(sse_frame("dropped", "{\"count\":" + count + "}"))) {
          subscriber->gone = true;
        }
      }
      // A comment line: keeps proxies from closing an idle stream, and finds clients that left.
      if (keep_alive && !subscriber->stream->write(": keep-alive\n\n")) subscriber->gone = true;
    }
    // Clients that left are found here too, not only by a failed write: a quiet or filtered
    // stream would hold its place until the next keep-alive.
    forget_gone();
    if (subscribers_.empty()) {
      next_seq_ = 0;
      continue;
    }

    // Far behind a busy log: only its newest records. The rest count as dropped for every
    // listener (unread, they cannot be told apart by filter).
    uint64_t from = next_seq_;
    uint64_t skipped = 0;
    const uint64_t last = last_seq_.load(std::memory_order_relaxed);
    if (last >= from + kRecordsPerRound) {
      skipped = last + 1 - kRecordsPerRound - from;
      from += skipped;
    }
    lock.unlock();
    records.clear();
    storage::RawLogReader reader(database_);
    auto scanned = reader.scan(from, kRecordsPerRound, [&](const storage::RawLogRecord& record) {
      records.push_back(record);
      return true;
    });
    lock.lock();
    if (!scanned) {
      log::warn("live_events_read_failed", {{"error", scanned.status().message()}});
      continue;
    }
    for (auto& subscriber : subscribers_) subscriber->dropped += skipped;
    if (records.size() == kRecordsPerRound) pending_ = true;  // more to read
    const bool filtered = std::any_of(subscribers_.begin(), subscribers_.end(), [](const auto& s) {
      return !s->filter.type.empty() || !s->filter.name.empty();
    });
    const auto sent = std::chrono::steady_clock::now();
    for (const auto& record : records) {
      const ingest::JsonValue* event = nullptr;
      if (filtered) {
        auto parsed = parser.parse(record.event_json);
        if (parsed) event = *parsed;
      }
      std::string frame;
      for (auto& subscriber : subscribers_) {
        if (subscriber->gone || !source_passes(subscriber->filter, record.source) ||
            !passes(subscriber->filter, event)) {
          continue;
        }
        if (frame.empty()) frame = event_frame(record);
        if (!offer(*subscriber, frame, sent)) subscriber->gone = true;
      }
    }
    next_seq_ = *scanned;
  }
}

}  // namespace cdp::server
