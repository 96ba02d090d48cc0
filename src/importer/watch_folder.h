#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "importer/importer.h"
#include "importer/mapping.h"

namespace cdp::importer {

// Imports every file dropped into a folder (the SFTP-drop case). A file is taken once its size
// and modification time have stayed the same for one poll, so a file still being written is left
// alone; it is then moved out of the folder into the importer's raw zone. Hidden files and names
// ending in .tmp, .part, .partial or .filepart (what upload tools write before renaming) are
// ignored, and so are directories.
//
// Lifecycle: start(), stop() (or destruction). One thread per folder. Thread-safe.
class WatchFolder {
 public:
  struct Options {
    std::string dir;
    ImportMapping mapping;
    std::chrono::milliseconds poll{2000};
  };

  // Creates the folder when missing.
  static Result<std::unique_ptr<WatchFolder>> start(Importer& importer, Options options);
  ~WatchFolder();
  WatchFolder(const WatchFolder&) = delete;
  WatchFolder& operator=(const WatchFolder&) = delete;

  void stop();

 private:
  struct Seen {
    uintmax_t size = 0;
    std::filesystem::file_time_type modified;
    bool failed = false;  // submit() refused it; retried only once it changes
    bool operator==(const Seen& other) const {
      return size == other.size && modified == other.modified;
    }
  };

  WatchFolder(Importer& importer, Options options)
      : importer_(importer), options_(std::move(options)) {}
  void run();
  void poll();

  Importer& importer_;
  const Options options_;
  std::map<std::string, Seen> seen_;  // by file name, as of the last poll
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cdp::importer
