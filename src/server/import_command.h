#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "server/admin_client.h"

namespace cdp::server {

// `cdp import` and `cdp imports`: file imports through a running server's admin API
// (docs/import.md).
struct ImportCommandOptions {
  std::vector<std::string> files;
  std::string mapping_path;  // import: the mapping file (TOML)
  std::string mapping_name;  // import: stored under this name (default: the mapping file's stem)
  AdminClientOptions admin;
  bool no_wait = false;  // import: return once the server has the file
  bool json = false;     // print the server's JSON instead of text
  uint64_t id = 0;       // imports show / quarantine
  uint64_t limit = 100;
};

// Each returns the process exit code (import: 1 when a file failed); errors go to stderr.
int run_import(const ImportCommandOptions& options);
int run_imports_list(const ImportCommandOptions& options);
int run_imports_show(const ImportCommandOptions& options);
int run_imports_quarantine(const ImportCommandOptions& options);

}  // namespace cdp::server
