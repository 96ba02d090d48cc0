#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "importer/import_record.h"
#include "storage/database.h"

namespace cdp::importer {

// The `imports` column family (docs/formats/imports.md):
//   'f' id(u64 BE)                          -> import record JSON
//   'c' checksum                            -> id(u64 BE) of the import that loaded those bytes
//   'q' id(u64 BE) row(u64 BE) index(u16 BE) -> quarantined problem JSON
//   'm' name                                -> mapping TOML
// Thread-safe (RocksDB is); ids are assigned under a lock.
class ImportStore {
 public:
  explicit ImportStore(storage::Database& database) : database_(database) {}

  Result<uint64_t> next_id();
  Status put(const ImportRecord& record);
  Result<std::optional<ImportRecord>> get(uint64_t id);
  // Newest first, at most `limit`, with ids below `before` (0: from the newest).
  Result<std::vector<ImportRecord>> list(uint64_t before, size_t limit);

  // The import that loaded the bytes with `checksum`, if any.
  Result<std::optional<uint64_t>> find_checksum(const std::string& checksum);
  Status put_checksum(const std::string& checksum, uint64_t id);

  // Stores one row's problems (replacing what that row had).
  Status put_problems(uint64_t id, uint64_t row, const std::vector<RowProblem>& problems);
  Status clear_problems(uint64_t id);
  // Problems of import `id` in at most `max_rows` rows from row `from_row` on; every problem of a
  // row is in the same page.
  struct QuarantinePage {
    std::vector<QuarantineEntry> entries;
    std::optional<uint64_t> next_row;  // where the next page starts, if there is one
  };
  Result<QuarantinePage> problems(uint64_t id, uint64_t from_row, size_t max_rows);

  Status put_mapping(const std::string& name, const std::string& text);
  Result<std::optional<std::string>> get_mapping(const std::string& name);
  Result<std::vector<std::pair<std::string, std::string>>> mappings();
  Status delete_mapping(const std::string& name);

 private:
  storage::Database& database_;
  std::mutex id_mutex_;
  uint64_t last_id_ = 0;  // 0: not read yet
};

}  // namespace cdp::importer
