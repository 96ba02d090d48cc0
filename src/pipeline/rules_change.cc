#include "pipeline/rules_change.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>

#include "pipeline/processor.h"
#include "profile/profile_store.h"
#include "profile/state_records.h"
#include "storage/big_endian.h"
#include "storage/raw_log_reader.h"

namespace cdp::pipeline {
namespace {

using profile::ProfileId;

// Every linked identifier of `database` (by index key) with the live profile holding it.
Result<std::unordered_map<std::string, ProfileId>> holders(storage::Database& database) {
  std::unordered_map<std::string, ProfileId> out;
  std::unordered_map<ProfileId, ProfileId> live_of;
  profile::ProfileStore store(database);
  std::unique_ptr<rocksdb::Iterator> it(
      database.db().NewIterator(rocksdb::ReadOptions(), database.identifiers()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto record = profile::decode_identifier_record(it->value().ToStringView());
    if (!record) return record.status();
    if (record->profile == 0) continue;
    auto cached = live_of.find(record->profile);
    if (cached == live_of.end()) {
      auto live = store.live(record->profile);
      if (!live) return live.status();
      cached = live_of.emplace(record->profile, live->has_value() ? (*live)->id : 0).first;
    }
    if (cached->second != 0) out.emplace(it->key().ToString(), cached->second);
  }
  if (!it->status().ok()) return storage::from_rocksdb(it->status(), "reading identifiers");
  return out;
}

// Applies the log (of `log`, else of `state`) to `state` up to `until_seq`.
Status replay(storage::Database& state, storage::Database* log,
              std::shared_ptr<const identity::CompiledRules> rules, const ReplayProgress& progress,
              uint64_t until_seq = UINT64_MAX) {
  Processor::Options options;
  options.log = log;
  options.until_seq = until_seq;
  auto processor = Processor::open(state, std::move(rules), options);
  if (!processor) return processor.status();
  auto bounds = storage::RawLogReader(log != nullptr ? *log : state).bounds();
  if (!bounds) return bounds.status();
  const uint64_t last = std::min(bounds->second, until_seq);
  return (*processor)->process_available([&](const Processor::Stats& stats) {
    if (progress) progress(stats.events_applied, last);
  });
}

std::string display(const std::string& key) {
  auto identifier = identity::identifier_from_key(key);
  return identifier ? identifier->display() : key;
}

// Deletes every key of `family` with one range tombstone.
Status clear(storage::Database& database, rocksdb::ColumnFamilyHandle* family) {
  std::unique_ptr<rocksdb::Iterator> it(database.db().NewIterator(rocksdb::ReadOptions(), family));
  it->SeekToFirst();
  if (!it->Valid()) return storage::from_rocksdb(it->status(), "reading profile state");
  const std::string first = it->key().ToString();
  it->SeekToLast();
  if (!it->Valid()) return storage::from_rocksdb(it->status(), "reading profile state");
  std::string end = it->key().ToString();
  end.push_back('\0');  // the smallest key after the last one
  return storage::from_rocksdb(
      database.db().DeleteRange(rocksdb::WriteOptions(), family, first, end),
      "deleting profile state");
}

}  // namespace

Result<RulesPlan> plan_rules_change(storage::Database& live,
                                    std::shared_ptr<const identity::CompiledRules> rules,
                                    const std::string& scratch_path, const ReplayProgress& progress,
                                    size_t max_examples) {
  if (std::filesystem::exists(scratch_path)) {
    return Status::already_exists("scratch directory '" + scratch_path + "' exists; remove it");
  }
  RulesPlan plan;
  auto stored_rules = live.get_meta(kRulesKey);
  if (!stored_rules) return stored_rules.status();
  // No profiles built yet: nothing was built under other rules.
  plan.rules_changed = stored_rules->has_value() && **stored_rules != rules->fingerprint();
  auto bounds = storage::RawLogReader(live).bounds();
  if (!bounds) return bounds.status();
  plan.first_seq = bounds->first;
  // Compare like with like: the live profiles reflect the log up to the processor's cursor (a
  // running server's processor may be behind the log).
  auto cursor = live.get_meta(kCursorKey);
  if (!cursor) return cursor.status();
  const uint64_t until_seq =
      cursor->has_value() && (*cursor)->size() == 8 ? storage::read_u64_be(**cursor) : 0;

  std::unordered_map<std::string, ProfileId> after;
  {
    storage::Database::Options options;
    options.path = scratch_path;
    auto scratch = storage::Database::open(options);
    if (!scratch) return scratch.status();
    auto replayed = replay(
        **scratch, &live, rules,
        [&](uint64_t applied, uint64_t last) {
          plan.events = applied;
          if (progress) progress(applied, last);
        },
        until_seq);
    auto held = replayed.is_ok() ? holders(**scratch) : Result<decltype(after)>(replayed);
    scratch->reset();
    std::error_code ignored;
    std::filesystem::remove_all(scratch_path, ignored);
    if (!held) return held.status();
    after = std::move(*held);
  }
  auto before = holders(live);
  if (!before) return before.status();

  std::map<ProfileId, std::set<ProfileId>> old_to_new, new_to_old;
  std::set<ProfileId> before_profiles, after_profiles;
  for (const auto& [key, old_profile] : *before) {
    before_profiles.insert(old_profile);
    auto found = after.find(key);
    if (found == after.end()) {
      ++plan.identifiers_unlinked;
      continue;
    }
    old_to_new[old_profile].insert(found->second);
    new_to_old[found->second].insert(old_profile);
  }
  for (const auto& [key, new_profile] : after) {
    after_profiles.insert(new_profile);
    if (before->count(key) == 0) ++plan.identifiers_linked;
  }
  plan.profiles_before = before_profiles.size();
  plan.profiles_after = after_profiles.size();

  // Examples, with (up to 10 of) their identifiers.
  std::map<ProfileId, size_t> merge_example_of, split_example_of;  // new / old id -> example
  for (const auto& [new_profile, olds] : new_to_old) {
    if (olds.size() < 2) continue;
    ++plan.merges;
    if (plan.merge_examples.size() >= max_examples) continue;
    merge_example_of[new_profile] = plan.merge_examples.size();
    plan.merge_examples.push_back({{olds.begin(), olds.end()}, {new_profile}, {}, 0});
  }
  for (const auto& [old_profile, news] : old_to_new) {
    if (news.size() < 2) continue;
    ++plan.splits;
    if (plan.split_examples.size() >= max_examples) continue;
    split_example_of[old_profile] = plan.split_examples.size();
    plan.split_examples.push_back({{old_profile}, {news.begin(), news.end()}, {}, 0});
  }
  auto note = [](RulesPlan::Change& change, const std::string& key) {
    if (change.identifiers.size() < 10) change.identifiers.push_back(display(key));
    ++change.identifier_count;
  };
  for (const auto& [key, new_profile] : after) {
    if (auto it = merge_example_of.find(new_profile); it != merge_example_of.end()) {
      note(plan.merge_examples[it->second], key);
    }
  }
  for (const auto& [key, old_profile] : *before) {
    if (auto it = split_example_of.find(old_profile); it != split_example_of.end()) {
      note(plan.split_examples[it->second], key);
    }
  }
  for (auto* examples : {&plan.merge_examples, &plan.split_examples}) {
    for (auto& change : *examples) std::sort(change.identifiers.begin(), change.identifiers.end());
  }
  return plan;
}

Status rebuild_profiles(storage::Database& database,
                        std::shared_ptr<const identity::CompiledRules> rules,
                        const ReplayProgress& progress, bool allow_trimmed_log) {
  auto bounds = storage::RawLogReader(database).bounds();
  if (!bounds) return bounds.status();
  if (bounds->first > 1 && !allow_trimmed_log) {
    return Status::failed_precondition(
        "the raw log starts at seq " + std::to_string(bounds->first) +
        ": retention deleted the events before it, and a rebuild would remove them from every "
        "profile. Rebuild from what is left only on purpose (--allow-trimmed-log)");
  }
  rocksdb::WriteOptions synced;
  synced.sync = true;
  CDP_RETURN_IF_ERROR(storage::from_rocksdb(
      database.db().Put(synced, database.meta(), kRebuildKey, "1"), "marking the rebuild"));
  for (auto* family : {database.identifiers(), database.profiles(), database.profile_events(),
                       database.identity_edges(), database.accounts(), database.changes()}) {
    CDP_RETURN_IF_ERROR(clear(database, family));
  }
  // Members, history and check times name profile ids, which are assigned anew. Definitions
  // are commands in the log and apply again in order; only when retention removed the start of
  // the log are the stored ones kept (the replay then starts with the latest definitions).
  CDP_RETURN_IF_ERROR(
      storage::from_rocksdb(database.db().DeleteRange(rocksdb::WriteOptions(), database.audiences(),
                                                      bounds->first > 1 ? "e" : "", "\xff\xff"),
                            "clearing audience state"));
  rocksdb::WriteBatch reset;
  for (const std::string& prefix :
       {std::string("quarantine/"), std::string(profile::kUnmergePrefix)}) {
    auto entries = database.scan_meta(prefix);
    if (!entries) return entries.status();
    for (const auto& entry : *entries) reset.Delete(database.meta(), entry.first);
  }
  reset.Delete(database.meta(), kCursorKey);
  reset.Delete(database.meta(), kLastProfileKey);
  reset.Delete(database.meta(), kDefinitionResumeKey);  // a definition half applied starts again
  // Profile ids are assigned anew: the next incremental matching run must see every profile as
  // new (its watermark is a profile id).
  reset.Delete(database.meta(), "matching/watermark");
  reset.Put(database.meta(), kRulesKey, rules->fingerprint());
  reset.Delete(database.meta(), kRebuildKey);
  CDP_RETURN_IF_ERROR(
      storage::from_rocksdb(database.db().Write(synced, &reset), "resetting profile state"));
  return replay(database, nullptr, std::move(rules), progress);
}

}  // namespace cdp::pipeline
