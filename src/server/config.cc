#include "server/config.h"

#include <toml++/toml.h>

#include <fstream>
#include <set>
#include <sstream>

namespace cdp::server {
namespace {

// Reads `table[key]` into `out` when present; a value of the wrong type is an error.
template <typename T, typename Out>
Status read(const toml::table& table, std::string_view section, std::string_view key, Out& out) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return Status::ok();
  auto value = node->value<T>();
  if (!value) {
    return Status::invalid_argument("config [" + std::string(section) + "] " + std::string(key) +
                                    " has the wrong type");
  }
  out = static_cast<Out>(*value);
  return Status::ok();
}

Status check_keys(const toml::table& table, std::string_view section,
                  std::set<std::string_view> known) {
  for (const auto& [key, value] : table) {
    if (known.count(key.str()) == 0) {
      return Status::invalid_argument("config [" + std::string(section) +
                                      "] has an unknown key \"" + std::string(key.str()) + "\"");
    }
  }
  return Status::ok();
}

Status positive(int64_t value, std::string_view name) {
  if (value > 0) return Status::ok();
  return Status::invalid_argument("config " + std::string(name) + " must be greater than 0");
}

}  // namespace

Result<Config> Config::load_file(const std::string& path) {
  std::ifstream file(path);
  if (!file) return Status::not_found("cannot read config file \"" + path + "\"");
  std::stringstream text;
  text << file.rdbuf();
  return parse_toml(text.str(), path);
}

Result<Config> Config::parse_toml(std::string_view text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& error) {
    return Status::invalid_argument("config " + origin + ":" +
                                    std::to_string(error.source().begin.line) + ": " +
                                    std::string(error.description()));
  }
  Config config;
  CDP_RETURN_IF_ERROR(
      check_keys(root, "top level", {"server", "storage", "limits", "log", "sources"}));
  for (std::string_view section : {"server", "storage", "limits", "log"}) {
    if (root.contains(section) && !root[section].is_table()) {
      return Status::invalid_argument("config " + std::string(section) + " must be a [" +
                                      std::string(section) + "] table");
    }
  }
  if (root.contains("sources") && !root["sources"].is_array()) {
    return Status::invalid_argument("config sources must be [[sources]] tables");
  }

  if (const auto* server = root["server"].as_table()) {
    CDP_RETURN_IF_ERROR(check_keys(*server, "server",
                                   {"listen", "http_threads", "admin_token", "public_url",
                                    "trust_forwarded_for", "cors_origins"}));
    CDP_RETURN_IF_ERROR(read<std::string>(*server, "server", "listen", config.listen));
    CDP_RETURN_IF_ERROR(read<int64_t>(*server, "server", "http_threads", config.http_threads));
    CDP_RETURN_IF_ERROR(read<std::string>(*server, "server", "admin_token", config.admin_token));
    CDP_RETURN_IF_ERROR(read<std::string>(*server, "server", "public_url", config.public_url));
    CDP_RETURN_IF_ERROR(
        read<bool>(*server, "server", "trust_forwarded_for", config.trust_forwarded_for));
    if (const auto* origins = (*server)["cors_origins"].as_array()) {
      config.cors_origins.clear();
      for (const auto& entry : *origins) {
        auto value = entry.value<std::string>();
        if (!value) return Status::invalid_argument("config [server] cors_origins must be strings");
        config.cors_origins.push_back(*value);
      }
    }
    CDP_RETURN_IF_ERROR(positive(config.http_threads, "[server] http_threads"));
  }
  if (const auto* storage = root["storage"].as_table()) {
    CDP_RETURN_IF_ERROR(check_keys(
        *storage, "storage",
        {"data", "sync", "dedup_window_hours", "retention_days", "min_free_mb", "max_queue_mb",
         "background_write_mb_per_s"}));
    CDP_RETURN_IF_ERROR(read<std::string>(*storage, "storage", "data", config.data_dir));
    CDP_RETURN_IF_ERROR(read<bool>(*storage, "storage", "sync", config.sync));
    CDP_RETURN_IF_ERROR(
        read<int64_t>(*storage, "storage", "dedup_window_hours", config.dedup_window_hours));
    CDP_RETURN_IF_ERROR(
        read<int64_t>(*storage, "storage", "retention_days", config.retention_days));
    int64_t min_free_mb = static_cast<int64_t>(config.min_free_mb);
    CDP_RETURN_IF_ERROR(read<int64_t>(*storage, "storage", "min_free_mb", min_free_mb));
    if (min_free_mb < 0)
      return Status::invalid_argument("config [storage] min_free_mb must be 0 or more");
    config.min_free_mb = static_cast<uint64_t>(min_free_mb);
    CDP_RETURN_IF_ERROR(read<int64_t>(*storage, "storage", "max_queue_mb", config.max_queue_mb));
    CDP_RETURN_IF_ERROR(read<int64_t>(*storage, "storage", "background_write_mb_per_s",
                                      config.background_write_mb_per_s));
    if (config.background_write_mb_per_s < 0) {
      return Status::invalid_argument(
          "config [storage] background_write_mb_per_s must be 0 (no cap) or more");
    }
    CDP_RETURN_IF_ERROR(positive(config.dedup_window_hours, "[storage] dedup_window_hours"));
    CDP_RETURN_IF_ERROR(
        positive(static_cast<int64_t>(config.max_queue_mb), "[storage] max_queue_mb"));
    if (config.retention_days < 0) {
      return Status::invalid_argument(
          "config [storage] retention_days must be 0 (keep forever) or more");
    }
  }
  if (const auto* limits = root["limits"].as_table()) {
    CDP_RETURN_IF_ERROR(
        check_keys(*limits, "limits", {"max_event_kb", "max_body_kb", "max_batch_events"}));
    int64_t event_kb = static_cast<int64_t>(config.limits.max_event_bytes / 1024);
    int64_t body_kb = static_cast<int64_t>(config.limits.max_body_bytes / 1024);
    int64_t batch = static_cast<int64_t>(config.limits.max_batch_events);
    CDP_RETURN_IF_ERROR(read<int64_t>(*limits, "limits", "max_event_kb", event_kb));
    CDP_RETURN_IF_ERROR(read<int64_t>(*limits, "limits", "max_body_kb", body_kb));
    CDP_RETURN_IF_ERROR(read<int64_t>(*limits, "limits", "max_batch_events", batch));
    CDP_RETURN_IF_ERROR(positive(event_kb, "[limits] max_event_kb"));
    CDP_RETURN_IF_ERROR(positive(body_kb, "[limits] max_body_kb"));
    CDP_RETURN_IF_ERROR(positive(batch, "[limits] max_batch_events"));
    config.limits.max_event_bytes = static_cast<size_t>(event_kb) * 1024;
    config.limits.max_body_bytes = static_cast<size_t>(body_kb) * 1024;
    config.limits.max_batch_events = static_cast<size_t>(batch);
  }
  if (const auto* log = root["log"].as_table()) {
    CDP_RETURN_IF_ERROR(check_keys(*log, "log", {"level"}));
    CDP_RETURN_IF_ERROR(read<std::string>(*log, "log", "level", config.log_level));
  }
  if (const auto* sources = root["sources"].as_array()) {
    for (const auto& node : *sources) {
      const auto* table = node.as_table();
      if (table == nullptr)
        return Status::invalid_argument("config [[sources]] entries must be tables");
      CDP_RETURN_IF_ERROR(check_keys(*table, "sources", {"name", "write_key", "enabled"}));
      ingest::Source source;
      CDP_RETURN_IF_ERROR(read<std::string>(*table, "sources", "name", source.name));
      CDP_RETURN_IF_ERROR(read<std::string>(*table, "sources", "write_key", source.write_key));
      CDP_RETURN_IF_ERROR(read<bool>(*table, "sources", "enabled", source.enabled));
      config.sources.push_back(std::move(source));
    }
  }
  return config;
}

}  // namespace cdp::server
