#include "activation/destination_worker.h"

#include <algorithm>
#include <set>
#include <unordered_set>

#include "activation/retry_policy.h"
#include "audience/condition_text.h"
#include "common/json_writer.h"
#include "common/log.h"
#include "common/thread_name.h"
#include "storage/big_endian.h"
#include "storage/raw_log_reader.h"

namespace cdp::activation {
namespace {

// How long an idle worker sleeps when nothing notifies it (a lost wakeup costs at most this).
constexpr int64_t kIdleWaitMs = 200;
// A cursor that only moved past entries the destination does not take is stored at most this
// often.
constexpr int64_t kCursorFlushMs = 1000;
// Raw log records or changes read per look at a log.
constexpr size_t kScanLimit = 5000;
// After a failed write of delivery state, the worker reloads it from the store after this.
constexpr int64_t kStoreErrorPauseMs = 5000;

// The start of a destination's answer, as valid UTF-8 (it goes into JSON records).
std::string excerpt(std::string_view text, size_t max) {
  if (text.size() <= max) return to_valid_utf8(text);
  return to_valid_utf8(utf8_prefix(text, max)) + "...";
}
// Retries that failed this often go one message at a time, so that a message the destination
// keeps failing on does not take the rest of its batch to the dead letters with it.
constexpr size_t kAttemptsBeforeAlone = 3;
// The longest Retry-After honoured: a destination cannot park its messages for longer.
constexpr int64_t kMaxRetryAfterMs = 3600 * 1000;

}  // namespace

Result<std::unique_ptr<DestinationWorker>> DestinationWorker::start(
    Deps deps, DestinationSpec spec, std::unique_ptr<Sender> sender) {
  std::unique_ptr<DestinationWorker> worker(
      new DestinationWorker(std::move(deps), std::move(spec), std::move(sender)));
  worker->random_.seed(std::hash<std::string>()(worker->spec_.name) ^
                       static_cast<uint64_t>(worker->deps_.clock.now_ms()));
  {
    std::lock_guard lock(worker->mutex_);
    worker->reload();
  }
  worker->thread_ = std::thread([w = worker.get()] { w->run(); });
  return worker;
}

DestinationWorker::~DestinationWorker() { stop(); }

void DestinationWorker::request_stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  sender_->cancel();  // the request in flight ends now, into the outbox
  wake_.notify_all();
}

void DestinationWorker::stop() {
  request_stop();
  if (thread_.joinable()) thread_.join();
}

void DestinationWorker::reload() {
  if (auto status = load(); !status.is_ok()) {
    needs_reload_ = true;
    stats_.state = "error";
    stats_.last_error = "cannot read the destination's state: " + status.message();
    stats_.last_error_ms = deps_.clock.now_ms();
    log::error("delivery_state_unreadable",
               {{"destination", spec_.name}, {"error", status.message()}});
    return;
  }
  needs_reload_ = false;
}

void DestinationWorker::notify() {
  // Without the lock: this runs on the raw log's commit thread, which must not wait for a log
  // scan or a write of this worker. A wakeup lost in the moment before the worker sleeps costs at
  // most its idle wait.
  notified_.store(true);
  wake_.notify_all();
}

Status DestinationWorker::load() {
  auto stored = deps_.store.cursor(spec_.name);
  if (!stored) return stored.status();
  if (stored->has_value()) {
    cursor_ = **stored;
  } else {
    // A new destination: new data only, unless it asked for the whole log.
    if (!spec_.from_beginning) {
      auto start = end_of_logs(deps_.database);
      if (!start) return start.status();
      cursor_ = *start;
    }
    rocksdb::WriteBatch write;
    deps_.store.put_cursor(write, spec_.name, cursor_);
    CDP_RETURN_IF_ERROR(deps_.store.write(write));
  }
  events_scanned_ = cursor_.events;
  changes_scanned_ = cursor_.changes;
  events_pending_.clear();
  changes_pending_.clear();
  cursor_dirty_ = false;

  auto entries = deps_.store.outbox(spec_.name);
  if (!entries) return entries.status();
  outbox_.clear();
  outbox_keys_.clear();
  outbox_bytes_ = 0;
  for (auto& entry : *entries) {
    ++outbox_keys_[entry.key];
    outbox_bytes_ += entry.json.size() + entry.message_id.size() + entry.key.size();
    outbox_.emplace(entry.id, std::move(entry));
  }
  auto last = deps_.store.last_id(spec_.name);
  if (!last) return last.status();
  next_id_ = *last + 1;
  auto dead = deps_.store.count_dead_letters(spec_.name);
  if (!dead) return dead.status();
  stats_.dead_letters = *dead;
  tokens_ = std::max(1.0, spec_.max_per_second);
  tokens_at_ms_ = deps_.clock.now_ms();
  return Status::ok();
}

void DestinationWorker::run() {
  set_thread_name("cdp-deliver");
  std::unique_lock lock(mutex_);
  const auto wait = [&](int64_t ms) {
    wake_.wait_for(lock, std::chrono::milliseconds(std::clamp<int64_t>(ms, 1, 1000)),
                   [&] { return stopping_ || notified_.load(); });
    notified_.store(false);
  };
  while (!stopping_) {
    int64_t now = deps_.clock.now_ms();
    if (needs_reload_) {
      // State that could not be read or written: nothing is sent until it reads again.
      reload();
      if (needs_reload_) {
        wait(kStoreErrorPauseMs);
        continue;
      }
    }
    if (!spec_.enabled) {
      stats_.state = "disabled";
      wait(1000);
      continue;
    }
    if (paused_until_ms_ > now) {
      stats_.state = "backing_off";
      wait(paused_until_ms_ - now);
      continue;
    }
    size_t limit = spec_.batch_size;
    if (spec_.max_per_second > 0) {
      // Waits for a whole batch's worth of tokens (or a second's, when that is less), so that a
      // rate limit below the batch size still sends batches.
      const double want =
          std::min(static_cast<double>(spec_.batch_size), std::max(1.0, spec_.max_per_second));
      tokens_ = std::min(
          std::max(want, spec_.max_per_second),
          tokens_ + static_cast<double>(now - tokens_at_ms_) / 1000.0 * spec_.max_per_second);
      tokens_at_ms_ = now;
      if (tokens_ < want) {
        wait(static_cast<int64_t>(std::min(60.0, (want - tokens_) / spec_.max_per_second) * 1000) +
             1);
        continue;
      }
      limit = std::min(limit, static_cast<size_t>(tokens_));
    }
    Batch batch = next_batch(now, limit);
    const size_t sending = batch.fresh.size() + batch.retries.size();
    if (sending == 0 && batch.diverted.empty()) {
      if (cursor_dirty_ && now - cursor_flushed_ms_ >= kCursorFlushMs) {
        if (auto status = flush_cursor(); !status.is_ok()) {
          log::error("delivery_state_write_failed",
                     {{"destination", spec_.name}, {"error", status.message()}});
        }
      }
      stats_.state = "idle";
      // A scan that read its whole quota without taking anything: read on at once.
      if (!more_to_read_) wait(kIdleWaitMs);
      continue;
    }
    stats_.state = "delivering";
    SendResult result;
    result.outcome = SendResult::Outcome::kDelivered;
    if (sending > 0) {
      // Copies of the retried messages: replay may change the outbox while the lock is free.
      std::vector<Message> retried;
      retried.reserve(batch.retries.size());
      for (const auto id : batch.retries) {
        const auto& entry = outbox_.at(id);
        retried.push_back({entry.message_id, entry.key, entry.json});
      }
      std::vector<const Message*> messages;
      messages.reserve(sending);
      for (const auto& message : retried) messages.push_back(&message);
      for (const auto& pending : batch.fresh) messages.push_back(&pending.message);
      lock.unlock();
      result = sender_->send(messages, batch.attempt);
      lock.lock();
      now = deps_.clock.now_ms();
      if (spec_.max_per_second > 0) tokens_ -= static_cast<double>(sending);
    }
    settle(batch, result, now);
  }
}

DestinationWorker::Batch DestinationWorker::next_batch(int64_t now, size_t limit) {
  Batch batch;
  if (fresh_turn_) {
    fresh_turn_ = false;
    take_fresh(batch, limit);
    if (!batch.fresh.empty() || !batch.diverted.empty()) return batch;
  }
  // Due retries first: the attempt after a pause is a retry when one is waiting.
  std::unordered_set<std::string_view> earlier_keys;
  for (const auto& [id, entry] : outbox_) {
    if (batch.retries.size() >= limit) break;
    // In order per user: only a user's first message in the outbox may go.
    if (spec_.ordered && !earlier_keys.insert(entry.key).second) continue;
    if (entry.next_ms > now) continue;
    const bool alone = entry.attempts.size() >= kAttemptsBeforeAlone;
    if (alone && !batch.retries.empty()) continue;
    batch.retries.push_back(id);
    batch.attempt = std::max(batch.attempt, static_cast<int>(entry.attempts.size()) + 1);
    if (alone) break;
  }
  if (batch.retries.empty()) take_fresh(batch, limit);
  return batch;
}

void DestinationWorker::take_fresh(Batch& batch, size_t limit) {
  if (outbox_.size() >= kMaxOutbox) {
    more_to_read_ = false;  // the log waits; so does the worker
    return;
  }
  refill();
  const bool changes = changes_turn_ ? !changes_pending_.empty() : events_pending_.empty();
  changes_turn_ = !changes;
  auto& pending = changes ? changes_pending_ : events_pending_;
  while (!pending.empty() && batch.fresh.size() < limit) {
    auto& next = pending.front();
    if (spec_.ordered && outbox_keys_.contains(next.message.key)) {
      batch.diverted.push_back(std::move(next));
    } else {
      batch.fresh.push_back(std::move(next));
    }
    pending.pop_front();
  }
}

void DestinationWorker::refill() {
  const size_t want = spec_.batch_size * 2;
  more_to_read_ = false;
  if (spec_.events.enabled && events_pending_.size() < want) {
    size_t read = 0;
    ingest::JsonParser parser;
    auto next = storage::RawLogReader(deps_.database)
                    .scan(events_scanned_, kScanLimit, [&](const storage::RawLogRecord& record) {
                      ++read;
                      if (auto message = select_event(spec_, record, parser)) {
                        events_pending_.push_back(
                            {std::move(*message), false, record.seq, {}, record.received_at_ms});
                      }
                      return events_pending_.size() < want;
                    });
    if (next) {
      events_scanned_ = std::max(events_scanned_, *next);
      more_to_read_ = read == kScanLimit;
    } else {
      log::error("delivery_read_failed",
                 {{"destination", spec_.name}, {"error", next.status().message()}});
    }
  }
  if (reads_change_log(spec_) && changes_pending_.size() < want) {
    ingest::JsonParser parser;
    size_t read = 0;
    auto status = profile::read_change_log(
        deps_.database, changes_scanned_, [&](const profile::ChangeLogItem& item) {
          const auto before = changes_scanned_;
          changes_scanned_ = profile::ChangeCursor{item.seq, item.index};
          if (auto message = select_change(spec_, item, parser)) {
            changes_pending_.push_back({std::move(*message), true, 0, before, 0});
          }
          return ++read < kScanLimit && changes_pending_.size() < want;
        });
    more_to_read_ = more_to_read_ || read == kScanLimit;
    if (!status.is_ok()) {
      log::error("delivery_read_failed",
                 {{"destination", spec_.name}, {"error", status.message()}});
    }
  }
  update_cursor();
}

void DestinationWorker::update_cursor() {
  DeliveryCursor cursor;
  cursor.events = events_pending_.empty() ? events_scanned_ : events_pending_.front().event_seq;
  cursor.changes = changes_pending_.empty() ? changes_scanned_ : changes_pending_.front().before;
  const auto same_changes = [](const auto& a, const auto& b) {
    return a.has_value() == b.has_value() && (!a || (a->seq == b->seq && a->index == b->index));
  };
  if (cursor.events != cursor_.events || !same_changes(cursor.changes, cursor_.changes)) {
    cursor_ = cursor;
    cursor_dirty_ = true;
  }
}

Status DestinationWorker::flush_cursor() {
  rocksdb::WriteBatch write;
  deps_.store.put_cursor(write, spec_.name, cursor_);
  CDP_RETURN_IF_ERROR(deps_.store.write(write));
  cursor_dirty_ = false;
  cursor_flushed_ms_ = deps_.clock.now_ms();
  return Status::ok();
}

OutboxEntry DestinationWorker::entry_for(const Pending& pending, int64_t now) {
  OutboxEntry entry;
  entry.message_id = pending.message.message_id;
  entry.key = pending.message.key;
  entry.json = pending.message.json;
  entry.first_ms = now;
  entry.next_ms = now;
  return entry;
}

void DestinationWorker::add_to_outbox(OutboxEntry entry, rocksdb::WriteBatch& write) {
  if (entry.id == 0) entry.id = next_id_++;
  deps_.store.put_outbox(write, spec_.name, entry);
  auto [it, added] = outbox_.insert_or_assign(entry.id, std::move(entry));
  if (added) {
    ++outbox_keys_[it->second.key];
    outbox_bytes_ += it->second.json.size() + it->second.message_id.size() + it->second.key.size();
  }
}

void DestinationWorker::remove_from_outbox(uint64_t id, rocksdb::WriteBatch& write) {
  auto it = outbox_.find(id);
  if (it == outbox_.end()) return;
  deps_.store.delete_outbox(write, spec_.name, id);
  const auto& entry = it->second;
  outbox_bytes_ -= entry.json.size() + entry.message_id.size() + entry.key.size();
  if (auto key = outbox_keys_.find(entry.key); key != outbox_keys_.end() && --key->second == 0) {
    outbox_keys_.erase(key);
  }
  outbox_.erase(it);
}

void DestinationWorker::record(rocksdb::WriteBatch& write, const OutboxEntry& entry,
                               std::string state) {
  DeliveryRecord record;
  record.state = std::move(state);
  record.message_id = entry.message_id;
  record.first_ms = entry.first_ms;
  record.last_ms = entry.attempts.empty() ? entry.first_ms : entry.attempts.back().at_ms;
  record.attempts = entry.attempts;
  record.reason = entry.reason;
  if (!record.message_id.empty()) deps_.store.put_history(write, spec_.name, record);
}

void DestinationWorker::settle(Batch& batch, const SendResult& result, int64_t now) {
  rocksdb::WriteBatch write;
  const Attempt attempt{now, result.status, result.error};
  const auto attempted = [&](OutboxEntry& entry) {
    entry.attempts.push_back(attempt);
    if (entry.attempts.size() > kMaxAttemptsKept) entry.attempts.erase(entry.attempts.begin());
  };
  // The entries this attempt was about: the outbox's own, then new ones for fresh messages.
  std::vector<OutboxEntry> entries;
  entries.reserve(batch.retries.size() + batch.fresh.size());
  for (const auto id : batch.retries) entries.push_back(outbox_.at(id));
  for (const auto& pending : batch.fresh) entries.push_back(entry_for(pending, now));
  const size_t sent = entries.size();

  const auto bury = [&](OutboxEntry& entry, std::string reason) {
    entry.reason = std::move(reason);
    remove_from_outbox(entry.id, write);
    if (entry.id == 0) entry.id = next_id_++;
    deps_.store.put_dead_letter(write, spec_.name, entry);
    record(write, entry, "dead");
    ++stats_.dead;
    ++stats_.dead_letters;
    if (deps_.metrics.dead != nullptr) deps_.metrics.dead->inc();
  };

  if (sent > 0) {
    switch (result.outcome) {
      case SendResult::Outcome::kDelivered: {
        for (auto& entry : entries) {
          attempted(entry);
          record(write, entry, "delivered");
          remove_from_outbox(entry.id, write);
        }
        for (const auto& pending : batch.fresh) {
          if (deps_.metrics.latency != nullptr && pending.logged_ms > 0) {
            deps_.metrics.latency->observe(static_cast<double>(now - pending.logged_ms) / 1000.0);
          }
        }
        stats_.delivered += sent;
        stats_.last_delivery_ms = now;
        consecutive_failures_ = 0;
        fresh_turn_ = false;
        if (deps_.metrics.delivered != nullptr) deps_.metrics.delivered->inc(sent);
        break;
      }
      case SendResult::Outcome::kRetry: {
        ++consecutive_failures_;
        ++stats_.failed_attempts;
        stats_.last_error = result.error;
        stats_.last_error_ms = now;
        // One random draw for the destination's pause and the messages' own waits: with as many
        // failures as the destination (an outage) a message is due when the pause ends; one that
        // failed more often (a message the destination chokes on) waits longer, and the log goes
        // first.
        const double jitter = std::uniform_real_distribution<double>(0, 1)(random_);
        const int64_t retry_after = std::clamp<int64_t>(result.retry_after_ms, 0, kMaxRetryAfterMs);
        const int64_t delay = std::max(retry_delay_ms(consecutive_failures_, jitter), retry_after);
        paused_until_ms_ = now + delay;
        // After a failed retry, the next attempt takes new messages from the log if there are
        // any, so a message that keeps failing cannot hold the destination up alone.
        fresh_turn_ = !batch.retries.empty();
        for (auto& entry : entries) {
          attempted(entry);
          if (now - entry.first_ms >= spec_.retry_window_ms) {
            bury(entry, "still failing when its retry window of " +
                            audience::duration_text(spec_.retry_window_ms) +
                            " had passed; last error: " + to_valid_utf8(result.error));
            continue;
          }
          const int64_t wait = std::max(
              retry_delay_ms(static_cast<int>(entry.attempts.size()), jitter), retry_after);
          // The last attempt falls on the window's end.
          entry.next_ms = std::min(now + wait, entry.first_ms + spec_.retry_window_ms);
          record(write, entry, "retrying");
          add_to_outbox(std::move(entry), write);
        }
        if (deps_.metrics.retried != nullptr) deps_.metrics.retried->inc(sent);
        log::warn("delivery_failed", {{"destination", spec_.name},
                                      {"error", result.error},
                                      {"messages", std::to_string(sent)},
                                      {"retry_in_ms", std::to_string(delay)}});
        break;
      }
      case SendResult::Outcome::kRejected: {
        consecutive_failures_ = 0;
        stats_.last_error = result.error;
        stats_.last_error_ms = now;
        std::string reason = "refused by the destination: " + to_valid_utf8(result.error);
        if (!result.body.empty()) reason += ": " + excerpt(result.body, 200);
        for (auto& entry : entries) {
          attempted(entry);
          bury(entry, reason);
        }
        log::warn("delivery_rejected", {{"destination", spec_.name},
                                        {"error", result.error},
                                        {"messages", std::to_string(sent)}});
        break;
      }
    }
  }
  // A user's later messages wait behind the one in the outbox (ordered destinations).
  for (const auto& pending : batch.diverted) add_to_outbox(entry_for(pending, now), write);

  update_cursor();
  deps_.store.put_cursor(write, spec_.name, cursor_);
  if (auto status = deps_.store.write(write); !status.is_ok()) {
    // What is in memory is ahead of the store: start again from what was stored (the run loop
    // reloads before anything else is sent). Messages delivered since are sent again (at least
    // once), none is lost.
    log::error("delivery_state_write_failed",
               {{"destination", spec_.name}, {"error", status.message()}});
    needs_reload_ = true;
    return;
  }
  cursor_dirty_ = false;
  cursor_flushed_ms_ = now;
}

DestinationStats DestinationWorker::stats() {
  std::lock_guard lock(mutex_);
  DestinationStats out = stats_;
  if (out.state.empty()) out.state = "idle";
  out.outbox = outbox_.size();
  out.outbox_bytes = outbox_bytes_;
  out.cursor = cursor_;
  out.paused_until_ms = paused_until_ms_;
  return out;
}

Result<uint64_t> DestinationWorker::replay_dead_letters(const std::vector<uint64_t>& ids) {
  std::lock_guard lock(mutex_);
  if (stopping_ || needs_reload_) {
    return Status::unavailable("destination '" + spec_.name +
                               "' is being redefined, deleted or cannot read its state; try again");
  }
  std::vector<OutboxEntry> letters;
  if (ids.empty()) {
    auto page = deps_.store.dead_letters(spec_.name, 0, kMaxReplay);
    if (!page) return page.status();
    letters = std::move(*page);
  } else {
    for (const auto id : std::set<uint64_t>(ids.begin(), ids.end())) {
      if (id == 0) continue;
      auto one = deps_.store.dead_letters(spec_.name, id - 1, 1);
      if (!one) return one.status();
      if (!one->empty() && one->front().id == id) letters.push_back(std::move(one->front()));
    }
  }
  const int64_t now = deps_.clock.now_ms();
  rocksdb::WriteBatch write;
  for (auto& entry : letters) {
    deps_.store.delete_dead_letter(write, spec_.name, entry.id);
    // The record keeps the attempts so far; the entry starts again: a new retry window, and a
    // backoff that starts at one second.
    record(write, entry, "retrying");
    entry.first_ms = now;
    entry.next_ms = now;
    entry.reason.clear();
    entry.attempts.clear();
    deps_.store.put_outbox(write, spec_.name, entry);
  }
  CDP_RETURN_IF_ERROR(deps_.store.write(write));
  for (auto& entry : letters) {
    ++outbox_keys_[entry.key];
    outbox_bytes_ += entry.json.size() + entry.message_id.size() + entry.key.size();
    outbox_.insert_or_assign(entry.id, std::move(entry));
  }
  stats_.dead_letters -= std::min<uint64_t>(stats_.dead_letters, letters.size());
  paused_until_ms_ = 0;
  notified_.store(true);
  wake_.notify_all();
  return letters.size();
}

Result<DeliveryCursor> end_of_logs(storage::Database& database) {
  DeliveryCursor cursor;
  auto bounds = storage::RawLogReader(database).bounds();
  if (!bounds) return bounds.status();
  cursor.events = bounds->second + 1;
  // Past the last change written so far, not past its seq: a definition command applied in
  // parts goes on adding changes under the same seq.
  std::unique_ptr<rocksdb::Iterator> it(
      database.db().NewIterator(rocksdb::ReadOptions(), database.changes()));
  it->SeekToLast();
  if (!it->status().ok()) return storage::from_rocksdb(it->status(), "reading the change log");
  const auto last = it->Valid() ? profile::decode_change_key(it->key().ToStringView())
                                : std::optional<profile::ChangeCursor>();
  if (!last) {
    cursor.changes =
        profile::ChangeCursor{it->Valid() && it->key().size() >= 8
                                  ? storage::read_u64_be(it->key().ToStringView().substr(0, 8))
                                  : 0,
                              UINT32_MAX};
    return cursor;
  }
  // The entry's first change; the changes after it in the same entry are the last ones.
  cursor.changes = *last;
  CDP_RETURN_IF_ERROR(
      profile::read_change_log(database, cursor.changes, [&](const profile::ChangeLogItem& item) {
        cursor.changes = profile::ChangeCursor{item.seq, item.index};
        return true;
      }));
  return cursor;
}

}  // namespace cdp::activation
