#include "profile/audience_history.h"

#include <memory>

#include "profile/state_records.h"
#include "storage/big_endian.h"
#include "storage/raw_log_record.h"

namespace cdp::profile {
namespace {

std::set<std::string, std::less<>> keys_of(const audience::Definitions& definitions) {
  std::set<std::string, std::less<>> keys;
  for (const auto& [key, aggregate] : definitions.aggregates()) keys.insert(key);
  for (const auto& [key, funnel] : definitions.funnels()) keys.insert(key);
  return keys;
}

// Whether a track event named `name` can feed any of `keys` (filters need the event itself).
bool feeds(const audience::Definitions& definitions, const std::set<std::string, std::less<>>& keys,
           std::string_view name) {
  for (const auto& key : keys) {
    if (const auto it = definitions.aggregates().find(key); it != definitions.aggregates().end()) {
      if (it->second.spec().event.empty() || it->second.spec().event == name) return true;
    } else if (const auto funnel = definitions.funnels().find(key);
               funnel != definitions.funnels().end()) {
      if (funnel->second.has_step(name)) return true;
    }
  }
  return false;
}

}  // namespace

std::set<std::string, std::less<>> keys_added(const audience::Definitions& before,
                                              const audience::Definitions& after) {
  const auto old_keys = keys_of(before);
  std::set<std::string, std::less<>> added;
  for (const auto& key : keys_of(after)) {
    if (old_keys.count(key) == 0) added.insert(key);
  }
  return added;
}

Status add_history(storage::Database& database, storage::Database& log,
                   const audience::Engine& engine, Profile& profile,
                   const std::set<std::string, std::less<>>& keys, ingest::JsonParser& parser) {
  if (keys.empty()) return Status::ok();
  // Replacing, not adding: a definition applied again after a crash counts each event once.
  for (const auto& key : keys) {
    profile.audience.aggregates.erase(key);
    profile.audience.funnels.erase(key);
  }
  std::vector<ProfileId> ids = profile.merged_from;
  ids.push_back(profile.id);
  for (const auto id : ids) {
    std::unique_ptr<rocksdb::Iterator> timeline(
        database.db().NewIterator(rocksdb::ReadOptions(), database.profile_events()));
    const auto prefix = timeline_prefix(id);
    for (timeline->Seek(prefix); timeline->Valid() && timeline->key().starts_with(prefix);
         timeline->Next()) {
      // The entry's value is "type\0event name": most events are skipped without the raw log.
      const auto value = timeline->value().ToStringView();
      const auto split = value.find('\0');
      if (value.substr(0, split) != "track") continue;
      const auto name =
          split == std::string_view::npos ? std::string_view() : value.substr(split + 1);
      if (!feeds(engine.definitions(), keys, name)) continue;
      const auto entry = decode_timeline_key(timeline->key().ToStringView());
      if (!entry) return Status::corruption("a timeline key is malformed");
      std::string raw;
      auto status =
          log.db().Get(rocksdb::ReadOptions(), log.raw_log(), storage::u64_be(entry->seq), &raw);
      if (status.IsNotFound()) continue;  // retention: history starts later
      if (!status.ok()) return storage::from_rocksdb(status, "reading the raw log");
      auto event = storage::RawLogRecord::decode(entry->seq, raw);
      if (!event) continue;
      auto root = parser.parse(event->event_json);
      if (!root || !(*root)->is_object()) continue;
      const auto* properties = (*root)->find("properties");
      engine.add_history(
          profile.audience, keys,
          {"track", name, properties != nullptr && properties->is_object() ? properties : nullptr,
           entry->timestamp_ms, entry->seq});
    }
    if (!timeline->status().ok()) {
      return storage::from_rocksdb(timeline->status(), "reading a timeline");
    }
  }
  return Status::ok();
}

}  // namespace cdp::profile
