#include "pipeline/processor.h"

#include <rocksdb/perf_level.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <future>

#include "common/log.h"
#include "common/thread_name.h"
#include "profile/audience_index.h"
#include "profile/audience_records.h"
#include "profile/state_transaction.h"
#include "storage/big_endian.h"
#include "storage/raw_log_reader.h"
#include "storage/sorted_batch.h"

namespace cdp::pipeline {
namespace {

Result<uint64_t> read_counter(storage::Database& database, const std::string& key) {
  auto stored = database.get_meta(key);
  if (!stored) return stored.status();
  if (!stored->has_value()) return uint64_t{0};
  if ((*stored)->size() != 8) {
    return Status::corruption("meta " + key + " in '" + database.path() +
                              "' is not an 8-byte number");
  }
  return storage::read_u64_be(**stored);
}

std::string encode_resume(const profile::DefinitionResume& resume) {
  return storage::u64_be(resume.seq) + storage::u64_be(resume.next) +
         storage::u64_be(resume.change_index) + storage::u64_be(resume.updated);
}

Result<std::optional<profile::DefinitionResume>> read_resume(storage::Database& database) {
  auto stored = database.get_meta(kDefinitionResumeKey);
  if (!stored) return stored.status();
  if (!stored->has_value()) return std::optional<profile::DefinitionResume>();
  const std::string_view value = **stored;
  if (value.size() != 32) {
    return Status::corruption(std::string("meta ") + kDefinitionResumeKey + " in '" +
                              database.path() + "' is not 32 bytes");
  }
  return std::optional<profile::DefinitionResume>(profile::DefinitionResume{
      storage::read_u64_be(value.substr(0, 8)), storage::read_u64_be(value.substr(8, 8)),
      static_cast<uint32_t>(storage::read_u64_be(value.substr(16, 8))),
      storage::read_u64_be(value.substr(24, 8))});
}

}  // namespace

Result<std::unique_ptr<Processor>> Processor::open(
    storage::Database& database, std::shared_ptr<const identity::CompiledRules> rules,
    Options options) {
  auto cursor = read_counter(database, kCursorKey);
  if (!cursor) return cursor.status();
  auto last_profile = read_counter(database, kLastProfileKey);
  if (!last_profile) return last_profile.status();
  auto rebuilding = database.get_meta(kRebuildKey);
  if (!rebuilding) return rebuilding.status();
  if (rebuilding->has_value()) {
    return Status::failed_precondition(
        "the profiles in '" + database.path() +
        "' were being rebuilt when `cdp identity apply` stopped; run it again to finish");
  }
  auto stored_rules = database.get_meta(kRulesKey);
  if (!stored_rules) return stored_rules.status();
  if (stored_rules->has_value() && **stored_rules != rules->fingerprint() && *cursor > 0) {
    log::warn("identity_rules_changed",
              {{"message",
                "the identity rules differ from those the profiles were built with; new events "
                "use the new rules, existing profiles keep their merges. See what the new rules "
                "change with `cdp identity plan`, rebuild with `cdp identity apply`"}});
  }
  auto definitions = profile::load_definitions(database);
  if (!definitions) return definitions.status();
  auto resume = read_resume(database);
  if (!resume) return resume.status();
  if (*resume && (*resume)->seq != *cursor + 1) {
    // Not the next entry to apply (a directory restored by hand?): the command it names was
    // finished or never begun; it starts from its first profile when it comes.
    log::warn("definition_resume_dropped",
              {{"seq", std::to_string((*resume)->seq)}, {"cursor", std::to_string(*cursor)}});
    CDP_RETURN_IF_ERROR(database.delete_meta(kDefinitionResumeKey));
    resume->reset();
  }
  std::unique_ptr<Processor> processor(
      new Processor(database, std::move(rules), options, *cursor, *last_profile));
  CDP_RETURN_IF_ERROR(processor->state_.load_blocks());
  processor->definitions_ = *definitions;
  processor->builder_.set_definitions(std::move(*definitions));
  processor->builder_.set_definition_resume(*resume);
  if (options.candidate_index) {
    const auto started = std::chrono::steady_clock::now();
    auto index = std::make_shared<audience::CandidateIndex>();
    CDP_RETURN_IF_ERROR(profile::build_candidate_index(database, *index));
    const auto usage = index->usage();
    log::info("candidate_index_built",
              {{"bitmaps", std::to_string(usage.bitmaps)},
               {"bytes", std::to_string(usage.bytes)},
               {"elapsed_ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 std::chrono::steady_clock::now() - started)
                                                 .count())}});
    processor->index_ = std::move(index);
  }
  processor->builder_.set_candidate_index(processor->index_);
  return processor;
}

Processor::Processor(storage::Database& database,
                     std::shared_ptr<const identity::CompiledRules> rules, Options options,
                     uint64_t cursor, profile::ProfileId last_profile_id)
    : database_(database),
      rules_(rules),
      options_(options),
      builder_(rules, last_profile_id),
      state_(database, options.log),
      cursor_(cursor),
      profiles_(last_profile_id) {
  // At least a byte: a part ends only once it has written that much, so each gets further.
  builder_.set_definition_batch_bytes(std::max<size_t>(options_.definition_batch_bytes, 1));
  builder_.set_definition_progress([this](std::string_view name, uint64_t done, uint64_t total) {
    {
      std::lock_guard lock(definitions_mutex_);
      progress_ = {std::string(name), done, total};
    }
    if (options_.on_definition_progress) options_.on_definition_progress(name, done, total);
  });
  if (options_.metrics != nullptr) {
    auto& metrics = *options_.metrics;
    applied_counter_ =
        &metrics.counter("cdp_processor_events_total", "Raw log events applied to profile state");
    created_counter_ = &metrics.counter("cdp_profiles_created_total", "Profiles created");
    merged_counter_ = &metrics.counter("cdp_profile_merges_total", "Profiles merged into another");
    quarantined_counter_ = &metrics.counter(
        "cdp_identifiers_quarantined_total",
        "Identifiers that stopped taking part in matching (seen on too many profiles)");
    unidentified_counter_ =
        &metrics.counter("cdp_processor_unidentified_events_total",
                         "Events applied to no profile: they carried no usable identifier");
  }
}

Processor::~Processor() { stop(); }

void Processor::start() {
  thread_ = std::thread([this] { run(); });
}

void Processor::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  answer_waiters(true);
}

void Processor::when_applied(uint64_t seq, std::chrono::steady_clock::time_point deadline,
                             std::function<void(bool)> done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      waiters_.push_back({seq, deadline, std::move(done)});
      pending_ = true;
      done = nullptr;
    }
  }
  if (done) {
    done(false);
  } else {
    wake_.notify_one();
  }
}

void Processor::answer_waiters(bool stopping) {
  std::vector<std::pair<std::function<void(bool)>, bool>> ready;
  {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    const auto cursor = cursor_.load();
    std::erase_if(waiters_, [&](Waiter& waiter) {
      const bool applied = waiter.seq <= cursor;
      if (!applied && !stopping && waiter.deadline > now) return false;
      ready.emplace_back(std::move(waiter.done), applied);
      return true;
    });
  }
  for (auto& [done, applied] : ready) done(applied);
}

void Processor::notify() {
  {
    std::lock_guard lock(mutex_);
    pending_ = true;
  }
  wake_.notify_one();
}

Processor::Stats Processor::stats() const {
  return Stats{cursor_.load(), events_applied_.load(), last_received_at_ms_.load(),
               profiles_.load()};
}

Status Processor::process_available(const std::function<void(const Stats&)>& progress) {
  while (true) {
    auto applied = process_batch();
    if (!applied) return applied.status();
    if (*applied == 0) return Status::ok();
    if (progress) progress(stats());
  }
}

Result<size_t> Processor::process_batch() {
  // RocksDB counts into thread-local perf counters by default; nothing here reads them, and in
  // the shared library every count is a call to reach them (~6% of the processor in `perf`).
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  // A definition command's parts: while one is written (on another thread), the next is worked
  // out, up to kPartsPerCall of them; every part is written before this returns.
  std::optional<PartWrite> pending;
  size_t applied = 0;
  for (size_t part = 1;; ++part) {
    const bool stopping = [&] {
      std::lock_guard lock(mutex_);
      return stopping_;
    }();
    // Between calls the processor checks the disk's reserve (run()); within one, up to two parts
    // are written after a check, so deferring needs room for two beyond the reserve.
    const auto free_bytes =
        options_.min_free_bytes > 0 ? database_.free_bytes() : std::optional<uint64_t>();
    const bool room =
        !free_bytes || *free_bytes >= options_.min_free_bytes + 2 * options_.definition_batch_bytes;
    // The last part of a call, or one while the processor stops or the disk fills up, is
    // written before returning.
    auto more = apply_batch(pending, part < kPartsPerCall && !stopping && room);
    if (!more) return more.status();
    applied += *more;
    if (!pending) return applied;
  }
}

Result<size_t> Processor::apply_batch(std::optional<PartWrite>& pending, bool may_defer) {
  auto& txn = state_;
  storage::RawLogReader reader(txn.log_database());
  const uint64_t from = cursor_.load() + 1;
  uint64_t last_seq = 0;
  int64_t last_received_at = 0;
  size_t applied = 0;
  Status failure;
  // A failed batch leaves the builder's profile counter ahead; it is rewound to this.
  const auto profiles_before = builder_.last_profile_id();
  const auto resume_before = builder_.definition_resume();
  bool command = false;
  bool unfinished = false;  // a part of a definition command: the cursor stays
  auto scanned =
      reader.scan(from, options_.max_batch_events, [&](const storage::RawLogRecord& record) {
        if (record.seq > options_.until_seq) return false;
        // A command may re-apply many events: it gets a batch of its own.
        if (record.source == storage::kAdminSource) {
          if (applied > 0) return false;
          command = true;
        }
        auto outcome = builder_.apply(record, txn);
        if (!outcome) {
          failure = outcome.status();
          return false;
        }
        if (outcome->unfinished) {
          unfinished = true;
          applied = 1;
          return false;
        }
        last_seq = record.seq;
        last_received_at = record.received_at_ms;
        ++applied;
        if (applied_counter_ != nullptr) {
          applied_counter_->inc();
          if (outcome->created) created_counter_->inc();
          merged_counter_->inc(outcome->merged);
          if (outcome->quarantined) quarantined_counter_->inc();
          if (outcome->profile == 0 && !command && record.source != storage::kMatchSource) {
            unidentified_counter_->inc();
          }
        }
        return !command;
      });
  if (!scanned) failure = scanned.status();
  // A batch that is not written leaves no trace, definitions applied by its commands included.
  auto undo = [&] {
    builder_.rewind(profiles_before);
    builder_.set_definition_resume(resume_before);
    txn.forget();
    if (command) builder_.set_definitions(definitions());
  };
  // Waits for the part before this one to be written. If it was not, neither part leaves a
  // trace: the command goes on from where that part started.
  auto settle = [&]() -> Status {
    if (!pending) return Status::ok();
    const auto written = pending->written.get();
    const auto resume = pending->resume_before;
    pending.reset();
    if (written.ok()) {
      // The part's changes are in the change log: destinations may go on.
      if (options_.on_applied) options_.on_applied(cursor_.load());
      return Status::ok();
    }
    undo();
    builder_.set_definition_resume(resume);
    return storage::from_rocksdb(written, "writing profile state");
  };
  if (!failure.is_ok()) {
    undo();
    CDP_RETURN_IF_ERROR(settle());
    return failure;
  }
  if (applied == 0) {
    CDP_RETURN_IF_ERROR(settle());
    return size_t{0};
  }

  auto& batch = txn.finish();
  if (unfinished) {
    batch.Put(database_.meta(), kDefinitionResumeKey, encode_resume(*builder_.definition_resume()));
  } else {
    if (resume_before) batch.Delete(database_.meta(), kDefinitionResumeKey);
    batch.Put(database_.meta(), kCursorKey, storage::u64_be(last_seq));
  }
  batch.Put(database_.meta(), kLastProfileKey, storage::u64_be(builder_.last_profile_id()));
  if (from == 1) batch.Put(database_.meta(), kRulesKey, rules_->fingerprint());
  // Not synced: the state is rebuilt from the (synced) raw log if the machine loses its page
  // cache, and the cursor travels in the same batch, so state and cursor always agree.
  // Sorted by key, its inserts into the memtables cost a fraction (storage/sorted_batch.h).
  const bool deferred = unfinished && may_defer;
  std::optional<rocksdb::WriteBatch> sorted;
  if (!deferred) sorted = storage::sorted_batch(batch, database_.all_column_families());
  CDP_RETURN_IF_ERROR(settle());
  if (deferred) {
    // Sorted and written on another thread while the caller works out the next part, which
    // reads only profiles after this one's and nothing this part writes
    // (ApplyOutcome::unfinished). Sorting a 32 MB part takes ~0.1 s, which the part after it
    // would otherwise wait for.
    auto part = std::make_unique<rocksdb::WriteBatch>(std::move(batch));
    batch = rocksdb::WriteBatch();
    pending = PartWrite{
        std::async(std::launch::async,
                   [this, part = std::move(part)] {
                     auto in_order = storage::sorted_batch(*part, database_.all_column_families());
                     if (in_order) *part = std::move(*in_order);  // frees the unsorted writes
                     return database_.db().Write(rocksdb::WriteOptions(), part.get());
                   }),
        resume_before};
    txn.committed();
    return applied;
  }
  auto status = database_.db().Write(rocksdb::WriteOptions(), sorted ? &*sorted : &batch);
  if (!status.ok()) {
    undo();
    return storage::from_rocksdb(status, "writing profile state");
  }
  txn.committed();
  // The part's changes are in the change log: destinations may go on.
  if (unfinished) {
    if (options_.on_applied) options_.on_applied(cursor_.load());
    return applied;
  }
  if (command) {
    std::lock_guard lock(definitions_mutex_);
    definitions_ = builder_.audience_engine().shared_definitions();
  }
  cursor_.store(last_seq);
  events_applied_.fetch_add(applied);
  last_received_at_ms_.store(last_received_at);
  profiles_.store(builder_.last_profile_id());
  if (options_.on_applied) options_.on_applied(last_seq);
  return applied;
}

Processor::DefinitionProgress Processor::definition_progress() const {
  std::lock_guard lock(definitions_mutex_);
  return progress_;
}

std::shared_ptr<const audience::Definitions> Processor::definitions() const {
  std::lock_guard lock(definitions_mutex_);
  return definitions_;
}

void Processor::run() {
  set_thread_name("cdp-processor");
  // Below the threads that acknowledge events: under overload ingest keeps its latency and the
  // processor falls behind (visible as lag), catching up when there is CPU to spare.
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
  bool paused = false;
  while (true) {
    const auto free_bytes =
        options_.min_free_bytes > 0 ? database_.free_bytes() : std::optional<uint64_t>();
    if (free_bytes && *free_bytes < options_.min_free_bytes) {
      if (!paused) {
        log::warn("processor_paused",
                  {{"reason", "the disk holding '" + database_.path() + "' has " +
                                  std::to_string(*free_bytes) + " bytes free, below " +
                                  std::to_string(options_.min_free_bytes)},
                   {"cursor", std::to_string(cursor_.load())}});
      }
      paused = true;
      answer_waiters(false);
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, std::chrono::milliseconds(500), [&] { return stopping_; });
      if (stopping_) return;
      continue;
    }
    if (paused) log::info("processor_resumed", {{"cursor", std::to_string(cursor_.load())}});
    paused = false;
    auto applied = process_batch();
    if (!applied) {
      log::error("processor_failed", {{"error", applied.status().message()},
                                      {"cursor", std::to_string(cursor_.load())}});
    }
    answer_waiters(false);
    std::unique_lock lock(mutex_);
    if (stopping_) return;
    if (applied && *applied > 0) continue;
    // Caught up (or failing): wait for new events, retrying on a timer after a failure; waiters
    // time out within 100 ms of their deadline.
    const auto wait = !waiters_.empty() ? 100 : applied ? 1000 : 500;
    wake_.wait_for(lock, std::chrono::milliseconds(wait), [&] { return stopping_ || pending_; });
    pending_ = false;
    if (stopping_) return;
  }
}

}  // namespace cdp::pipeline
