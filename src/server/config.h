#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "activation/destination.h"
#include "common/status.h"
#include "identity/rules.h"
#include "ingest/source_registry.h"
#include "ingest/tracking_limits.h"

namespace cdp::server {

// A folder watched for files to import (the SFTP-drop case): what lands there is imported with
// the mapping file's mapping.
struct ImportWatch {
  std::string dir;
  std::string mapping;  // path of a mapping file (TOML)
  double poll_seconds = 2;
};

// Every setting of `cdp serve`. Defaults here; a TOML file (--config) overrides them; flags
// override the file. docs/configuration.md lists each key.
struct Config {
  // [server]
  std::string listen = "127.0.0.1:8080";
  int http_threads = 2;
  std::string admin_token;           // empty: generated on first start, stored in the data dir
  std::string public_url;            // base URL SDKs reach us at; empty: taken from the Host header
  bool trust_forwarded_for = false;  // take the client IP from X-Forwarded-For (behind a proxy)
  std::vector<std::string> cors_origins = {"*"};
  std::string read_token;  // Profile API token (the admin token also reads); empty: admin only
  // The web console's built files (web/dist); the default is the source tree's, where
  // scripts/quickstart.sh builds it.
  std::string console_dir = CDP_CONSOLE_DIR;

  // [storage]
  std::string data_dir = "./cdp-data";
  bool sync = true;  // fsync before acknowledging; false trades durability on power loss for speed
  int64_t dedup_window_hours = 24;
  int64_t retention_days = 0;  // 0 keeps the raw log forever
  uint64_t min_free_mb = 64;
  uint64_t max_queue_mb = 64;
  int64_t background_write_mb_per_s = 160;

  // [limits]
  ingest::TrackingLimits limits;

  // [log]
  std::string log_level = "info";

  // [identity] (docs/identity.md)
  identity::IdentityRules identity = identity::IdentityRules::defaults();

  // [import]
  int64_t import_max_file_mb = 4096;
  std::vector<ImportWatch> import_watch;

  // [matching] (docs/matching.md, "Profiles"): probabilistic matching of profiles; off without a
  // specification.
  std::string matching_spec;   // a match specification (TOML) whose [columns] are trait names
  std::string matching_model;  // a saved model (with its own spec) to use instead of training
  bool matching_after_import = true;

  // [audiences] (docs/audiences.md): how long a preview reads before it estimates the size.
  int64_t preview_budget_ms = 500;

  // [activation] (docs/activation.md)
  std::vector<std::string> allowed_networks;  // private networks destinations may reach (CIDR)
  int64_t delivery_history_days = 7;          // how long a message's delivery record is kept
  std::string files_dir;  // where files destinations write; empty: <data_dir>/exports

  // [[sources]]
  std::vector<ingest::Source> sources;
  // [[destinations]]: the same fields as the admin API's JSON, plus name
  std::vector<activation::DestinationSpec> destinations;

  // Reads a TOML file over the defaults. Unknown keys are errors (a typo must not be ignored).
  static Result<Config> load_file(const std::string& path);
  static Result<Config> parse_toml(std::string_view text, const std::string& origin);
};

}  // namespace cdp::server
