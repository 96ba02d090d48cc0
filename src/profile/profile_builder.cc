#include "profile/profile_builder.h"

#include <algorithm>

#include "common/time_format.h"
#include "identity/extractor.h"
#include "profile/audience_index.h"
#include "profile/internal/event_context.h"

namespace cdp::profile {
namespace {

using identity::DropReason;
using identity::Identifier;
using ingest::JsonKind;
using ingest::JsonValue;

std::string scalar_text(const JsonValue* value) {
  if (value == nullptr) return {};
  if (value->kind == JsonKind::kString || value->kind == JsonKind::kNumber) {
    return std::string(value->text);
  }
  return {};
}

const JsonValue* context_traits(const JsonValue& event) {
  const auto* context = event.find("context");
  if (context == nullptr || !context->is_object()) return nullptr;
  const auto* traits = context->find("traits");
  return traits != nullptr && traits->is_object() ? traits : nullptr;
}

bool counts_as_conflict(DropReason reason) {
  return reason == DropReason::kLimit || reason == DropReason::kMaxIdentifiers ||
         reason == DropReason::kMaxMerges;
}

}  // namespace

ProfileBuilder::ProfileBuilder(std::shared_ptr<const identity::CompiledRules> rules,
                               ProfileId last_profile_id)
    : rules_(rules),
      resolver_(rules),
      normalizer_(rules->rules().phone_default_region),
      last_profile_id_(last_profile_id),
      audience_(audience::Definitions::empty()) {}

ProfileId ProfileBuilder::next_profile_id() {
  if (reuse_ids_.empty()) return ++last_profile_id_;
  const auto id = reuse_ids_.back();
  reuse_ids_.pop_back();
  return id;
}

Result<ApplyOutcome> ProfileBuilder::apply(const storage::RawLogRecord& record,
                                           StateTransaction& txn) {
  if (record.seq != change_seq_) {
    change_seq_ = record.seq;
    change_index_ = 0;
  }
  if (record.source == storage::kAdminSource) return apply_command(record, txn);
  if (record.source == storage::kMatchSource) return apply_link(record, txn);
  return apply_event(record, txn);
}

Result<ApplyOutcome> ProfileBuilder::apply_event(const storage::RawLogRecord& record,
                                                 StateTransaction& txn) {
  auto root = parser_.parse(record.event_json);
  if (!root || !(*root)->is_object()) return ApplyOutcome{};
  const JsonValue& event = **root;
  EventContext ctx{record, txn, scalar_text(event.find("messageId")), record.received_at_ms, {},
                   0,      {}};
  if (const auto* timestamp = event.find("timestamp");
      timestamp != nullptr && timestamp->is_string()) {
    if (auto parsed = parse_iso8601_ms(timestamp->text)) ctx.time_ms = *parsed;
  }
  const std::string type = scalar_text(event.find("type"));

  // Identifiers: extract, normalise, resolve.
  auto extracted = identity::extract_identifiers(event, rules_->rules().custom_identifiers);
  std::vector<Identifier> identifiers;
  std::vector<identity::DroppedIdentifier> invalid;
  for (auto& raw : extracted.identifiers) {
    if (auto value = normalizer_.normalize(raw.type, raw.value)) {
      identifiers.push_back({std::move(raw.type), std::move(*value)});
    } else {
      invalid.push_back({std::move(raw), DropReason::kInvalid, "not a usable value", std::nullopt});
    }
  }
  if (extracted.previous_id) {
    // alias: previousId is the user's earlier userId when a profile holds it as one, else the
    // anonymousId the user had before identifying.
    if (auto value = normalizer_.normalize(identity::kUserId, *extracted.previous_id)) {
      Identifier as_user{std::string(identity::kUserId), *value};
      if (txn.holder(as_user)) {
        identifiers.push_back(std::move(as_user));
      } else {
        identifiers.push_back({std::string(identity::kAnonymousId), std::move(*value)});
      }
    }
  }
  auto resolution = resolver_.resolve(std::move(identifiers), ctx.time_ms, txn);
  CDP_RETURN_IF_ERROR(txn.status());
  ctx.outcome.dropped = resolution.dropped.size() + invalid.size();

  ProfileId target = 0;
  if (resolution.create) {
    target = next_profile_id();
    auto& created = txn.create_profile(target);
    created.first_seen_ms = ctx.time_ms;
    created.last_seen_ms = ctx.time_ms;
    ctx.outcome.created = true;
  } else if (resolution.profile) {
    target = *resolution.profile;
  } else {
    return ctx.outcome;  // nothing identifies who sent it
  }
  ctx.outcome.profile = target;
  for (const auto& id : resolution.identifiers) ctx.identifiers.push_back(id.display());

  Profile& survivor = txn.profile(target);
  for (const auto loser : resolution.merged) merge_into(survivor, loser, ctx);

  // Link what is new; the rule names an identifier the profile already had, when there is one.
  std::string matched_by;
  for (const auto& id : resolution.identifiers) {
    if (std::find(resolution.new_identifiers.begin(), resolution.new_identifiers.end(), id) ==
        resolution.new_identifiers.end()) {
      matched_by = id.display();
      break;
    }
  }
  for (const auto& id : resolution.new_identifiers) {
    txn.link_identifier(id, target);
    survivor.identifiers.push_back({id, ctx.time_ms, ctx.time_ms, ctx.message_id});
    ctx.put_edge(
        {EdgeKind::kLink,
         0,
         {},
         0,
         target,
         0,
         {id.display()},
         matched_by.empty() ? "first seen: new profile" : "seen on one event with " + matched_by});
    ++ctx.outcome.linked;
  }
  for (const auto& id : resolution.identifiers) {
    if (auto* held = survivor.find_identifier(id)) {
      held->first_seen_ms = std::min(held->first_seen_ms, ctx.time_ms);
      held->last_seen_ms = std::max(held->last_seen_ms, ctx.time_ms);
    }
  }

  record_refusals(resolution, target, ctx);

  // Materialise.
  bool traits_changed = false;
  std::vector<std::string> changed_traits;
  auto set = [&](const JsonValue& traits) {
    auto changed =
        set_traits(survivor.traits, traits, record.source, ctx.time_ms, ctx.message_id, record.seq);
    for (auto& key : changed) {
      if (std::find(changed_traits.begin(), changed_traits.end(), key) == changed_traits.end()) {
        changed_traits.push_back(std::move(key));
      }
    }
    traits_changed = true;
  };
  if (type == "identify") {
    if (const auto* traits = event.find("traits"); traits != nullptr && traits->is_object()) {
      set(*traits);
    }
  }
  if (const auto* traits = context_traits(event)) set(*traits);
  // While an unmerge re-applies events nothing is recorded, as for audiences.
  if (!changed_traits.empty() && !replaying_) {
    record_trait_changes(survivor, changed_traits, ctx.record.received_at_ms,
                         ctx.message_id.empty() ? std::string("event") : "event " + ctx.message_id,
                         txn);
  }
  if (index_ != nullptr) {
    if (traits_changed) index_traits(*index_, survivor);
    if (type == "track") index_->add_event(target, scalar_text(event.find("event")));
  }
  if (type == "group") {
    const auto group_id = scalar_text(event.find("groupId"));
    if (!group_id.empty()) {
      auto& account = txn.account(group_id);
      account.first_seen_ms = std::min(account.first_seen_ms, ctx.time_ms);
      account.last_seen_ms = std::max(account.last_seen_ms, ctx.time_ms);
      if (const auto* traits = event.find("traits"); traits != nullptr && traits->is_object()) {
        set_traits(account.traits, *traits, record.source, ctx.time_ms, ctx.message_id, record.seq);
      }
      if (std::find(survivor.groups.begin(), survivor.groups.end(), group_id) ==
          survivor.groups.end()) {
        survivor.groups.push_back(group_id);
        txn.batch().Put(txn.database().accounts(), membership_key(group_id, target), "");
      }
    }
  }
  // A track call's entry keeps its properties: a new computed trait or audience then reads the
  // profile's history without a raw log lookup per event.
  const auto name = scalar_text(event.find("event"));
  txn.batch().Put(txn.database().profile_events(), timeline_key(target, ctx.time_ms, record.seq),
                  type == "track" ? encode_track_timeline_value(name, event.find("properties"))
                                  : encode_timeline_value(type, name));
  survivor.first_seen_ms = std::min(survivor.first_seen_ms, ctx.time_ms);
  survivor.last_seen_ms = std::max(survivor.last_seen_ms, ctx.time_ms);
  ++survivor.event_count;
  if (!audience_.definitions().empty_of_work()) {
    update_audiences(survivor, event, type, ctx.outcome.created || ctx.outcome.merged > 0, ctx);
  }
  CDP_RETURN_IF_ERROR(txn.status());
  return ctx.outcome;
}

void ProfileBuilder::record_refusals(const identity::Resolution& resolution, ProfileId target,
                                     EventContext& ctx) {
  // Refusals that kept profiles apart are provenance too; blocked and invalid values are not
  // (they would add an edge to nearly every event of some sources).
  for (const auto& dropped : resolution.dropped) {
    const bool worth_an_edge =
        counts_as_conflict(dropped.reason) ||
        (ctx.explain_every_refusal &&
         (dropped.reason == DropReason::kUnmerged || dropped.reason == DropReason::kQuarantined));
    if (!worth_an_edge) continue;
    // Dropped while retrying, yet on the result anyway through a merged profile: no refusal.
    if (dropped.holder &&
        (*dropped.holder == target || std::find(resolution.merged.begin(), resolution.merged.end(),
                                                *dropped.holder) != resolution.merged.end())) {
      continue;
    }
    ctx.put_edge(
        {EdgeKind::kDrop,
         0,
         {},
         0,
         target,
         dropped.holder.value_or(0),
         {dropped.identifier.display()},
         ctx.refusal_prefix + std::string(drop_reason_name(dropped.reason)) + ": " + dropped.rule});
    if (dropped.holder && ctx.count_conflicts) count_conflict(dropped, target, ctx);
  }
}

void ProfileBuilder::merge_into(Profile& survivor, ProfileId loser_id, EventContext& ctx) {
  auto& txn = ctx.txn;
  Profile& loser = txn.profile(loser_id);
  for (const auto& held : loser.identifiers) {
    if (auto* record = txn.identifier(held.identifier)) record->profile = survivor.id;
    if (auto* existing = survivor.find_identifier(held.identifier)) {
      existing->first_seen_ms = std::min(existing->first_seen_ms, held.first_seen_ms);
      existing->last_seen_ms = std::max(existing->last_seen_ms, held.last_seen_ms);
    } else {
      survivor.identifiers.push_back(held);
    }
  }
  for (auto& [name, trait] : loser.traits) {
    auto it = survivor.traits.find(name);
    if (it == survivor.traits.end()) {
      survivor.traits.emplace(name, std::move(trait));
    } else if (trait.newer_than(it->second)) {
      it->second = std::move(trait);
    }
  }
  survivor.merged_from.push_back(loser.id);
  survivor.merged_from.insert(survivor.merged_from.end(), loser.merged_from.begin(),
                              loser.merged_from.end());
  std::sort(survivor.merged_from.begin(), survivor.merged_from.end());
  survivor.first_seen_ms = std::min(survivor.first_seen_ms, loser.first_seen_ms);
  survivor.last_seen_ms = std::max(survivor.last_seen_ms, loser.last_seen_ms);
  survivor.event_count += loser.event_count;
  for (const auto& group : loser.groups) {
    if (std::find(survivor.groups.begin(), survivor.groups.end(), group) == survivor.groups.end()) {
      survivor.groups.push_back(group);
      txn.batch().Put(txn.database().accounts(), membership_key(group, survivor.id), "");
    }
  }
  if (index_ != nullptr) {
    index_->merge(survivor.id, loser_id);
    index_traits(*index_, survivor);
  }
  if (!audience_.definitions().empty_of_work()) {
    audience_.merge(survivor.audience, loser.audience);
    leave_audiences(loser, "merged into " + profile_id_text(survivor.id), ctx.record.received_at_ms,
                    txn, &survivor);
  }
  const ProfileId merged_into = survivor.id;
  loser = Profile{};
  loser.id = loser_id;
  loser.merged_into = merged_into;
  Edge edge{ctx.merge_kind, 0, {}, 0, survivor.id, loser_id, ctx.identifiers, ctx.merge_rule};
  edge.score = ctx.score;
  edge.explanation = ctx.explanation;
  ctx.put_edge(std::move(edge));
  ++ctx.outcome.merged;
}

void ProfileBuilder::count_conflict(const identity::DroppedIdentifier& dropped, ProfileId profile,
                                    EventContext& ctx) {
  if (replaying_) return;
  auto* record = ctx.txn.identifier(dropped.identifier);
  if (record == nullptr || record->quarantined) return;
  const auto& rules = rules_->rules();
  const int64_t oldest = ctx.time_ms - rules.quarantine_window_ms;
  auto& conflicts = record->conflicts;
  std::erase_if(conflicts, [&](const auto& conflict) { return conflict.second < oldest; });
  auto it = std::find_if(conflicts.begin(), conflicts.end(),
                         [&](const auto& conflict) { return conflict.first == profile; });
  if (it != conflicts.end()) {
    it->second = std::max(it->second, ctx.time_ms);
  } else {
    conflicts.emplace_back(profile, ctx.time_ms);
  }
  // Its own profile plus every other one its events resolved to.
  const size_t distinct = conflicts.size() + 1;
  if (distinct <= rules.quarantine_after_profiles) return;
  record->quarantined = true;
  record->quarantined_ms = ctx.time_ms;
  ctx.outcome.quarantined = true;
  const auto holder = dropped.holder.value_or(record->profile);
  ctx.txn.batch().Put(ctx.txn.database().meta(), "quarantine/" + dropped.identifier.key(),
                      profile_id_text(holder));
  ctx.put_edge({EdgeKind::kQuarantine,
                0,
                {},
                0,
                holder,
                profile,
                {dropped.identifier.display()},
                "quarantined: seen on " + std::to_string(distinct) + " profiles within " +
                    std::to_string(rules.quarantine_window_ms / 86'400'000) + " days"});
}

}  // namespace cdp::profile
