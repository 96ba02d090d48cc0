#include "ingest/source_registry.h"

#include <algorithm>
#include <mutex>

#include "common/json_writer.h"
#include "common/uuid.h"
#include "ingest/json_tree.h"

namespace cdp::ingest {
namespace {

constexpr std::string_view kPrefix = "source/";

std::string encode(const Source& source) {
  JsonWriter out;
  out.begin_object();
  out.key("name").string(source.name);
  out.key("writeKey").string(source.write_key);
  out.key("enabled").boolean(source.enabled);
  out.end_object();
  return out.take();
}

Result<Source> decode(std::string_view stored) {
  JsonParser parser;
  auto root = parser.parse(stored);
  if (!root) return root.status();
  const JsonValue* name = (*root)->find("name");
  const JsonValue* key = (*root)->find("writeKey");
  const JsonValue* enabled = (*root)->find("enabled");
  if (name == nullptr || !name->is_string() || key == nullptr || !key->is_string() ||
      enabled == nullptr || enabled->kind != JsonKind::kBool) {
    return Status::corruption("stored source is malformed: " + std::string(stored));
  }
  return Source{std::string(name->text), std::string(key->text), enabled->boolean, false};
}

}  // namespace

Status SourceRegistry::validate_name(std::string_view name) {
  const bool valid =
      !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
      });
  if (valid) return Status::ok();
  return Status::invalid_argument("source name \"" + std::string(name.substr(0, 80)) +
                                  "\" is invalid: use 1-64 characters from a-z, 0-9, '_' and '-'");
}

Result<std::unique_ptr<SourceRegistry>> SourceRegistry::open(storage::Database& database,
                                                             std::vector<Source> configured) {
  std::unique_ptr<SourceRegistry> registry(new SourceRegistry(database));
  auto stored = database.scan_meta(std::string(kPrefix));
  if (!stored) return stored.status();
  for (const auto& [key, value] : *stored) {
    auto source = decode(value);
    if (!source) return source.status();
    registry->index(*source);
  }
  for (auto& source : configured) {
    CDP_RETURN_IF_ERROR(validate_name(source.name));
    if (source.write_key.empty()) {
      return Status::invalid_argument("source \"" + source.name +
                                      "\" in the config has no write_key");
    }
    source.from_config = true;
    if (auto it = registry->name_by_key_.find(source.write_key);
        it != registry->name_by_key_.end() && it->second != source.name) {
      return Status::invalid_argument("sources \"" + it->second + "\" and \"" + source.name +
                                      "\" share a write key; each source needs its own");
    }
    registry->index(source);
  }
  return registry;
}

void SourceRegistry::index(const Source& source) {
  if (auto it = by_name_.find(source.name); it != by_name_.end()) {
    name_by_key_.erase(it->second.write_key);
  }
  by_name_[source.name] = source;
  name_by_key_[source.write_key] = source.name;
}

Status SourceRegistry::store(const Source& source) {
  return database_.put_meta(std::string(kPrefix) + source.name, encode(source));
}

Result<Source> SourceRegistry::authenticate(std::string_view write_key) const {
  if (write_key.empty()) {
    return Status::permission_denied(
        "no write key: send it as \"writeKey\" in the body or as HTTP Basic auth (the key as user "
        "name)");
  }
  std::shared_lock lock(mutex_);
  auto it = name_by_key_.find(std::string(write_key));
  if (it == name_by_key_.end()) {
    return Status::permission_denied(
        "unknown write key; check the key of your source (`cdp` admin API: GET /admin/v1/sources)");
  }
  const Source& source = by_name_.at(it->second);
  if (!source.enabled) {
    return Status::permission_denied("source \"" + source.name +
                                     "\" is disabled; enable it to ingest");
  }
  return source;
}

std::vector<Source> SourceRegistry::list() const {
  std::shared_lock lock(mutex_);
  std::vector<Source> sources;
  for (const auto& [name, source] : by_name_) sources.push_back(source);
  std::sort(sources.begin(), sources.end(),
            [](const Source& a, const Source& b) { return a.name < b.name; });
  return sources;
}

std::optional<Source> SourceRegistry::find(std::string_view name) const {
  std::shared_lock lock(mutex_);
  auto it = by_name_.find(std::string(name));
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

Result<Source> SourceRegistry::create(std::string name, std::string write_key, bool enabled) {
  CDP_RETURN_IF_ERROR(validate_name(name));
  if (write_key.empty()) write_key = random_token(32);
  std::unique_lock lock(mutex_);
  if (by_name_.count(name) > 0)
    return Status::already_exists("source \"" + name + "\" already exists");
  if (name_by_key_.count(write_key) > 0) {
    return Status::already_exists("that write key is already used by another source");
  }
  Source source{std::move(name), std::move(write_key), enabled, false};
  CDP_RETURN_IF_ERROR(store(source));
  index(source);
  return source;
}

Result<Source> SourceRegistry::update(std::string_view name, std::optional<bool> enabled,
                                      bool rotate_key) {
  std::unique_lock lock(mutex_);
  auto it = by_name_.find(std::string(name));
  if (it == by_name_.end())
    return Status::not_found("no source named \"" + std::string(name) + "\"");
  if (it->second.from_config) {
    return Status::failed_precondition("source \"" + std::string(name) +
                                       "\" is defined in the config file; change it there");
  }
  Source source = it->second;
  if (enabled) source.enabled = *enabled;
  if (rotate_key) source.write_key = random_token(32);
  CDP_RETURN_IF_ERROR(store(source));
  index(source);
  return source;
}

Status SourceRegistry::remove(std::string_view name) {
  std::unique_lock lock(mutex_);
  auto it = by_name_.find(std::string(name));
  if (it == by_name_.end())
    return Status::not_found("no source named \"" + std::string(name) + "\"");
  if (it->second.from_config) {
    return Status::failed_precondition("source \"" + std::string(name) +
                                       "\" is defined in the config file; remove it there");
  }
  CDP_RETURN_IF_ERROR(database_.delete_meta(std::string(kPrefix) + std::string(name)));
  name_by_key_.erase(it->second.write_key);
  by_name_.erase(it);
  return Status::ok();
}

}  // namespace cdp::ingest
