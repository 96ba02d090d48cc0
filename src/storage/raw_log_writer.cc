#include "storage/raw_log_writer.h"

#include <future>
#include <unordered_set>

#include "common/log.h"
#include "common/thread_name.h"
#include "common/thread_scheduling.h"
#include "storage/big_endian.h"
#include "storage/raw_log_record.h"

namespace cdp::storage {
namespace {

constexpr const char* kLastSeqKey = "raw_log/last_seq";

std::string dedup_key(std::string_view source, std::string_view message_id) {
  std::string key;
  key.reserve(source.size() + 1 + message_id.size());
  key.append(source);
  key.push_back('\0');
  key.append(message_id);
  return key;
}

}  // namespace

RawLogWriter::RawLogWriter(Database& database, Options options, const Clock& clock)
    : database_(database), options_(options), clock_(clock) {
  if (options_.metrics != nullptr) {
    auto& metrics = *options_.metrics;
    const char* help = "Seconds spent in each stage of a raw log write, per stage";
    stages_.queue_wait =
        &metrics.histogram("cdp_write_stage_seconds", help, "stage=\"queue_wait\"");
    stages_.dedup_lookup =
        &metrics.histogram("cdp_write_stage_seconds", help, "stage=\"dedup_lookup\"");
    stages_.write = &metrics.histogram("cdp_write_stage_seconds", help, "stage=\"write\"");
  } else {
    stages_.queue_wait = stages_.dedup_lookup = stages_.write = &stages_.unexported;
  }
}

RawLogWriter::~RawLogWriter() { stop(); }

Status RawLogWriter::start() {
  // The last seq is kept in meta (not derived from the log's last key) so that retention
  // deleting the whole log never makes seqs restart.
  auto stored = database_.get_meta(kLastSeqKey);
  if (!stored) return stored.status();
  uint64_t last = 0;
  if (stored->has_value()) {
    if ((*stored)->size() != 8) {
      return Status::corruption(
          "meta raw_log/last_seq in '" + database_.path() +
          "' is not an 8-byte sequence number; refusing to write over the raw log");
    }
    last = read_u64_be(**stored);
  }
  last_seq_.store(last);
  thread_ = std::thread([this] { run(); });
  return Status::ok();
}

Status RawLogWriter::submit(AppendRequest request, AppendDone done) {
  if (!storage_available_.load(std::memory_order_relaxed)) {
    return Status::unavailable("storage cannot take writes right now (disk full or I/O error)");
  }
  size_t bytes = 0;
  for (const auto& event : request.events)
    bytes += event.json.size() + event.message_id.size() + 32;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return Status::unavailable("the server is shutting down");
    if (queued_bytes_ + bytes > options_.max_queue_bytes && !queue_.empty()) {
      return Status::resource_exhausted("the write queue is full");
    }
    queued_bytes_ += bytes;
    queue_.push_back(
        Pending{std::move(request), std::move(done), bytes, std::chrono::steady_clock::now()});
  }
  wake_.notify_one();
  return Status::ok();
}

void RawLogWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

RawLogWriter::Stats RawLogWriter::stats() const {
  Stats stats;
  stats.last_seq = last_seq_.load();
  stats.groups = groups_.load();
  stats.events_stored = events_stored_.load();
  stats.duplicates = duplicates_.load();
  stats.storage_available = storage_available_.load();
  std::lock_guard lock(mutex_);
  stats.queued_bytes = queued_bytes_;
  stats.queued_requests = queue_.size();
  return stats;
}

void RawLogWriter::run() {
  set_thread_name("cdp-log-writer");
  // Every tracking request waits for this thread's write: it takes a core as soon as a request
  // wakes it (ingest ack p99 -20% on a busy machine, bench/RESULTS.md 2026-11-29 15:00).
  (void)set_thread_time_slice(kShortTimeSlice);
  std::vector<Pending> group;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      if (storage_available_.load()) {
        wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      } else {
        wake_.wait_for(lock, std::chrono::milliseconds(500));
      }
      if (stopping_ && queue_.empty()) return;
      size_t group_bytes = 0;
      while (!queue_.empty() &&
             (group.empty() || group_bytes + queue_.front().bytes <= options_.max_group_bytes)) {
        group_bytes += queue_.front().bytes;
        queued_bytes_ -= queue_.front().bytes;
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (!storage_available_.load()) try_recover();
    if (!group.empty()) commit(group);
    group.clear();
  }
}

bool RawLogWriter::has_free_space(std::string& why) const {
  const auto free_bytes = database_.free_bytes();
  if (!free_bytes) return true;  // cannot tell; let RocksDB decide
  if (*free_bytes >= options_.min_free_bytes) return true;
  why = "the disk holding '" + database_.path() + "' has " + std::to_string(*free_bytes) +
        " bytes free, below the reserve of " + std::to_string(options_.min_free_bytes);
  return false;
}

void RawLogWriter::try_recover() {
  std::string why;
  if (!has_free_space(why)) return;
  auto status = database_.db().Resume();
  if (status.ok()) {
    storage_available_.store(true);
    log::info("storage_recovered", {{"path", database_.path()}});
  }
}

namespace {
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

void RawLogWriter::commit(std::vector<Pending>& group) {
  const auto started = std::chrono::steady_clock::now();
  for (const auto& pending : group) {
    stages_.queue_wait->observe(std::chrono::duration<double>(started - pending.queued_at).count());
  }
  auto fail_all = [&](const Status& status) {
    for (auto& pending : group) pending.done(AppendOutcome{status, {}, 0, 0});
  };
  std::string why;
  if (!storage_available_.load() || !has_free_space(why)) {
    if (storage_available_.exchange(false)) log::warn("storage_unavailable", {{"reason", why}});
    fail_all(Status::unavailable(why.empty() ? "storage cannot take writes right now" : why));
    return;
  }

  // Look up every messageId of the group in the dedup window with one MultiGet.
  std::vector<std::string> keys;
  for (const auto& pending : group) {
    for (const auto& event : pending.request.events) {
      keys.push_back(dedup_key(pending.request.source, event.message_id));
    }
  }
  std::vector<rocksdb::Slice> key_slices(keys.begin(), keys.end());
  std::vector<rocksdb::ColumnFamilyHandle*> families(keys.size(), database_.dedup());
  std::vector<std::string> values;
  auto statuses = database_.db().MultiGet(rocksdb::ReadOptions(), families, key_slices, &values);
  stages_.dedup_lookup->observe(seconds_since(started));

  const int64_t window_start = clock_.now_ms() - database_.dedup_window_ms();
  std::unordered_set<std::string_view> seen_in_group;
  std::vector<AppendOutcome> outcomes(group.size());
  rocksdb::WriteBatch batch;
  uint64_t seq = last_seq_.load();
  std::string value;
  size_t key_index = 0;
  for (size_t i = 0; i < group.size(); ++i) {
    const auto& request = group[i].request;
    auto& outcome = outcomes[i];
    outcome.seqs.reserve(request.events.size());
    const std::string received_at = u64_be(static_cast<uint64_t>(request.received_at_ms));
    for (const auto& event : request.events) {
      const size_t k = key_index++;
      const bool in_store = statuses[k].ok() && values[k].size() >= 8 &&
                            static_cast<int64_t>(read_u64_be(values[k])) >= window_start;
      if (!statuses[k].ok() && !statuses[k].IsNotFound()) {
        fail_all(from_rocksdb(statuses[k], "checking the dedup window"));
        return;
      }
      if (in_store || !seen_in_group.insert(keys[k]).second) {
        outcome.seqs.push_back(0);
        ++outcome.duplicates;
        continue;
      }
      ++seq;
      value.clear();
      encode_raw_log_value(value, request.source, request.received_at_ms, event.json);
      batch.Put(database_.raw_log(), u64_be(seq), value);
      batch.Put(database_.dedup(), keys[k], received_at);
      outcome.seqs.push_back(seq);
      ++outcome.stored;
    }
  }
  batch.Put(database_.meta(), kLastSeqKey, u64_be(seq));

  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync;
  const auto write_started = std::chrono::steady_clock::now();
  auto status = database_.db().Write(write_options, &batch);
  stages_.write->observe(seconds_since(write_started));
  if (!status.ok()) {
    storage_available_.store(false);
    auto error = from_rocksdb(status, "writing to the raw log");
    log::error("storage_write_failed", {{"error", error.message()}});
    fail_all(Status::unavailable(error.message()));
    return;
  }
  last_seq_.store(seq);
  groups_.fetch_add(1, std::memory_order_relaxed);
  if (options_.on_commit) options_.on_commit(seq);
  for (size_t i = 0; i < group.size(); ++i) {
    events_stored_.fetch_add(outcomes[i].stored, std::memory_order_relaxed);
    duplicates_.fetch_add(outcomes[i].duplicates, std::memory_order_relaxed);
    group[i].done(std::move(outcomes[i]));
  }
}

Result<AppendOutcome> append_and_wait(RawLogWriter& writer, const AppendRequest& request,
                                      const std::function<bool()>& keep_trying) {
  while (true) {
    std::promise<AppendOutcome> promise;
    auto done = promise.get_future();
    Status submitted = writer.submit(
        request, [&promise](AppendOutcome outcome) { promise.set_value(std::move(outcome)); });
    Status failure = submitted;
    AppendOutcome outcome;
    if (submitted.is_ok()) {
      outcome = done.get();
      if (outcome.status.is_ok()) return outcome;
      failure = outcome.status;
    }
    const bool retryable = failure.code() == StatusCode::kResourceExhausted ||
                           failure.code() == StatusCode::kUnavailable;
    if (!retryable || !keep_trying()) return failure;
    std::this_thread::sleep_for(failure.code() == StatusCode::kUnavailable
                                    ? std::chrono::seconds(1)
                                    : std::chrono::milliseconds(20));
  }
}

}  // namespace cdp::storage
