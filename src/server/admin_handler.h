#pragma once

#include <charconv>
#include <optional>
#include <string>

#include "ingest/source_registry.h"
#include "server/http_types.h"
#include "storage/database.h"

namespace cdp::server {

// The admin API, guarded by the admin token ("Authorization: Bearer <token>"):
//   GET    /admin/v1/sources               list sources with their write keys
//   POST   /admin/v1/sources               {"name", "writeKey"?, "enabled"?} -> 201
//   GET    /admin/v1/sources/{name}
//   PATCH  /admin/v1/sources/{name}        {"enabled"?, "rotateWriteKey"?}
//   DELETE /admin/v1/sources/{name}
//   GET    /admin/v1/events?from=SEQ&limit=N   raw log as JSON Lines; X-Next-Seq: the next page
//   GET    /admin/v1/storage/stats         RocksDB's statistics per column family (plain text)
// A write key never opens these. Thread-safe.
class AdminHandler {
 public:
  AdminHandler(std::string admin_token, ingest::SourceRegistry& sources,
               storage::Database& database)
      : admin_token_(std::move(admin_token)), sources_(sources), database_(database) {}

  static bool handles(std::string_view target) { return target.starts_with("/admin/"); }
  Response handle(const Request& request);

 private:
  Response sources(const Request& request, std::string_view name);
  Response events(const Request& request);

  const std::string admin_token_;
  ingest::SourceRegistry& sources_;
  storage::Database& database_;
};

// Returns the value of query parameter `name` in `target`, or "" (no percent-decoding: values are
// numbers).
std::string_view query_parameter(std::string_view target, std::string_view name);

// `text` as a whole decimal number of type T, or nullopt (query parameters, cursors).
template <typename T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Query parameter `name` of `target` as a whole decimal number: `fallback` when absent, nullopt
// when it is not a number.
inline std::optional<uint64_t> number_parameter(std::string_view target, std::string_view name,
                                                uint64_t fallback) {
  const auto text = query_parameter(target, name);
  return text.empty() ? std::optional<uint64_t>(fallback) : parse_number<uint64_t>(text);
}

}  // namespace cdp::server
