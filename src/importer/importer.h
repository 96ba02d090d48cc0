#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/status.h"
#include "importer/import_store.h"
#include "importer/mapping.h"
#include "storage/database.h"
#include "storage/raw_log_writer.h"

namespace cdp::importer {

// Runs file imports through the three zones (docs/import.md):
//   raw      the file as received is kept under <data>/imports/raw/<sha256>, with its checksum,
//            size and origin in the import record; the same bytes imported again add nothing;
//   clean    every row is checked against the mapping; failing rows are quarantined with row,
//            column, value and reason;
//   curated  the accepted rows are appended to the raw log (through the RawLogWriter, like SDK
//            events), where the processor makes them profile records or events.
// A file that cannot be read as a whole fails before any of its rows enters the log.
//
// Lifecycle: open() (re-queues imports a stopped server left unfinished), submit() from any
// thread, stop(). One worker thread runs imports one at a time, at a lower CPU priority than
// the threads that acknowledge events. Thread-safe.
//
// Rationale: rows enter the log as ordinary events so that profiles stay a pure function of the
// log; messageIds derived from the file's checksum and row make a resumed import (after a crash
// mid-file) store each row once.
class Importer {
 public:
  struct Options {
    std::string data_dir;
    size_t max_event_bytes = 32 * 1024;
    std::string phone_region = "US";  // for mappings that do not set one ([identity])
    const Clock* clock = &SystemClock::instance();
    size_t batch_events = 2000;  // rows per append to the raw log
    // Called on the import thread when an import is done (not when it failed or was a
    // duplicate): how matching learns that new records arrived. Must not block.
    std::function<void(const ImportRecord&)> on_done;
  };

  static Result<std::unique_ptr<Importer>> open(storage::Database& database,
                                                storage::RawLogWriter& writer, Options options);
  ~Importer();
  Importer(const Importer&) = delete;
  Importer& operator=(const Importer&) = delete;

  // Takes the file at `path` (moved into the data directory) and queues its import with
  // `mapping`. Returns the new import's record (state received).
  Result<ImportRecord> submit(const std::string& path, std::string file_name, std::string origin,
                              const ImportMapping& mapping);

  ImportStore& store() { return store_; }
  // Where uploads are written before submit(): on the data directory's file system, so that
  // submit() moves them without copying.
  std::string incoming_dir() const;

  // Stops after the current batch; an unfinished import resumes on the next open().
  void stop();

 private:
  Importer(storage::Database& database, storage::RawLogWriter& writer, Options options);
  void run();
  void run_import(ImportRecord& record);
  Status hash(ImportRecord& record);
  Status validate(ImportRecord& record, const ImportMapping& mapping);
  Status load(ImportRecord& record, const ImportMapping& mapping);
  Status append(ImportRecord& record, const std::string& source,
                std::vector<storage::AppendEvent>& events);
  // Stores the record's progress at most every 200 ms (always when `force`).
  Status save(ImportRecord& record, bool force);
  std::string raw_file(const ImportRecord& record) const;
  bool stopping() const { return stopping_.load(); }

  storage::Database& database_;
  storage::RawLogWriter& writer_;
  Options options_;
  ImportStore store_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<uint64_t> queue_;
  std::atomic<bool> stopping_{false};
  std::chrono::steady_clock::time_point last_save_{};
  std::thread thread_;
};

}  // namespace cdp::importer
