#include "server/events_command.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "storage/database.h"
#include "storage/raw_log_reader.h"

namespace cdp::server {
namespace {

std::atomic<bool> g_interrupted{false};

// Runs `visit` over the log; returns the exit code.
int read_log(const EventsReadOptions& options, std::ostream& out, bool follow) {
  const auto scratch =
      std::filesystem::temp_directory_path() / ("cdp-follower-" + std::to_string(::getpid()));
  auto database = storage::Database::open_follower(options.data_dir, scratch.string());
  if (!database) {
    std::cerr << "cdp: " << database.status().message() << "\n";
    return 1;
  }
  storage::RawLogReader reader(**database);
  uint64_t next = options.from_seq;
  uint64_t written = 0;
  int exit_code = 0;
  while (!g_interrupted.load()) {
    bool done = false;
    auto result = reader.scan(next, 10000, [&](const storage::RawLogRecord& record) {
      if ((options.to_seq != 0 && record.seq > options.to_seq) ||
          (options.limit != 0 && written >= options.limit)) {
        done = true;
        return false;
      }
      out << record.to_json_line() << '\n';
      ++written;
      return true;
    });
    if (!result) {
      std::cerr << "cdp: " << result.status().message() << "\n";
      exit_code = 1;
      break;
    }
    const bool advanced = *result != next;
    next = *result;
    if (done) break;
    if (!advanced) {
      if (!follow) break;
      out.flush();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      auto status = (*database)->catch_up();
      if (!status.is_ok()) {
        std::cerr << "cdp: " << status.message() << "\n";
        exit_code = 1;
        break;
      }
    }
  }
  out.flush();
  database->reset();
  std::error_code ec;
  std::filesystem::remove_all(scratch, ec);
  return exit_code;
}

}  // namespace

int run_events_tail(const EventsReadOptions& options) {
  std::signal(SIGINT, [](int) { g_interrupted.store(true); });
  std::signal(SIGTERM, [](int) { g_interrupted.store(true); });
  return read_log(options, std::cout, options.follow);
}

int run_events_export(const EventsReadOptions& options) {
  if (options.out_path.empty()) return read_log(options, std::cout, false);
  const std::string partial = options.out_path + ".partial";
  int code = 0;
  {
    std::ofstream file(partial, std::ios::trunc);
    if (!file) {
      std::cerr << "cdp: cannot write \"" << partial << "\"\n";
      return 1;
    }
    code = read_log(options, file, false);
    if (code == 0 && !file) {
      std::cerr << "cdp: writing \"" << partial << "\" failed (disk full?)\n";
      code = 1;
    }
  }
  // Only a complete export takes the requested name.
  if (code == 0) std::filesystem::rename(partial, options.out_path);
  return code;
}

}  // namespace cdp::server
