#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "activation/destination_runner.h"
#include "activation/file_export.h"
#include "common/clock.h"
#include "storage/database.h"

namespace cdp::activation {

// A files destination's thread: exports each subscribed audience (every defined audience when it
// names none) to `root`/path/<audience folder>/ when its newest snapshot there is `every` old,
// so the schedule survives restarts without any state but the files. A failed export is
// retried after a minute. Thread-safe.
class FileExportWorker final : public DestinationRunner {
 public:
  static std::unique_ptr<FileExportWorker> start(storage::Database& database, const Clock& clock,
                                                 DestinationSpec spec, std::string root);
  ~FileExportWorker() override;

  const DestinationSpec& spec() const override { return spec_; }
  void notify() override;
  void request_stop() override;
  void stop() override;
  DestinationStats stats() override;
  Result<uint64_t> replay_dead_letters(const std::vector<uint64_t>& ids) override;

  // Exports every subscribed audience now, whatever the schedule (the destination's "sample").
  Result<std::vector<AudienceExport>> export_now();
  // The destination's folder: root/path.
  std::string directory() const;

 private:
  FileExportWorker(storage::Database& database, const Clock& clock, DestinationSpec spec,
                   std::string root)
      : database_(database), clock_(clock), spec_(std::move(spec)), root_(std::move(root)) {}
  void run();
  Result<std::vector<std::string>> audiences();
  // Exports the audiences that are due (all with `force`); returns when the next one is due.
  Result<int64_t> export_due(int64_t now, bool force, std::vector<AudienceExport>* written);

  storage::Database& database_;
  const Clock& clock_;
  const DestinationSpec spec_;
  const std::string root_;

  std::mutex export_mutex_;  // one export at a time: the schedule's or export_now's
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::atomic<bool> notified_{false};
  DestinationStats stats_;
  std::thread thread_;
};

}  // namespace cdp::activation
