#pragma once

#include <rocksdb/db.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace cdp::storage {

// The one RocksDB database in a data directory, with a column family per purpose:
//   raw_log  seq (u64 BE) -> RawLogRecord           the immutable, ordered event log
//   dedup    source \0 messageId -> receivedAt (u64 BE ms)   messageId dedup window
//   meta     text key -> value                      format version, last seq, sources, cursors
//   identifiers, profiles, profile_events, identity_edges, accounts    profile state
//   imports  file imports, their quarantined rows and mappings
//   matching the review queue of probabilistic matching
//   audiences, changes   audience state and the change log
//   activation  destinations' cursors, outboxes, dead letters and delivery history
// On-disk formats are described in docs/formats/. Thread-safe (RocksDB is).
//
// Rationale: one database means one WAL, so an event, its dedup entry and the log cursor are
// written in one atomic, fsynced WriteBatch.
class Database {
 public:
  // The format this build writes. A data directory with a newer format is refused.
  static constexpr int kFormatVersion = 11;

  struct Options {
    std::string path;
    // Dedup entries older than this are dropped by compaction (and ignored before that).
    int64_t dedup_window_ms = 24LL * 3600 * 1000;
    const Clock* clock = &SystemClock::instance();
    // Memtable size of the raw log; bounds memory together with max_write_buffer_number.
    size_t raw_log_write_buffer_bytes = 32ULL << 20;
    // Cap on the disk bandwidth of flushes and compactions (0: none). It keeps their writes from
    // delaying the fsyncs that acknowledgements wait for; it must stay above the ingest rate.
    int64_t background_write_bytes_per_s = 160LL << 20;
    // Delivery records (a message's fate, by messageId) older than this are dropped by compaction.
    int64_t delivery_history_ms = 7LL * 24 * 3600 * 1000;
  };

  // Opens (creating if missing) the database for reading and writing. Only one process may.
  static Result<std::unique_ptr<Database>> open(const Options& options);
  // Opens a read-only follower of a database another process may be writing
  // (RocksDB secondary instance; `scratch_path` holds its private logs).
  static Result<std::unique_ptr<Database>> open_follower(const std::string& path,
                                                         const std::string& scratch_path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  rocksdb::DB& db() { return *db_; }
  rocksdb::ColumnFamilyHandle* raw_log() { return handles_[1]; }
  rocksdb::ColumnFamilyHandle* dedup() { return handles_[2]; }
  rocksdb::ColumnFamilyHandle* meta() { return handles_[3]; }
  // Profile state, written by the processor (docs/formats/profiles.md).
  rocksdb::ColumnFamilyHandle* identifiers() { return handles_[4]; }
  rocksdb::ColumnFamilyHandle* profiles() { return handles_[5]; }
  rocksdb::ColumnFamilyHandle* profile_events() { return handles_[6]; }
  rocksdb::ColumnFamilyHandle* identity_edges() { return handles_[7]; }
  rocksdb::ColumnFamilyHandle* accounts() { return handles_[8]; }
  // File imports: their records, quarantined rows and mappings (docs/formats/imports.md).
  rocksdb::ColumnFamilyHandle* imports() { return handles_[9]; }
  // Probabilistic matching of profiles: the review queue (docs/formats/matching.md).
  rocksdb::ColumnFamilyHandle* matching() { return handles_[10]; }
  // Audiences and computed traits: definitions, members, history, time checks
  // (docs/formats/audiences.md); and the change log that destinations read.
  rocksdb::ColumnFamilyHandle* audiences() { return handles_[11]; }
  rocksdb::ColumnFamilyHandle* changes() { return handles_[12]; }
  // Destinations: cursors, outboxes, dead letters, delivery history (docs/formats/activation.md).
  rocksdb::ColumnFamilyHandle* activation() { return handles_[13]; }
  const std::string& path() const { return path_; }
  // Free bytes for us on the filesystem that holds the directory; nullopt when it cannot tell.
  std::optional<uint64_t> free_bytes() const;
  int64_t dedup_window_ms() const { return dedup_window_ms_; }

  Result<std::optional<std::string>> get_meta(const std::string& key);
  Status put_meta(const std::string& key, const std::string& value);
  Status delete_meta(const std::string& key);
  // Every meta entry whose key starts with `prefix`, in key order.
  Result<std::vector<std::pair<std::string, std::string>>> scan_meta(const std::string& prefix);

  // Catches a follower up with the writer's latest state. No-op for the writer.
  Status catch_up();
  // An integer RocksDB property summed over the column families ("rocksdb.estimate-num-keys").
  uint64_t int_property(const std::string& name);
  // The same property of one column family.
  uint64_t int_property(const std::string& name, rocksdb::ColumnFamilyHandle* family);
  // Every column family but the default one.
  std::vector<rocksdb::ColumnFamilyHandle*> all_column_families() const {
    return {handles_.begin() + 1, handles_.end()};
  }
  // RocksDB's human-readable statistics ("rocksdb.stats") of every column family, for operators:
  // per-level sizes, compaction work (rewritten vs moved bytes) and write stalls.
  std::string stats_report();

 private:
  Database() = default;
  Status check_format_version();

  std::string path_;
  int64_t dedup_window_ms_ = 0;
  bool follower_ = false;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

// Converts a RocksDB status into ours; `what` says which operation failed.
Status from_rocksdb(const rocksdb::Status& status, std::string_view what);

}  // namespace cdp::storage
