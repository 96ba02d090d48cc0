#include "activation/file_export_worker.h"

#include <algorithm>
#include <filesystem>
#include <memory>

#include "common/log.h"
#include "common/thread_name.h"
#include "profile/audience_records.h"

namespace cdp::activation {
namespace {

constexpr int64_t kRetryMs = 60'000;
constexpr int64_t kLookAgainMs = 60'000;

}  // namespace

std::unique_ptr<FileExportWorker> FileExportWorker::start(storage::Database& database,
                                                          const Clock& clock, DestinationSpec spec,
                                                          std::string root) {
  std::unique_ptr<FileExportWorker> worker(
      new FileExportWorker(database, clock, std::move(spec), std::move(root)));
  worker->stats_.state = "idle";
  worker->thread_ = std::thread([w = worker.get()] { w->run(); });
  return worker;
}

FileExportWorker::~FileExportWorker() { stop(); }

void FileExportWorker::notify() {
  notified_.store(true);
  wake_.notify_all();
}

void FileExportWorker::request_stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
}

void FileExportWorker::stop() {
  request_stop();
  if (thread_.joinable()) thread_.join();
}

DestinationStats FileExportWorker::stats() {
  std::lock_guard lock(mutex_);
  return stats_;
}

Result<uint64_t> FileExportWorker::replay_dead_letters(const std::vector<uint64_t>&) {
  return Status::failed_precondition("destination '" + spec_.name +
                                     "' writes files: it has no dead letters (a failed export "
                                     "is retried after a minute)");
}

std::string FileExportWorker::directory() const {
  return (std::filesystem::path(root_) / spec_.files.path).string();
}

Result<std::vector<std::string>> FileExportWorker::audiences() {
  if (!spec_.audiences.names.empty()) {
    return std::vector<std::string>(spec_.audiences.names.begin(), spec_.audiences.names.end());
  }
  // Every defined audience: the names of the definition keys (this runs every minute; compiling
  // the definitions is not needed to know them).
  std::vector<std::string> names;
  const std::string prefix = profile::audience_definition_key("");
  std::unique_ptr<rocksdb::Iterator> it(
      database_.db().NewIterator(rocksdb::ReadOptions(), database_.audiences()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    names.push_back(it->key().ToString().substr(prefix.size()));
  }
  if (!it->status().ok()) return storage::from_rocksdb(it->status(), "reading audience names");
  return names;
}

Result<int64_t> FileExportWorker::export_due(int64_t now, bool force,
                                             std::vector<AudienceExport>* written) {
  std::lock_guard export_lock(export_mutex_);
  auto names = audiences();
  if (!names) return names.status();
  // Looks again within a minute at most: an audience defined since has no snapshot yet and is
  // exported then.
  int64_t next = now + std::min<int64_t>(spec_.files.every_ms, kLookAgainMs);
  Status failed = Status::ok();  // the first failure; the other audiences are still exported
  for (const auto& name : *names) {
    const std::string folder =
        (std::filesystem::path(directory()) / audience_folder(name)).string();
    const auto last = last_export_ms(folder);
    // (A snapshot from the future, after the clock stepped back, does not hold the schedule.)
    if (!force && last && *last <= now && now < *last + spec_.files.every_ms) {
      next = std::min(next, *last + spec_.files.every_ms);
      continue;
    }
    {
      std::lock_guard lock(mutex_);
      stats_.state = "delivering";
    }
    auto done = export_audience(database_, spec_, name, folder, now);
    if (!done) {
      if (failed.is_ok()) {
        failed =
            Status(done.status().code(), "audience '" + name + "': " + done.status().message());
      }
      continue;
    }
    log::info("audience_exported", {{"destination", spec_.name},
                                    {"audience", name},
                                    {"members", std::to_string(done->members)},
                                    {"added", std::to_string(done->added)},
                                    {"removed", std::to_string(done->removed)}});
    {
      std::lock_guard lock(mutex_);
      stats_.delivered += done->members;
      stats_.last_delivery_ms = now;
    }
    if (written != nullptr) written->push_back(std::move(*done));
  }
  {
    std::lock_guard lock(mutex_);
    stats_.state = spec_.enabled ? "idle" : "disabled";
  }
  if (!failed.is_ok()) return failed;
  return next;
}

Result<std::vector<AudienceExport>> FileExportWorker::export_now() {
  std::vector<AudienceExport> written;
  auto next = export_due(clock_.now_ms(), true, &written);
  if (!next) return next.status();
  return written;
}

void FileExportWorker::run() {
  set_thread_name("cdp-export");
  std::unique_lock lock(mutex_);
  int64_t next_ms = 0;  // due now
  while (!stopping_) {
    const int64_t now = clock_.now_ms();
    if (spec_.enabled && now >= next_ms) {
      lock.unlock();
      auto next = export_due(now, false, nullptr);
      lock.lock();
      if (next) {
        next_ms = *next;
        stats_.state = "idle";
      } else {
        next_ms = now + kRetryMs;
        ++stats_.failed_attempts;
        stats_.state = "backing_off";
        stats_.last_error = next.status().message();
        stats_.last_error_ms = now;
        log::error("audience_export_failed",
                   {{"destination", spec_.name}, {"error", next.status().message()}});
      }
      stats_.paused_until_ms = next_ms;
    }
    if (!spec_.enabled) stats_.state = "disabled";
    // Wakes at least every second to read the clock (tests move a fake one and notify).
    wake_.wait_for(lock, std::chrono::milliseconds(std::clamp<int64_t>(next_ms - now, 1, 1000)),
                   [&] { return stopping_ || notified_.load(); });
    notified_.store(false);
  }
}

}  // namespace cdp::activation
