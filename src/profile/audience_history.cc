#include "profile/audience_history.h"

#include <algorithm>
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

// Whether `condition` compares a property that `entry` left out.
bool reads_left_out(const audience::Condition& condition, const TimelineValue& entry) {
  if (condition.kind == audience::Condition::Kind::kCompare &&
      condition.operand.scope == audience::Operand::Scope::kProperty &&
      (condition.operand.path.empty() || entry.left_out_property(condition.operand.path[0]))) {
    return true;
  }
  return std::any_of(condition.children.begin(), condition.children.end(),
                     [&](const auto& child) { return reads_left_out(child, entry); });
}

bool reads_left_out(const std::vector<audience::Condition>& filter, const TimelineValue& entry) {
  return std::any_of(filter.begin(), filter.end(),
                     [&](const auto& condition) { return reads_left_out(condition, entry); });
}

// Whether the track event of timeline entry `entry` can feed `key`; if so, whether the key reads
// its properties, and whether it reads a property that the entry left out (then the event is
// read from the raw log).
struct Feeding {
  bool feeds = false;
  bool reads_properties = false;
  bool reads_left_out = false;
};
Feeding feeds(const audience::Definitions& definitions, const std::string& key,
              const TimelineValue& entry) {
  Feeding result;
  const bool left_out = !entry.left_out.empty();
  if (const auto it = definitions.aggregates().find(key); it != definitions.aggregates().end()) {
    const auto& spec = it->second.spec();
    if (spec.event.empty() || spec.event == entry.event) {
      result.feeds = true;
      result.reads_properties = it->second.reads_properties();
      result.reads_left_out =
          left_out && (reads_left_out(spec.filter, entry) ||
                       (!spec.property.empty() && entry.left_out_property(spec.property[0])));
    }
  } else if (const auto funnel = definitions.funnels().find(key);
             funnel != definitions.funnels().end()) {
    if (funnel->second.has_step(entry.event)) {
      result.feeds = true;
      result.reads_properties = funnel->second.reads_properties();
      for (const auto& step : funnel->second.steps()) {
        result.reads_left_out |= left_out && reads_left_out(step.filter, entry);
      }
    }
  }
  return result;
}

// The same for any of `keys`.
Feeding feeds(const audience::Definitions& definitions,
              const std::set<std::string, std::less<>>& keys, const TimelineValue& entry) {
  Feeding result;
  for (const auto& key : keys) {
    const auto one = feeds(definitions, key, entry);
    result.feeds |= one.feeds;
    result.reads_properties |= one.reads_properties;
    result.reads_left_out |= one.reads_left_out;
  }
  return result;
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

HistoryReader::HistoryReader(storage::Database& database, storage::Database& log,
                             rocksdb::ReadOptions read)
    : database_(database), log_(log), read_(std::move(read)), log_read_(read_) {
  // A pass reads events scattered over the whole log, each block rarely twice: kept in the
  // block cache, they would push out the blocks that the pass's next candidates share and
  // those that the processor and the Profile API read meanwhile.
  log_read_.fill_cache = false;
}

Status HistoryReader::add(const audience::Engine& engine, Profile& profile,
                          const std::set<std::string, std::less<>>& keys) {
  if (keys.empty()) return Status::ok();
  // What an event that retention removed from the raw log still feeds: the keys that need only
  // its name and time, as they would if no other key read its properties.
  std::set<std::string, std::less<>> timeline_keys;
  for (const auto& key : keys) {
    const auto aggregate = engine.definitions().aggregates().find(key);
    const auto funnel = engine.definitions().funnels().find(key);
    if (aggregate != engine.definitions().aggregates().end()
            ? !aggregate->second.reads_properties()
            : funnel != engine.definitions().funnels().end() &&
                  !funnel->second.reads_properties()) {
      timeline_keys.insert(key);
    }
  }
  // Replacing, not adding: a definition applied again after a crash counts each event once.
  for (const auto& key : keys) {
    profile.audience.aggregates.erase(key);
    profile.audience.funnels.erase(key);
  }
  std::vector<ProfileId> ids = profile.merged_from;
  ids.push_back(profile.id);
  if (timeline_ == nullptr) {
    timeline_.reset(database_.db().NewIterator(read_, database_.profile_events()));
  }
  auto& timeline = timeline_;
  // An error return leaves the iterator inside a timeline, where the stepping below must not
  // start: the next call seeks with a new one.
  struct DropOnError {
    std::unique_ptr<rocksdb::Iterator>& iterator;
    bool finished = false;
    ~DropOnError() {
      if (!finished) iterator.reset();
    }
  } drop_on_error{timeline_};
  for (const auto id : ids) {
    const auto prefix = timeline_prefix(id);
    // Passes read profiles in id order, and most timelines are a few entries long: the next
    // one is usually a few steps ahead, which cost less than a seek. The iterator is always at
    // the start of a timeline (or of what follows one), so without steps it is at this one's
    // start only if its key has the prefix; with steps, at the first key not before it.
    bool stepped = false;
    for (int steps = 0; steps < 8 && timeline->Valid() && timeline->key().compare(prefix) < 0;
         ++steps) {
      timeline->Next();
      stepped = true;
    }
    if (!timeline->Valid() || timeline->key().compare(prefix) < 0 ||
        (!stepped && !timeline->key().starts_with(prefix))) {
      timeline->Seek(prefix);
    }
    for (; timeline->Valid() && timeline->key().starts_with(prefix); timeline->Next()) {
      // Most entries are skipped by their type and name alone.
      const auto value = decode_timeline_value(timeline->value().ToStringView());
      if (!value) return Status::corruption("a timeline entry is malformed");
      if (value->type != "track") continue;
      const auto feeding = feeds(engine.definitions(), keys, *value);
      if (!feeding.feeds) continue;
      const auto entry = decode_timeline_key(timeline->key().ToStringView());
      if (!entry) return Status::corruption("a timeline key is malformed");
      const auto add = [&](const std::set<std::string, std::less<>>& fed,
                           const ingest::JsonValue* properties) {
        engine.add_history(profile.audience, fed,
                           {"track", value->event,
                            properties != nullptr && properties->is_object() ? properties : nullptr,
                            entry->timestamp_ms, entry->seq});
      };
      if (!feeding.reads_properties) {
        add(keys, nullptr);
        continue;
      }
      // The properties kept beside the entry, to the keys in `fed`.
      const auto add_kept = [&](const std::set<std::string, std::less<>>& fed) -> Status {
        if (value->properties.empty()) {
          add(fed, nullptr);
          return Status::ok();
        }
        auto properties = parser_.parse(value->properties);
        if (!properties) return Status::corruption("a timeline entry's properties are malformed");
        add(fed, *properties);
        return Status::ok();
      };
      if (value->has_properties && !feeding.reads_left_out) {
        CDP_RETURN_IF_ERROR(add_kept(keys));
        continue;
      }
      std::string raw;
      auto status = log_.db().Get(log_read_, log_.raw_log(), storage::u64_be(entry->seq), &raw);
      if (status.IsNotFound()) {  // retention removed it
        if (!value->has_properties) {
          add(timeline_keys, nullptr);
          continue;
        }
        // What the entry kept still feeds the keys that read nothing it left out.
        std::set<std::string, std::less<>> fed;
        for (const auto& key : keys) {
          if (!feeds(engine.definitions(), key, *value).reads_left_out) fed.insert(key);
        }
        CDP_RETURN_IF_ERROR(add_kept(fed));
        continue;
      }
      if (!status.ok()) return storage::from_rocksdb(status, "reading the raw log");
      auto event = storage::RawLogRecord::decode(entry->seq, raw);
      if (!event) continue;
      // Only its properties: the rest of the event (context, traits) is skipped, not built.
      auto properties = parser_.parse_member(event->event_json, "properties");
      if (!properties) continue;
      add(keys, *properties);
    }
    if (!timeline->status().ok()) {
      return storage::from_rocksdb(timeline->status(), "reading a timeline");
    }
  }
  drop_on_error.finished = true;
  return Status::ok();
}

}  // namespace cdp::profile
