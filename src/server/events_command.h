#pragma once

#include <cstdint>
#include <string>

namespace cdp::server {

// `cdp events tail` and `cdp events export`: read the raw log of a data directory as JSON Lines,
// whether or not a server is running on it (they open it as a RocksDB follower).
struct EventsReadOptions {
  std::string data_dir = "./cdp-data";
  uint64_t from_seq = 1;
  uint64_t to_seq = 0;   // inclusive; 0 means the end
  uint64_t limit = 0;    // 0 means no limit
  bool follow = false;   // tail: keep printing new events until interrupted
  std::string out_path;  // export: file to write; empty means stdout
};

// Returns the process exit code; errors are printed to stderr.
int run_events_tail(const EventsReadOptions& options);
int run_events_export(const EventsReadOptions& options);

}  // namespace cdp::server
