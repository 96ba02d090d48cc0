#include "importer/watch_folder.h"

#include "common/log.h"

namespace cdp::importer {
namespace {

namespace fs = std::filesystem;

bool is_in_progress(const std::string& name) {
  if (name.empty() || name[0] == '.') return true;
  for (std::string_view suffix : {".tmp", ".part", ".partial", ".filepart"}) {
    if (name.size() > suffix.size() && name.ends_with(suffix)) return true;
  }
  return false;
}

}  // namespace

Result<std::unique_ptr<WatchFolder>> WatchFolder::start(Importer& importer, Options options) {
  std::error_code error;
  fs::create_directories(options.dir, error);
  if (error || !fs::is_directory(options.dir)) {
    return Status::invalid_argument("cannot watch " + options.dir + ": " +
                                    (error ? error.message() : "not a directory"));
  }
  std::unique_ptr<WatchFolder> folder(new WatchFolder(importer, std::move(options)));
  folder->thread_ = std::thread([raw = folder.get()] { raw->run(); });
  log::info("import_watch_started",
            {{"dir", folder->options_.dir}, {"mapping", folder->options_.mapping.name}});
  return folder;
}

WatchFolder::~WatchFolder() { stop(); }

void WatchFolder::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WatchFolder::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    poll();
    lock.lock();
    wake_.wait_for(lock, options_.poll, [this] { return stopping_; });
  }
}

void WatchFolder::poll() {
  std::map<std::string, Seen> now;
  std::error_code error;
  for (fs::directory_iterator it(options_.dir, error), end; !error && it != end;
       it.increment(error)) {
    const std::string name = it->path().filename().string();
    std::error_code entry_error;
    if (is_in_progress(name) || !it->is_regular_file(entry_error)) continue;
    Seen seen;
    seen.size = it->file_size(entry_error);
    seen.modified = it->last_write_time(entry_error);
    if (!entry_error) now[name] = seen;
  }
  if (error) {
    log::warn("import_watch_failed", {{"dir", options_.dir}, {"error", error.message()}});
    return;
  }
  for (auto& [name, seen] : now) {
    const auto before = seen_.find(name);
    if (before == seen_.end() || !(before->second == seen)) continue;  // new or still changing
    if (before->second.failed) {
      seen.failed = true;
      continue;
    }
    const auto path = (fs::path(options_.dir) / name).string();
    auto record = importer_.submit(path, name, "watch:" + options_.dir, options_.mapping);
    if (!record) {
      seen.failed = true;
      log::error("import_watch_refused", {{"file", path}, {"error", record.status().message()}});
    }
  }
  seen_ = std::move(now);
}

}  // namespace cdp::importer
