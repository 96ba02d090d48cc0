#include "server/config.h"

#include <toml++/toml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "activation/network_guard.h"
#include "identity/normalizer.h"

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

Result<std::vector<std::string>> read_strings(const toml::table& table, std::string_view section,
                                              std::string_view key) {
  std::vector<std::string> out;
  const auto* array = table.get_as<toml::array>(key);
  if (array == nullptr) {
    if (table.get(key) != nullptr) {
      return Status::invalid_argument("config [" + std::string(section) + "] " + std::string(key) +
                                      " must be a list of strings");
    }
    return out;
  }
  for (const auto& item : *array) {
    auto text = item.value<std::string>();
    if (!text) {
      return Status::invalid_argument("config [" + std::string(section) + "] " + std::string(key) +
                                      " must be a list of strings");
    }
    out.push_back(*text);
  }
  return out;
}

constexpr int64_t kDayMs = 86'400'000;

// A per-type override starts from the default rule: only the keys it gives change.
Status read_type_rule(const toml::table& table, const std::string& section,
                      identity::TypeRule& rule) {
  CDP_RETURN_IF_ERROR(
      check_keys(table, section, {"limit", "window_days", "blocked_values", "blocked_patterns"}));
  int64_t limit = static_cast<int64_t>(rule.limit);
  CDP_RETURN_IF_ERROR(read<int64_t>(table, section, "limit", limit));
  CDP_RETURN_IF_ERROR(positive(limit, "[" + section + "] limit"));
  rule.limit = static_cast<size_t>(limit);
  int64_t window_days = rule.window_ms / kDayMs;
  CDP_RETURN_IF_ERROR(read<int64_t>(table, section, "window_days", window_days));
  if (window_days < 0) {
    return Status::invalid_argument("config [" + section +
                                    "] window_days must be 0 (ever) or more");
  }
  rule.window_ms = window_days * kDayMs;
  if (table.get("blocked_values") != nullptr) {
    auto values = read_strings(table, section, "blocked_values");
    if (!values) return values.status();
    rule.blocked_values = std::move(*values);
  }
  if (table.get("blocked_patterns") != nullptr) {
    auto patterns = read_strings(table, section, "blocked_patterns");
    if (!patterns) return patterns.status();
    rule.blocked_patterns = std::move(*patterns);
  }
  return Status::ok();
}

Status read_identity(const toml::table& table, identity::IdentityRules& rules) {
  CDP_RETURN_IF_ERROR(check_keys(
      table, "identity",
      {"phone_default_region", "priority", "max_identifiers_per_profile", "max_merges_per_profile",
       "quarantine_after_profiles", "quarantine_window_days", "default", "types", "custom"}));
  CDP_RETURN_IF_ERROR(
      read<std::string>(table, "identity", "phone_default_region", rules.phone_default_region));
  if (!identity::is_known_phone_region(rules.phone_default_region)) {
    return Status::invalid_argument("config [identity] phone_default_region \"" +
                                    rules.phone_default_region +
                                    "\" is not a region code such as US, GB or DE");
  }
  if (table.get("priority") != nullptr) {
    auto priority = read_strings(table, "identity", "priority");
    if (!priority) return priority.status();
    rules.priority = std::move(*priority);
  }
  for (auto [key, target] :
       {std::pair{"max_identifiers_per_profile", &rules.max_identifiers_per_profile},
        std::pair{"max_merges_per_profile", &rules.max_merges_per_profile},
        std::pair{"quarantine_after_profiles", &rules.quarantine_after_profiles}}) {
    int64_t value = static_cast<int64_t>(*target);
    CDP_RETURN_IF_ERROR(read<int64_t>(table, "identity", key, value));
    CDP_RETURN_IF_ERROR(positive(value, std::string("[identity] ") + key));
    *target = static_cast<size_t>(value);
  }
  int64_t quarantine_days = rules.quarantine_window_ms / kDayMs;
  CDP_RETURN_IF_ERROR(read<int64_t>(table, "identity", "quarantine_window_days", quarantine_days));
  CDP_RETURN_IF_ERROR(positive(quarantine_days, "[identity] quarantine_window_days"));
  rules.quarantine_window_ms = quarantine_days * kDayMs;
  if (const auto* defaults = table.get_as<toml::table>("default")) {
    CDP_RETURN_IF_ERROR(read_type_rule(*defaults, "identity.default", rules.default_rule));
    // user_id keeps its own limit but follows the new default blocklists.
    auto user_id = rules.default_rule;
    user_id.limit = rules.types.count("user_id") ? rules.types["user_id"].limit : 1;
    rules.types["user_id"] = std::move(user_id);
  }
  if (const auto* types = table.get_as<toml::table>("types")) {
    for (const auto& [name, node] : *types) {
      const std::string type(name.str());
      const auto* rule_table = node.as_table();
      if (rule_table == nullptr || !identity::is_identifier_type(type)) {
        return Status::invalid_argument("config [identity.types." + type +
                                        "] must be a table named after an identifier type "
                                        "(lower-case letters, digits, '_', '.', '-')");
      }
      auto rule = rules.types.count(type) ? rules.types[type] : rules.default_rule;
      CDP_RETURN_IF_ERROR(read_type_rule(*rule_table, "identity.types." + type, rule));
      rules.types[type] = std::move(rule);
    }
  }
  if (const auto* custom = table.get_as<toml::array>("custom")) {
    for (const auto& node : *custom) {
      const auto* entry = node.as_table();
      if (entry == nullptr)
        return Status::invalid_argument("config [[identity.custom]] entries must be tables");
      CDP_RETURN_IF_ERROR(check_keys(*entry, "identity.custom", {"type", "path"}));
      std::string type;
      std::string path;
      CDP_RETURN_IF_ERROR(read<std::string>(*entry, "identity.custom", "type", type));
      CDP_RETURN_IF_ERROR(read<std::string>(*entry, "identity.custom", "path", path));
      if (!identity::is_identifier_type(type)) {
        return Status::invalid_argument("config [[identity.custom]] type \"" + type +
                                        "\" must be lower-case letters, digits, '_', '.' or '-'");
      }
      auto segments = identity::parse_path(path);
      if (!segments)
        return Status::invalid_argument("config [[identity.custom]] " +
                                        segments.status().message());
      rules.custom_identifiers.push_back({type, std::move(*segments)});
    }
  }
  return identity::CompiledRules::compile(rules).status();
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
      check_keys(root, "top level",
                 {"server", "storage", "limits", "log", "identity", "sources", "import", "matching",
                  "audiences", "activation", "destinations"}));
  for (std::string_view section : {"server", "storage", "limits", "log", "identity", "import",
                                   "matching", "audiences", "activation"}) {
    if (root.contains(section) && !root[section].is_table()) {
      return Status::invalid_argument("config " + std::string(section) + " must be a [" +
                                      std::string(section) + "] table");
    }
  }
  if (root.contains("sources") && !root["sources"].is_array()) {
    return Status::invalid_argument("config sources must be [[sources]] tables");
  }
  if (root.contains("destinations") && !root["destinations"].is_array()) {
    return Status::invalid_argument("config destinations must be [[destinations]] tables");
  }

  if (const auto* server = root["server"].as_table()) {
    CDP_RETURN_IF_ERROR(
        check_keys(*server, "server",
                   {"listen", "http_threads", "admin_token", "public_url", "trust_forwarded_for",
                    "cors_origins", "read_token", "console_dir"}));
    CDP_RETURN_IF_ERROR(read<std::string>(*server, "server", "read_token", config.read_token));
    CDP_RETURN_IF_ERROR(read<std::string>(*server, "server", "console_dir", config.console_dir));
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
    CDP_RETURN_IF_ERROR(check_keys(*storage, "storage",
                                   {"data", "sync", "dedup_window_hours", "retention_days",
                                    "min_free_mb", "max_queue_mb", "background_write_mb_per_s"}));
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
  if (const auto* identity = root["identity"].as_table()) {
    CDP_RETURN_IF_ERROR(read_identity(*identity, config.identity));
  }
  if (const auto* import = root["import"].as_table()) {
    CDP_RETURN_IF_ERROR(check_keys(*import, "import", {"max_file_mb", "watch"}));
    CDP_RETURN_IF_ERROR(read<int64_t>(*import, "import", "max_file_mb", config.import_max_file_mb));
    CDP_RETURN_IF_ERROR(positive(config.import_max_file_mb, "[import] max_file_mb"));
    if (import->contains("watch") && !(*import)["watch"].is_array()) {
      return Status::invalid_argument("config import.watch must be [[import.watch]] tables");
    }
    if (const auto* watches = (*import)["watch"].as_array()) {
      for (const auto& node : *watches) {
        const auto* table = node.as_table();
        if (table == nullptr)
          return Status::invalid_argument("config [[import.watch]] entries must be tables");
        CDP_RETURN_IF_ERROR(check_keys(*table, "import.watch", {"dir", "mapping", "poll_seconds"}));
        ImportWatch watch;
        CDP_RETURN_IF_ERROR(read<std::string>(*table, "import.watch", "dir", watch.dir));
        CDP_RETURN_IF_ERROR(read<std::string>(*table, "import.watch", "mapping", watch.mapping));
        CDP_RETURN_IF_ERROR(
            read<double>(*table, "import.watch", "poll_seconds", watch.poll_seconds));
        if (watch.dir.empty() || watch.mapping.empty()) {
          return Status::invalid_argument(
              "config [[import.watch]] needs dir (the folder to watch) and mapping (the "
              "mapping file for what is dropped there)");
        }
        if (!(watch.poll_seconds > 0)) {
          return Status::invalid_argument("config [[import.watch]] poll_seconds must be > 0");
        }
        config.import_watch.push_back(std::move(watch));
      }
    }
  }
  if (const auto* matching = root["matching"].as_table()) {
    CDP_RETURN_IF_ERROR(check_keys(*matching, "matching", {"spec", "model", "after_import"}));
    CDP_RETURN_IF_ERROR(read<std::string>(*matching, "matching", "spec", config.matching_spec));
    CDP_RETURN_IF_ERROR(read<std::string>(*matching, "matching", "model", config.matching_model));
    CDP_RETURN_IF_ERROR(
        read<bool>(*matching, "matching", "after_import", config.matching_after_import));
  }
  if (const auto* audiences = root["audiences"].as_table()) {
    CDP_RETURN_IF_ERROR(check_keys(*audiences, "audiences", {"preview_budget_ms"}));
    CDP_RETURN_IF_ERROR(
        read<int64_t>(*audiences, "audiences", "preview_budget_ms", config.preview_budget_ms));
    if (config.preview_budget_ms < 0 || config.preview_budget_ms > 600'000) {
      return Status::invalid_argument("config [audiences] preview_budget_ms must be 0 to 600000");
    }
  }
  if (const auto* activation = root["activation"].as_table()) {
    CDP_RETURN_IF_ERROR(check_keys(*activation, "activation",
                                   {"allowed_networks", "delivery_history_days", "files_dir"}));
    CDP_RETURN_IF_ERROR(
        read<std::string>(*activation, "activation", "files_dir", config.files_dir));
    auto networks = read_strings(*activation, "activation", "allowed_networks");
    if (!networks) return networks.status();
    for (const auto& network : *networks) {
      if (auto parsed = activation::parse_network(network); !parsed) {
        return Status::invalid_argument("config [activation] allowed_networks: " +
                                        parsed.status().message());
      }
    }
    config.allowed_networks = std::move(*networks);
    CDP_RETURN_IF_ERROR(read<int64_t>(*activation, "activation", "delivery_history_days",
                                      config.delivery_history_days));
    if (config.delivery_history_days < 1 || config.delivery_history_days > 3650) {
      return Status::invalid_argument(
          "config [activation] delivery_history_days must be 1 to 3650");
    }
  }
  if (const auto* destinations = root["destinations"].as_array()) {
    for (const auto& node : *destinations) {
      const auto* table = node.as_table();
      if (table == nullptr) {
        return Status::invalid_argument("config [[destinations]] entries must be tables");
      }
      std::string name;
      CDP_RETURN_IF_ERROR(read<std::string>(*table, "destinations", "name", name));
      // One definition of the fields: the table goes through the admin API's JSON parser.
      std::ostringstream json;
      json << toml::json_formatter(*table);
      auto spec = activation::parse_destination_text(name, json.str());
      if (!spec) {
        return Status::invalid_argument("config [[destinations]] '" + name +
                                        "': " + spec.status().message());
      }
      for (const auto& other : config.destinations) {
        if (other.name == name) {
          return Status::invalid_argument("config [[destinations]] has '" + name + "' twice");
        }
      }
      config.destinations.push_back(std::move(*spec));
    }
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
