#pragma once

#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "storage/database.h"

namespace cdp::ingest {

// A source: where events come from (a website, an app, a back end), identified by its write key.
struct Source {
  std::string name;       // stable id: [a-z0-9_-], at most 64 characters
  std::string write_key;  // secret; can only ingest
  bool enabled = true;
  bool from_config = false;  // defined in the config file; the admin API cannot change it
};

// The sources the server accepts events for. Sources from the config file are applied at every
// start; sources created through the admin API are stored in the data directory (meta
// "source/<name>") and survive restarts. Lookups by write key are lock-shared. Thread-safe.
class SourceRegistry {
 public:
  // Loads stored sources, then applies `configured` over them.
  static Result<std::unique_ptr<SourceRegistry>> open(storage::Database& database,
                                                      std::vector<Source> configured);

  // The enabled source for `write_key`. kPermissionDenied with a message for people otherwise.
  Result<Source> authenticate(std::string_view write_key) const;

  std::vector<Source> list() const;
  std::optional<Source> find(std::string_view name) const;
  // Creates a source; generates a write key when `write_key` is empty.
  Result<Source> create(std::string name, std::string write_key, bool enabled);
  // Changes whether a source is enabled (when `enabled` is set) and/or gives it a new random
  // write key (when `rotate_key`).
  Result<Source> update(std::string_view name, std::optional<bool> enabled, bool rotate_key);
  Status remove(std::string_view name);

  static Status validate_name(std::string_view name);

 private:
  explicit SourceRegistry(storage::Database& database) : database_(database) {}
  Status store(const Source& source);
  void index(const Source& source);

  storage::Database& database_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, Source> by_name_;
  std::unordered_map<std::string, std::string> name_by_key_;
};

}  // namespace cdp::ingest
