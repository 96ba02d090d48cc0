#include "storage/database.h"

#include <rocksdb/compaction_filter.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/sst_file_manager.h>
#include <rocksdb/table.h>
#include <sys/statvfs.h>

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include "common/log.h"
#include "storage/background_write_limiter.h"
#include "storage/big_endian.h"
#include "storage/section_merge.h"

namespace cdp::storage {
namespace {

// Order matters: it is the order of Database::handles_ (see the accessors in database.h).
constexpr const char* kColumnFamilies[] = {
    "default",  "raw_log",        "dedup",          "meta",      "identifiers",
    "profiles", "profile_events", "identity_edges", "accounts",  "imports",
    "matching", "audiences",      "changes",        "activation"};
constexpr const char* kFormatKey = "format_version";

// Drops entries whose value starts with a time (u64 BE ms) older than the window: dedup entries,
// and the delivery history of the activation column family (keys under `key_prefix`), so both
// stay bounded.
class ExpiryFilter final : public rocksdb::CompactionFilter {
 public:
  ExpiryFilter(const Clock* clock, int64_t window_ms, std::string key_prefix)
      : clock_(clock), window_ms_(window_ms), key_prefix_(std::move(key_prefix)) {}

  bool Filter(int /*level*/, const rocksdb::Slice& key, const rocksdb::Slice& value,
              std::string* /*new_value*/, bool* /*value_changed*/) const override {
    if (!key.starts_with(key_prefix_)) return false;
    if (value.size() < 8) return true;
    const auto time_ms = static_cast<int64_t>(read_u64_be({value.data(), value.size()}));
    return time_ms < clock_->now_ms() - window_ms_;
  }
  const char* Name() const override { return "cdp.ExpiryFilter"; }

 private:
  const Clock* clock_;
  int64_t window_ms_;
  std::string key_prefix_;
};

std::vector<rocksdb::ColumnFamilyDescriptor> column_families(
    const Database::Options& options, const rocksdb::CompactionFilter* filter,
    const rocksdb::CompactionFilter* history_filter) {
  auto cache = rocksdb::NewLRUCache(32ULL << 20);
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));

  rocksdb::ColumnFamilyOptions raw;
  raw.write_buffer_size = options.raw_log_write_buffer_bytes;
  // Three memtables of 32 MB: at ~120 MB/s one fills in a quarter second, and a flush must finish
  // before the last free one fills or writes stop (RocksDB's "memtable_compaction" stall). With
  // flushes at low CPU priority they often wait, so their number and size bound RSS (4 x 64 MB
  // put the peak over 300 MB).
  raw.max_write_buffer_number = 3;
  raw.target_file_size_base = 64ULL << 20;
  raw.level_compaction_dynamic_level_bytes = true;
  // LZ4 at every level: ZSTD at the bottom saved ~20% disk but cost 10% of the server's CPU on the
  // ingest path (bench/RESULTS.md).
  raw.compression = rocksdb::kLZ4Compression;
  raw.bottommost_compression = rocksdb::kLZ4Compression;
  // The raw log is read by range scans, never by point lookups of absent keys: no Bloom filter,
  // and its index blocks live in the bounded block cache so memory does not grow with the log.
  rocksdb::BlockBasedTableOptions raw_table = table;
  raw_table.filter_policy.reset();
  raw_table.cache_index_and_filter_blocks = true;
  raw.table_factory.reset(rocksdb::NewBlockBasedTableFactory(raw_table));

  rocksdb::ColumnFamilyOptions dedup;
  dedup.write_buffer_size = 16ULL << 20;
  dedup.max_write_buffer_number = 3;
  dedup.memtable_prefix_bloom_size_ratio = 0.1;
  dedup.memtable_whole_key_filtering = true;
  dedup.compaction_filter = filter;
  dedup.compression = rocksdb::kLZ4Compression;
  dedup.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  rocksdb::ColumnFamilyOptions small;
  small.write_buffer_size = 4ULL << 20;
  small.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  // Profile state is read by point lookups on every processed event: Bloom filters, and memtables
  // big enough that a burst of new profiles does not flush every few seconds.
  // 64 MB (here and in the column families below that copy these options): with 16 MB, the
  // processor's steady state with 100 audiences kept 0.7 of a core busy compacting (0.53 of it
  // the `audiences` family: members, history, check times); with 64 MB, 0.1, a core's worth the
  // server's other threads get back (bench/RESULTS.md, 2026-11-28). All memtables together are
  // capped below.
  rocksdb::ColumnFamilyOptions state;
  state.write_buffer_size = 64ULL << 20;
  // Most lookups of a new identifier miss: a memtable Bloom filter answers them without walking
  // the skip lists (which were the processor's top cost).
  state.memtable_prefix_bloom_size_ratio = 0.1;
  state.memtable_whole_key_filtering = true;
  state.compression = rocksdb::kLZ4Compression;
  state.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  // Timelines and edges are appended in key order per profile and read by range scans.
  rocksdb::ColumnFamilyOptions scanned = state;
  scanned.memtable_prefix_bloom_size_ratio = 0;
  scanned.memtable_whole_key_filtering = false;
  rocksdb::BlockBasedTableOptions scanned_table = table;
  scanned_table.filter_policy.reset();
  scanned_table.cache_index_and_filter_blocks = true;
  scanned.table_factory.reset(rocksdb::NewBlockBasedTableFactory(scanned_table));

  // Destinations' cursors, outboxes, dead letters and delivery history
  // (docs/formats/activation.md): written for each delivered batch, looked up by messageId.
  rocksdb::ColumnFamilyOptions activation = state;
  activation.compaction_filter = history_filter;

  // A definition writes profiles' new audience state as merge operands (section_merge.h).
  rocksdb::ColumnFamilyOptions profiles = state;
  profiles.merge_operator = section_merge_operator();

  return {{kColumnFamilies[0], small},    {kColumnFamilies[1], raw},
          {kColumnFamilies[2], dedup},    {kColumnFamilies[3], small},
          {kColumnFamilies[4], state},    {kColumnFamilies[5], profiles},
          {kColumnFamilies[6], scanned},  {kColumnFamilies[7], scanned},
          {kColumnFamilies[8], state},    {kColumnFamilies[9], small},
          {kColumnFamilies[10], small},   {kColumnFamilies[11], scanned},
          {kColumnFamilies[12], scanned}, {kColumnFamilies[13], activation}};
}

// RocksDB's warnings and errors, written to our log instead of a LOG file in the data directory.
// Rationale: on a full disk RocksDB's file logger aborts the process (an assert in
// WritableFileWriter, compiled into Debian's librocksdb) on the next write after one that failed,
// and the LOG file would compete with the data for the last free bytes.
class RocksDbLogger final : public rocksdb::Logger {
 public:
  RocksDbLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}

  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    // HEADER_LEVEL is the options dump at open: noise in a JSON log.
    if (level < GetInfoLogLevel() || level == rocksdb::InfoLogLevel::HEADER_LEVEL) return;
    char message[1024];
    std::vsnprintf(message, sizeof message, format, ap);
    log::write(level >= rocksdb::InfoLogLevel::ERROR_LEVEL ? log::Level::kError : log::Level::kWarn,
               "rocksdb", {{"message", message}});
  }
};

// Keeps the filter alive as long as any database uses it; RocksDB stores a raw pointer.
const rocksdb::CompactionFilter* expiry_filter(const Clock* clock, int64_t window_ms,
                                               std::string key_prefix) {
  static std::mutex mutex;
  static std::vector<std::unique_ptr<ExpiryFilter>> filters;
  std::lock_guard lock(mutex);
  filters.push_back(std::make_unique<ExpiryFilter>(clock, window_ms, std::move(key_prefix)));
  return filters.back().get();
}

}  // namespace

Status from_rocksdb(const rocksdb::Status& status, std::string_view what) {
  if (status.ok()) return Status::ok();
  std::string message = std::string(what) + ": " + status.ToString();
  if (status.IsNoSpace() || status.IsIOError() || status.IsBusy() || status.IsTryAgain() ||
      status.IsIncomplete()) {
    return Status::unavailable(std::move(message));
  }
  if (status.IsCorruption()) return Status::corruption(std::move(message));
  if (status.IsNotFound()) return Status::not_found(std::move(message));
  if (status.IsInvalidArgument()) return Status::invalid_argument(std::move(message));
  return Status::internal(std::move(message));
}

Result<std::unique_ptr<Database>> Database::open(const Options& options) {
  std::error_code ec;
  std::filesystem::create_directories(options.path, ec);
  if (ec) {
    return Status::unavailable("cannot create data directory '" + options.path +
                               "': " + ec.message());
  }
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  // The small column families flush rarely; without a cap they would pin every WAL file written
  // since their last flush (gigabytes under load, all replayed after a crash). Reaching the cap
  // flushes every family with data in the oldest WAL file, however little: the raw log fills
  // 256 MB in ~25 s at 10,000 events/s, and each small flush of the `audiences` family spans
  // all of its keys, so level 0 to 1 compactions rewrote its whole level 1 every ~100 s. 1 GB:
  // 20% less compaction CPU under the mixed load (bench/RESULTS.md, 2026-11-29 09:50 UTC).
  db_options.max_total_wal_size = 1ULL << 30;
  // All memtables together (fourteen column families, most of them 64 MB): past this, RocksDB
  // flushes early, so memory stays bounded whatever the mix of writes.
  db_options.db_write_buffer_size = 384ULL << 20;
  db_options.info_log = std::make_shared<RocksDbLogger>();
  // Flushes and compactions hand their output to the disk 1 MB at a time and at a bounded rate,
  // instead of in bursts of a whole 64 MB file: a burst queues the writer's WAL fsync behind it
  // (measured: 10-35 ms fsyncs, the whole p99 tail of acknowledgements; see bench/RESULTS.md).
  db_options.bytes_per_sync = 1ULL << 20;
  if (options.background_write_bytes_per_s > 0) {
    db_options.rate_limiter = std::make_shared<BackgroundWriteLimiter>(
        options.background_write_bytes_per_s, std::chrono::microseconds(10'000));
  }
  // Background work runs below the threads that answer clients: on a 2-core machine a flush or
  // compaction burst otherwise shows up directly as acknowledgement latency. Compaction only
  // gets idle CPU; flushes get a low priority (not idle: a flush starved for long fills every
  // memtable and stops writes). Measured: +25% closed-loop throughput from the lower flush
  // priority, no write stalls.
  (void)rocksdb::Env::Default()->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::LOW,
                                                            rocksdb::CpuPriority::kIdle);
  (void)rocksdb::Env::Default()->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::HIGH,
                                                            rocksdb::CpuPriority::kLow);
  // Lets RocksDB recover by itself from out-of-space errors in writes, flush and compaction. It
  // polls every 5 s and resumes only once the largest write buffer (64 MB) is free; until then
  // DB::Resume() answers Busy.
  db_options.sst_file_manager.reset(rocksdb::NewSstFileManager(rocksdb::Env::Default()));

  std::unique_ptr<Database> database(new Database());
  database->path_ = options.path;
  database->dedup_window_ms_ = options.dedup_window_ms;
  rocksdb::DB* raw = nullptr;
  auto status = rocksdb::DB::Open(
      db_options, options.path,
      column_families(options, expiry_filter(options.clock, options.dedup_window_ms, ""),
                      expiry_filter(options.clock, options.delivery_history_ms, "l/")),
      &database->handles_, &raw);
  if (!status.ok()) {
    return Status(from_rocksdb(status, "opening data directory '" + options.path + "'").code(),
                  "cannot open data directory '" + options.path + "': " + status.ToString() +
                      " (is another cdp server using it?)");
  }
  database->db_.reset(raw);
  CDP_RETURN_IF_ERROR(database->check_format_version());
  return database;
}

Result<std::unique_ptr<Database>> Database::open_follower(const std::string& path,
                                                          const std::string& scratch_path) {
  if (!std::filesystem::exists(std::filesystem::path(path) / "CURRENT")) {
    return Status::not_found("no cdp data directory at '" + path + "' (run `cdp serve --data " +
                             path + "` first)");
  }
  rocksdb::DBOptions db_options;
  db_options.max_open_files = -1;
  std::unique_ptr<Database> database(new Database());
  database->path_ = path;
  database->follower_ = true;
  rocksdb::DB* raw = nullptr;
  Options defaults;
  auto status = rocksdb::DB::OpenAsSecondary(db_options, path, scratch_path,
                                             column_families(defaults, nullptr, nullptr),
                                             &database->handles_, &raw);
  if (!status.ok())
    return from_rocksdb(status, "opening data directory '" + path + "' for reading");
  database->db_.reset(raw);
  CDP_RETURN_IF_ERROR(database->check_format_version());
  return database;
}

Database::~Database() {
  if (!db_) return;
  for (auto* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
  db_->Close();
}

std::optional<uint64_t> Database::free_bytes() const {
  struct statvfs info {};
  if (statvfs(path_.c_str(), &info) != 0) return std::nullopt;
  return static_cast<uint64_t>(info.f_bavail) * info.f_frsize;
}

Status Database::check_format_version() {
  auto stored = get_meta(kFormatKey);
  if (!stored) return stored.status();
  if (!stored->has_value()) {
    if (follower_) return Status::ok();
    return put_meta(kFormatKey, std::to_string(kFormatVersion));
  }
  int version = 0;
  try {
    version = std::stoi(**stored);
  } catch (const std::exception&) {
    return Status::corruption("data directory '" + path_ + "' has an unreadable format version '" +
                              **stored + "'");
  }
  if (version < kFormatVersion && !follower_) {
    // Older formats are subsets of this one (version 2 added the profile column families and
    // version 3 `imports` and `matching`, version 4 `audiences` and `changes`, version 6
    // `activation`, which open() creates; version 5 changed values that this build reads in both
    // forms; version 7 added trait changes to the change log; version 8 profile records whose
    // audience state is binary, after their JSON, which this build reads in both forms; version 9
    // timeline entries of track calls that keep their properties, read in both forms too):
    // stamping the new version keeps older servers from opening it.
    return put_meta(kFormatKey, std::to_string(kFormatVersion));
  }
  if (version > kFormatVersion) {
    return Status::failed_precondition("data directory '" + path_ + "' has format version " +
                                       std::to_string(version) +
                                       ", newer than this cdp build understands (" +
                                       std::to_string(kFormatVersion) + "); upgrade cdp");
  }
  return Status::ok();
}

Result<std::optional<std::string>> Database::get_meta(const std::string& key) {
  std::string value;
  auto status = db_->Get(rocksdb::ReadOptions(), meta(), key, &value);
  if (status.IsNotFound()) return std::optional<std::string>();
  if (!status.ok()) return from_rocksdb(status, "reading metadata '" + key + "'");
  return std::optional<std::string>(std::move(value));
}

Status Database::put_meta(const std::string& key, const std::string& value) {
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  return from_rocksdb(db_->Put(write_options, meta(), key, value),
                      "writing metadata '" + key + "'");
}

Status Database::delete_meta(const std::string& key) {
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  return from_rocksdb(db_->Delete(write_options, meta(), key), "deleting metadata '" + key + "'");
}

Result<std::vector<std::pair<std::string, std::string>>> Database::scan_meta(
    const std::string& prefix) {
  std::vector<std::pair<std::string, std::string>> entries;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), meta()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    entries.emplace_back(it->key().ToString(), it->value().ToString());
  }
  if (!it->status().ok()) return from_rocksdb(it->status(), "scanning metadata");
  return entries;
}

Status Database::catch_up() {
  if (!follower_) return Status::ok();
  return from_rocksdb(db_->TryCatchUpWithPrimary(), "following the data directory");
}

uint64_t Database::int_property(const std::string& name) {
  uint64_t total = 0;
  for (auto* handle : handles_) {
    uint64_t value = 0;
    if (db_->GetIntProperty(handle, name, &value)) total += value;
  }
  return total;
}

uint64_t Database::int_property(const std::string& name, rocksdb::ColumnFamilyHandle* family) {
  uint64_t value = 0;
  return db_->GetIntProperty(family, name, &value) ? value : 0;
}

std::string Database::stats_report() {
  std::string report;
  for (auto* handle : handles_) {
    std::string section;
    if (db_->GetProperty(handle, "rocksdb.stats", &section)) {
      report += "## column family " + handle->GetName() + "\n" + section + "\n";
    }
  }
  return report;
}

}  // namespace cdp::storage
