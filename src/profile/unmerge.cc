// ProfileBuilder's identity commands: unmerge and re-allow (docs/identity.md, "Unmerge").
//
// An unmerge is an entry of the raw log, so it takes effect at one place in the log's order and a
// replay of the log repeats it exactly. Applying it:
//   1. works out the two sides to keep apart (the identifier removed, or the identifiers a merged
//      profile brought, against the rest of the profile) and activates that block;
//   2. deletes the profile (and the profiles merged into it): records, timeline, edges,
//      memberships, and unlinks its identifiers;
//   3. re-applies the profile's events in log order. Under the block they resolve into separate
//      profiles, taking back the old ids oldest first, so events, traits and identifiers end up
//      where they belong; edges are recorded anew, plus an `unmerge` edge on each result.
#include <algorithm>
#include <charconv>
#include <memory>
#include <set>

#include "common/log.h"
#include "profile/internal/json_text.h"
#include "profile/profile_builder.h"
#include "storage/big_endian.h"

namespace cdp::profile {
namespace {

using identity::Identifier;

// Every key under `prefix` in `family`.
Result<std::vector<std::string>> keys_with_prefix(storage::Database& database,
                                                  rocksdb::ColumnFamilyHandle* family,
                                                  const std::string& prefix) {
  std::vector<std::string> keys;
  std::unique_ptr<rocksdb::Iterator> it(database.db().NewIterator(rocksdb::ReadOptions(), family));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    keys.push_back(it->key().ToString());
  }
  if (!it->status().ok()) return storage::from_rocksdb(it->status(), "scanning profile state");
  return keys;
}

// The edges filed under `profile`, with their keys.
Result<std::vector<std::pair<std::string, Edge>>> edges_of(storage::Database& database,
                                                           ProfileId profile) {
  std::vector<std::pair<std::string, Edge>> edges;
  const auto prefix = storage::u64_be(profile);
  std::unique_ptr<rocksdb::Iterator> it(
      database.db().NewIterator(rocksdb::ReadOptions(), database.identity_edges()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto edge = decode_edge(it->value().ToStringView());
    if (!edge) return edge.status();
    edges.emplace_back(it->key().ToString(), std::move(*edge));
  }
  if (!it->status().ok()) return storage::from_rocksdb(it->status(), "reading identity edges");
  return edges;
}

// The identifiers profile `merged` brought into the profile it was merged into: those linked to
// it, or to a profile merged into it before, found through their edges.
Result<std::set<Identifier>> brought_by(storage::Database& database, ProfileId merged) {
  std::set<Identifier> identifiers;
  std::vector<ProfileId> pending{merged};
  std::set<ProfileId> seen;
  while (!pending.empty()) {
    const auto id = pending.back();
    pending.pop_back();
    if (!seen.insert(id).second) continue;
    auto edges = edges_of(database, id);
    if (!edges) return edges.status();
    for (const auto& [key, edge] : *edges) {
      if ((edge.kind == EdgeKind::kMerge || edge.kind == EdgeKind::kProbabilistic) &&
          edge.other_profile != 0) {
        pending.push_back(edge.other_profile);
      }
      if (edge.kind != EdgeKind::kLink) continue;
      for (const auto& text : edge.identifiers) {
        if (auto identifier = identity::parse_identifier(text)) identifiers.insert(*identifier);
      }
    }
  }
  return identifiers;
}

}  // namespace

Result<ApplyOutcome> ProfileBuilder::apply_command(const storage::RawLogRecord& record,
                                                   StateTransaction& txn) {
  auto root = parser_.parse(record.event_json);
  if (!root || !(*root)->is_object()) return ApplyOutcome{};
  const auto type = text_of((*root)->find("type"));
  if (type == "unmerge") return unmerge(record, **root, txn);
  if (type == "reallow") return reallow(record, **root, txn);
  if (type == "tick") return apply_tick(record, txn);
  if (type.starts_with("define_") || type.starts_with("delete_")) {
    return apply_definition(record, **root, txn);
  }
  // Written by a newer version: skipping keeps this one running; the log still has it.
  log::warn("unknown_identity_command",
            {{"seq", std::to_string(record.seq)}, {"type", type.substr(0, 64)}});
  return ApplyOutcome{};
}

Result<ApplyOutcome> ProfileBuilder::unmerge(const storage::RawLogRecord& record,
                                             const ingest::JsonValue& command,
                                             StateTransaction& txn) {
  auto& database = txn.database();
  UnmergeRecord result;
  result.block.id = record.seq;
  result.time_ms = record.received_at_ms;
  result.identifier = text_of(command.find("identifier"));
  const auto profile_text = text_of(command.find("profile"));
  const auto merged_text = text_of(command.find("merged"));
  // `command` lives in parser_, which re-applying events reuses: take everything now.
  const auto message_id = text_of(command.find("messageId"));
  // The HTTP handler checked all of this; the state may have changed before the entry applied.
  auto refuse = [&](std::string why) -> Result<ApplyOutcome> {
    result.message = std::move(why);
    txn.batch().Put(database.meta(), unmerge_key(record.seq), encode_unmerge(result));
    return ApplyOutcome{};
  };
  // The profile is found by an identifier it holds, not by its id: a replay under other rules
  // numbers profiles differently, and must split the same people or refuse.
  const auto anchor_text =
      !result.identifier.empty() ? result.identifier : text_of(command.find("anchor"));
  const auto merged_anchor_text = text_of(command.find("merged_anchor"));
  ProfileId live = 0;
  if (auto anchor = identity::parse_identifier(anchor_text)) {
    live = txn.holder(*anchor).value_or(0);
    CDP_RETURN_IF_ERROR(txn.status());
    if (live == 0) return refuse("no profile holds " + anchor_text);
  } else if (const auto requested = parse_profile_id(profile_text)) {
    live = txn.live(*requested);  // a command without an anchor
    if (live == 0) return refuse("no profile " + profile_text);
  } else {
    return refuse("the command names no profile");
  }
  result.profile = live;
  const Profile profile = txn.profile(live);  // a copy: the record is erased below
  CDP_RETURN_IF_ERROR(txn.status());

  // 1. The sides.
  auto& [removed, rest] = result.block.sides;
  if (!merged_text.empty()) {
    const auto merged = parse_profile_id(merged_text);
    if (!merged || std::find(profile.merged_from.begin(), profile.merged_from.end(), *merged) ==
                       profile.merged_from.end()) {
      return refuse(merged_text + " was not merged into " + profile_id_text(live));
    }
    result.merged = *merged;
    auto brought = brought_by(database, *merged);
    if (!brought) return brought.status();
    if (auto anchor = identity::parse_identifier(merged_anchor_text);
        anchor && brought->count(*anchor) == 0) {
      return refuse(merged_text + " did not bring " + merged_anchor_text + " into " +
                    profile_id_text(live) + " (the profiles were rebuilt under other rules)");
    }
    for (const auto& held : profile.identifiers) {
      (brought->count(held.identifier) > 0 ? removed : rest).push_back(held.identifier);
    }
  } else {
    auto identifier = identity::parse_identifier(result.identifier);
    if (!identifier) return refuse(identifier.status().message());
    for (const auto& held : profile.identifiers) {
      (held.identifier == *identifier ? removed : rest).push_back(held.identifier);
    }
    if (removed.empty()) {
      return refuse(profile_id_text(live) + " does not hold " + result.identifier);
    }
  }
  if (removed.empty() || rest.empty()) {
    return refuse("nothing to split: every identifier of " + profile_id_text(live) +
                  " is on one side");
  }

  // The events to re-apply; all of them must still be in the log.
  std::vector<ProfileId> members = profile.merged_from;
  members.push_back(live);
  std::vector<storage::RawLogRecord> events;
  std::vector<std::string> timeline_keys;
  for (const auto member : members) {
    auto keys = keys_with_prefix(database, database.profile_events(), timeline_prefix(member));
    if (!keys) return keys.status();
    for (auto& key : *keys) {
      const auto decoded = decode_timeline_key(key);
      if (!decoded) {
        return Status::corruption("a timeline key of " + profile_id_text(member) + " is malformed");
      }
      std::string value;
      auto& log = txn.log_database();
      auto status = log.db().Get(rocksdb::ReadOptions(), log.raw_log(),
                                 storage::u64_be(decoded->seq), &value);
      if (status.IsNotFound()) {
        return refuse("event " + std::to_string(decoded->seq) + " of " + profile_id_text(live) +
                      " is no longer in the raw log (retention); a profile can be split only "
                      "while all of its events are kept");
      }
      if (!status.ok()) return storage::from_rocksdb(status, "reading the raw log");
      auto event = storage::RawLogRecord::decode(decoded->seq, value);
      if (!event) {
        return Status::corruption("raw log record " + std::to_string(decoded->seq) + " of " +
                                  profile_id_text(member) + " is unreadable");
      }
      events.push_back(std::move(*event));
      timeline_keys.push_back(std::move(key));
    }
  }
  // Probabilistic links that merged (or were refused on) these profiles are re-applied with the
  // events, in log order: they are not timeline entries, and without them an unmerge of one
  // identifier would also undo every probabilistic merge of the profile.
  std::set<uint64_t> seqs;
  for (const auto& event : events) seqs.insert(event.seq);
  for (const auto member : members) {
    auto edges = edges_of(database, member);
    if (!edges) return edges.status();
    for (const auto& [key, edge] : *edges) {
      if (edge.kind != EdgeKind::kProbabilistic && edge.kind != EdgeKind::kDrop) continue;
      if (!seqs.insert(edge.seq).second) continue;
      std::string value;
      auto& log = txn.log_database();
      auto status =
          log.db().Get(rocksdb::ReadOptions(), log.raw_log(), storage::u64_be(edge.seq), &value);
      if (status.IsNotFound()) continue;  // retention: the link's merge is undone with the rest
      if (!status.ok()) return storage::from_rocksdb(status, "reading the raw log");
      auto link = storage::RawLogRecord::decode(edge.seq, value);
      if (!link) {
        return Status::corruption("raw log record " + std::to_string(edge.seq) + " of " +
                                  profile_id_text(member) + " is unreadable");
      }
      if (link->source == storage::kMatchSource) events.push_back(std::move(*link));
    }
  }
  if (events.size() > kMaxUnmergeEvents) {
    return refuse(profile_id_text(live) + " has " + std::to_string(events.size()) +
                  " events; an unmerge re-applies at most " + std::to_string(kMaxUnmergeEvents));
  }
  std::sort(events.begin(), events.end(),
            [](const auto& a, const auto& b) { return a.seq < b.seq; });

  // 2. Forget the profile. Re-applied events write their keys again after these deletes, in the
  // same batch, so what they rebuild stays.
  for (const auto& key : timeline_keys) txn.batch().Delete(database.profile_events(), key);
  for (const auto member : members) {
    // Links, merges and refusals are made again by the re-applied events; quarantine and earlier
    // unmerge edges are history that re-applying does not repeat.
    auto edges = edges_of(database, member);
    if (!edges) return edges.status();
    for (const auto& [key, edge] : *edges) {
      if (edge.kind == EdgeKind::kQuarantine || edge.kind == EdgeKind::kUnmerge) continue;
      txn.batch().Delete(database.identity_edges(), key);
    }
    for (const auto& group : profile.groups) {
      txn.batch().Delete(database.accounts(), membership_key(group, member));
    }
    if (member == live) leave_audiences(txn.profile(live), "unmerge", record.received_at_ms, txn);
    txn.erase_profile(member);
  }
  // Quarantined identifiers take part while the events are re-applied, as they did when those
  // events first arrived (later events that carried them reached no profile through them), and
  // are quarantined again afterwards.
  std::vector<Identifier> quarantined;
  for (const auto& held : profile.identifiers) {
    if (auto* identifier = txn.identifier(held.identifier)) {
      identifier->profile = 0;
      if (identifier->quarantined) quarantined.push_back(held.identifier);
      identifier->quarantined = false;
    }
  }
  result.applied = true;
  result.active = true;
  txn.add_block(result.block);

  // 3. Re-apply, reusing the old ids oldest first.
  reuse_ids_ = members;
  std::sort(reuse_ids_.begin(), reuse_ids_.end(), std::greater<>());
  std::set<ProfileId> targets;
  replaying_ = true;  // conflicts were counted when the events first arrived
  for (const auto& event : events) {
    auto outcome =
        event.source == storage::kMatchSource ? apply_link(event, txn) : apply_event(event, txn);
    if (!outcome) {
      replaying_ = false;
      return outcome.status();
    }
    if (outcome->profile != 0) targets.insert(outcome->profile);
  }
  replaying_ = false;
  reuse_ids_.clear();
  for (const auto& identifier : quarantined) {
    auto* stored = txn.identifier(identifier);
    if (stored == nullptr) continue;
    stored->quarantined = true;
    if (const auto holder = txn.holder(identifier)) {
      txn.batch().Put(database.meta(), "quarantine/" + identifier.key(), profile_id_text(*holder));
    }
  }
  std::set<ProfileId> live_targets;
  for (const auto target : targets) live_targets.insert(txn.live(target));
  result.profiles.assign(live_targets.begin(), live_targets.end());
  // The parts join their audiences as of now (re-applied events did not record changes).
  if (!audience_.definitions().empty_of_work()) {
    for (const auto target : result.profiles) {
      refresh_audiences(txn.profile(target), "unmerge", record.received_at_ms, true, txn);
    }
  }

  const std::string what =
      result.merged != 0 ? profile_id_text(result.merged) + " split from " + profile_id_text(live)
                         : result.identifier + " removed from " + profile_id_text(live);
  std::vector<std::string> removed_text;
  for (const auto& identifier : removed) removed_text.push_back(identifier.display());
  for (const auto target : result.profiles) {
    Edge edge{
        EdgeKind::kUnmerge, record.seq,        message_id, record.received_at_ms, target, live,
        removed_text,       "unmerge: " + what};
    txn.batch().Put(database.identity_edges(), edge_key(target, record.seq, 0), encode_edge(edge));
  }
  txn.batch().Put(database.meta(), unmerge_key(record.seq), encode_unmerge(result));
  CDP_RETURN_IF_ERROR(txn.status());
  ApplyOutcome outcome;
  outcome.profile = result.profiles.empty() ? 0 : result.profiles.front();
  return outcome;
}

Result<ApplyOutcome> ProfileBuilder::reallow(const storage::RawLogRecord& record,
                                             const ingest::JsonValue& command,
                                             StateTransaction& txn) {
  auto& database = txn.database();
  const auto* seq = command.find("unmerge");
  uint64_t id = 0;
  if (seq != nullptr && seq->kind == ingest::JsonKind::kNumber) {
    std::from_chars(seq->text.data(), seq->text.data() + seq->text.size(), id);
  }
  auto stored = database.get_meta(unmerge_key(id));
  if (!stored) return stored.status();
  if (!stored->has_value()) return ApplyOutcome{};  // the handler refused it already
  auto unmerge = decode_unmerge(**stored);
  if (!unmerge) return unmerge.status();
  if (!unmerge->active) return ApplyOutcome{};
  unmerge->active = false;
  unmerge->reallowed_seq = record.seq;
  txn.remove_block(id);
  txn.batch().Put(database.meta(), unmerge_key(id), encode_unmerge(*unmerge));
  return ApplyOutcome{};
}

}  // namespace cdp::profile
