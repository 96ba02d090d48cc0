// ProfileBuilder's computed traits and audiences (docs/audiences.md).
//
// Each profile's audience state (aggregates, funnels, memberships) lives in its profile record,
// so applying an event reads and writes nothing more than it did. What changes is also written,
// in the same batch, to the `audiences` column family (current members, history, the time of
// the profile's next check) and to the change log (docs/formats/audiences.md). Definitions are
// entries of the log too: applying one brings every profile up to date.
#include <memory>
#include <set>

#include "common/json_writer.h"
#include "common/log.h"
#include "common/time_format.h"
#include "identity/identifier.h"
#include "profile/audience_history.h"
#include "profile/audience_index.h"
#include "profile/audience_records.h"
#include "profile/internal/event_context.h"
#include "profile/internal/json_text.h"
#include "profile/profile_builder.h"
#include "profile/profile_pass.h"
#include "storage/big_endian.h"

namespace cdp::profile {
namespace {

// The profile's first user_id identifier, for change log entries (what a receiver can act on);
// empty when it has none.
std::string_view user_id_of(const Profile& profile) {
  for (const auto& held : profile.identifiers) {
    if (held.identifier.type == identity::kUserId) return held.identifier.value;
  }
  return {};
}

void add_names(std::vector<std::string>& names, const ingest::JsonValue* object) {
  if (object == nullptr || !object->is_object()) return;
  for (const auto& member : object->members) names.emplace_back(member.key);
}

}  // namespace

void ProfileBuilder::update_audiences(Profile& profile, const ingest::JsonValue& event,
                                      std::string_view type, bool everything, EventContext& ctx) {
  std::vector<std::string> changed_traits;
  if (type == "identify") add_names(changed_traits, event.find("traits"));
  if (const auto* context = event.find("context"); context != nullptr && context->is_object()) {
    add_names(changed_traits, context->find("traits"));
  }
  const auto* properties = event.find("properties");
  const std::string name = text_of(event.find("event"));
  const audience::EventFacts facts{
      type, name, properties != nullptr && properties->is_object() ? properties : nullptr,
      ctx.time_ms, ctx.record.seq};
  const ProfileTraits traits(profile);
  const int64_t now = ctx.record.received_at_ms;
  const int64_t before = profile.audience.next_check_ms;
  auto changes = audience_.on_event(profile.audience, traits, facts, changed_traits, now);
  if (everything) {
    auto more = audience_.evaluate_all(profile.audience, traits, now);
    changes.insert(changes.end(), more.begin(), more.end());
  }
  // An unmerge re-applying old events records the outcome once, at its own time.
  if (replaying_) return;
  record_changes(profile, changes,
                 ctx.message_id.empty() ? std::string("event") : "event " + ctx.message_id, now,
                 ctx.txn);
  reschedule(profile.id, before, profile.audience.next_check_ms, ctx.txn);
}

void ProfileBuilder::leave_audiences(Profile& profile, const std::string& cause, int64_t now_ms,
                                     StateTransaction& txn, const Profile* survivor) {
  // While an unmerge re-applies events nothing is recorded: the outcome is, at the end.
  if (!replaying_) {
    // A merged-away profile's user_id is the survivor's from now on. Its exit from an audience
    // the survivor is in says nothing about that user (a receiver keyed by user_id would drop a
    // member), so it leaves without the user_id; the survivor's own re-evaluation records
    // whether the user stays.
    std::vector<audience::MembershipChange> changes;
    std::vector<audience::MembershipChange> survivor_stays_in;
    for (const auto& [name, since] : profile.audience.audiences) {
      const bool stays = survivor != nullptr && survivor->audience.audiences.contains(name);
      (stays ? survivor_stays_in : changes).push_back({std::string(name), false});
    }
    record_changes(profile, changes, cause, now_ms, txn);
    record_changes(profile, survivor_stays_in, cause, now_ms, txn, false);
    reschedule(profile.id, profile.audience.next_check_ms, 0, txn);
  }
  profile.audience.audiences.clear();
  profile.audience.next_check_ms = 0;
}

void ProfileBuilder::refresh_audiences(Profile& profile, const std::string& cause, int64_t now_ms,
                                       bool from_scratch, StateTransaction& txn) {
  const ProfileTraits traits(profile);
  // An unmerge's parts start from no membership (nothing of theirs was recorded while the
  // events were re-applied).
  const int64_t before = from_scratch ? 0 : profile.audience.next_check_ms;
  if (from_scratch) profile.audience.audiences.clear();
  auto changes = audience_.evaluate_all(profile.audience, traits, now_ms);
  record_changes(profile, changes, cause, now_ms, txn);
  reschedule(profile.id, before, profile.audience.next_check_ms, txn);
}

void ProfileBuilder::record_changes(const Profile& profile,
                                    const std::vector<audience::MembershipChange>& changes,
                                    const std::string& cause, int64_t now_ms, StateTransaction& txn,
                                    bool with_user_id) {
  if (changes.empty()) return;
  auto& database = txn.database();
  auto& batch = txn.batch();
  // One change log entry for all of them (docs/formats/audiences.md#change-log-changes).
  JsonWriter entry;
  entry.begin_object();
  entry.key("profile").string(profile_id_text(profile.id));
  if (const auto user_id = user_id_of(profile); with_user_id && !user_id.empty()) {
    entry.key("user_id").string(user_id);
  }
  entry.key("time").string(format_iso8601_ms(now_ms));
  entry.key("cause").string(cause);
  entry.key("seq").number(static_cast<int64_t>(change_seq_));
  entry.key("changes").begin_array();
  for (const auto& change : changes) {
    if (change.entered && index_ != nullptr) index_->add_member(profile.id, change.audience);
    if (change.entered) {
      batch.Put(database.audiences(), member_key(change.audience, profile.id),
                storage::u64_be(static_cast<uint64_t>(now_ms)));
    } else {
      batch.Delete(database.audiences(), member_key(change.audience, profile.id));
    }
    batch.Put(database.audiences(), history_key(change.audience, now_ms, profile.id),
              history_value(change.entered));
    entry.begin_object().key("audience").string(change.audience);
    entry.key("entered").boolean(change.entered).end_object();
  }
  entry.end_array().end_object();
  batch.Put(database.changes(), change_key(change_seq_, change_index_), entry.str());
  change_index_ += static_cast<uint32_t>(changes.size());
}

void ProfileBuilder::record_trait_changes(const Profile& profile,
                                          const std::vector<std::string>& keys, int64_t now_ms,
                                          const std::string& cause, StateTransaction& txn) {
  // Stored as the API shows it, like the entries of one change before 2026-11-26, so
  // read_change_log passes it on unchanged (docs/formats/audiences.md#change-log-changes).
  JsonWriter entry;
  entry.begin_object();
  entry.key("type").string("traits_changed");
  entry.key("profile").string(profile_id_text(profile.id));
  if (const auto user_id = user_id_of(profile); !user_id.empty()) {
    entry.key("user_id").string(user_id);
  }
  entry.key("traits").begin_object();
  for (const auto& key : keys) {
    if (const auto it = profile.traits.find(key); it != profile.traits.end()) {
      entry.key(key).raw(it->second.json);
    }
  }
  entry.end_object();
  entry.key("time").string(format_iso8601_ms(now_ms));
  entry.key("cause").string(cause);
  entry.key("seq").number(static_cast<int64_t>(change_seq_));
  entry.end_object();
  txn.batch().Put(txn.database().changes(), change_key(change_seq_, change_index_), entry.str());
  ++change_index_;
}

void ProfileBuilder::reschedule(ProfileId profile, int64_t before_ms, int64_t after_ms,
                                StateTransaction& txn) {
  if (before_ms == after_ms) return;
  auto& database = txn.database();
  if (before_ms != 0) txn.batch().Delete(database.audiences(), check_key(before_ms, profile));
  if (after_ms != 0) txn.batch().Put(database.audiences(), check_key(after_ms, profile), "");
}

std::optional<audience::CandidateIndex::Bitmap> ProfileBuilder::definition_scope(
    const audience::Definitions& before, const audience::Definitions& after,
    const std::string& name, bool is_trait, bool deleting,
    const std::set<std::string, std::less<>>& new_keys,
    const std::set<std::string, std::less<>>& removed_keys) const {
  if (index_ == nullptr) return std::nullopt;
  audience::CandidateIndex::Bitmap scope;
  // Who performed the events of these aggregates and funnels: who has state for them.
  auto add_performers = [&](const audience::Definitions& definitions,
                            const std::set<std::string, std::less<>>& keys) {
    std::vector<std::string_view> events;
    for (const auto& key : keys) {
      if (const auto it = definitions.aggregates().find(key);
          it != definitions.aggregates().end()) {
        events.push_back(it->second.spec().event);
      } else if (const auto funnel = definitions.funnels().find(key);
                 funnel != definitions.funnels().end()) {
        for (const auto& step : funnel->second.steps()) events.push_back(step.event);
      }
    }
    for (const auto event : events) {
      auto performers = index_->performed(event);
      if (!performers) return false;
      scope |= *performers;
    }
    return true;
  };
  // New counters, funnels and computed traits are built from history, and state that is no
  // longer defined is dropped: profiles without their events have neither.
  if (!add_performers(after, new_keys) || !add_performers(before, removed_keys)) {
    return std::nullopt;
  }
  if (is_trait) {
    // An audience that reads the trait may change for anyone ("computed.orders < 1" holds
    // for a profile without events).
    const auto key = audience::Definitions::trait_key(name);
    if (!before.readers_of_key(key).empty() || !after.readers_of_key(key).empty()) {
      return std::nullopt;
    }
    return scope;
  }
  // The audience changes for those its condition may now hold for and for its members so far;
  // audiences that read it change only where it does.
  if (!deleting) {
    for (const auto& audience : after.audiences()) {
      if (audience.definition.name != name) continue;
      auto candidates = index_->candidates(audience.definition.condition);
      if (!candidates) return std::nullopt;
      scope |= *candidates;
      // Whoever has a date that an `in last` comparison watches gets a check time, member or
      // not (the date may arrive later).
      for (const auto* comparison : audience.in_last) {
        if (comparison->operand.scope != audience::Operand::Scope::kTrait) return std::nullopt;
        auto having = index_->having(comparison->operand.path[0]);
        if (!having) return std::nullopt;
        scope |= *having;
      }
    }
  }
  auto members = index_->members(name);
  if (!members) return std::nullopt;
  scope |= *members;
  return scope;
}

Result<ApplyOutcome> ProfileBuilder::apply_definition(const storage::RawLogRecord& record,
                                                      const ingest::JsonValue& command,
                                                      StateTransaction& txn) {
  auto& database = txn.database();
  const auto type = text_of(command.find("type"));
  const auto name = text_of(command.find("name"));
  const auto* body = command.find("definition");
  // Held: set_definitions() below replaces the engine's.
  const auto current_definitions = audience_.shared_definitions();
  const auto& current = *current_definitions;
  auto traits = current.computed_traits();
  std::vector<audience::AudienceDefinition> audiences;
  for (const auto& compiled : current.audiences()) audiences.push_back(compiled.definition);
  std::erase_if(traits, [&](const auto& t) { return t.name == name; });
  std::erase_if(audiences, [&](const auto& a) { return a.name == name; });
  const bool is_trait = type.ends_with("_trait");
  std::string stored;
  // The HTTP handler checked the definition against the definitions it saw; another change may
  // have come between. A definition that no longer fits is skipped (GET shows it was not saved).
  auto skip = [&](const std::string& why) -> Result<ApplyOutcome> {
    log::warn("definition_not_applied",
              {{"seq", std::to_string(record.seq)}, {"name", name}, {"message", why}});
    return ApplyOutcome{};
  };
  if (type == "define_trait" || type == "define_audience") {
    if (body == nullptr) return skip("no definition");
    JsonWriter out;
    if (is_trait) {
      auto trait = audience::parse_computed_trait(name, *body);
      if (!trait) return skip(trait.status().message());
      audience::write_computed_trait(out, *trait);
      traits.push_back(std::move(*trait));
    } else {
      auto definition = audience::parse_audience(name, *body);
      if (!definition) return skip(definition.status().message());
      audience::write_audience(out, *definition, false);
      audiences.push_back(std::move(*definition));
    }
    stored = out.take();
  } else if (type != "delete_trait" && type != "delete_audience") {
    return skip("unknown command " + type);
  }
  auto compiled = audience::Definitions::compile(std::move(traits), std::move(audiences));
  if (!compiled) return skip(compiled.status().message());

  auto new_keys = keys_added(current, **compiled);
  auto removed_keys = keys_added(**compiled, current);
  // A computed trait defined anew under its name computes from scratch.
  if (is_trait && !stored.empty()) {
    const auto* before = current.computed_trait(name);
    const auto* after = (*compiled)->computed_trait(name);
    if (before != nullptr && after != nullptr && !(before->spec == after->spec)) {
      new_keys.insert(audience::Definitions::trait_key(name));
      removed_keys.insert(audience::Definitions::trait_key(name));
    }
  }
  set_definitions(*compiled);

  // The profiles the change can affect (all of them without an index), read from committed
  // state: a command has a batch of its own, so nothing before it is pending; the processor's
  // cached copies are dropped after this.
  const auto scope =
      definition_scope(current, **compiled, name, is_trait, stored.empty(), new_keys, removed_keys);
  const int64_t now = record.received_at_ms;
  const std::string cause = (stored.empty() ? "deletion of " : "definition of ") + name;
  // A part of a command applied in parts: go on where the last one ended (the scope, recomputed
  // from a newer index, is still a superset of the profiles the change affects).
  DefinitionResume part{record.seq, 0, 0, 0};
  if (resume_ && resume_->seq == record.seq) {
    part = *resume_;
    change_index_ = part.change_index;
  }
  uint64_t visited = part.next == 0 ? 0
                     : scope        ? scope->rank(static_cast<uint32_t>(part.next - 1))
                                    : part.next - 1;
  const uint64_t total = scope ? scope->cardinality() : last_profile_id_;
  if (progress_ && part.next != 0)
    progress_((is_trait ? "trait " : "audience ") + name, visited, total);
  ProfileId stopped_before = 0;  // nonzero: this part ended there
  // A part ends once it has written its bytes: never before it has written anything, so that
  // every part gets further than the one before.
  const size_t part_start = txn.batch().GetDataSize();
  // What to re-evaluate: the audience itself, or the audiences that read the computed trait (and,
  // in both cases, the audiences that read those).
  const auto& after = **compiled;
  std::vector<bool> dirty(after.audiences().size(), false);
  if (is_trait) {
    for (const auto i : after.readers_of_key(audience::Definitions::trait_key(name))) {
      dirty[i] = true;
    }
  } else {
    for (size_t i = 0; i < dirty.size(); ++i)
      dirty[i] = after.audiences()[i].definition.name == name;
  }
  // A profile the change does not affect (no membership, no aggregate state changes, no earlier
  // check time) is left exactly as it is, so that which profiles the index lets through (a
  // superset, which depends on when it was built) changes nothing stored: state stays a pure
  // function of the log.
  // Working out each profile's new state runs on the pass's threads; writing it, in id order.
  auto prepare = [&](PassProfile& item, HistoryReader& history) -> Status {
    Profile& profile = item.profile;
    const auto& before_state = item.before = profile.audience;
    for (const auto& removed : removed_keys) {
      profile.audience.aggregates.erase(removed);
      profile.audience.funnels.erase(removed);
    }
    CDP_RETURN_IF_ERROR(history.add(audience_, profile, new_keys));
    audience_.expire(profile.audience, new_keys, now);
    // Members of a deleted audience leave it (its history stays readable).
    auto& changes = item.changes;
    for (const auto& [audience_name, since] : before_state.audiences) {
      if (after.audience(audience_name) == nullptr)
        changes.push_back({std::string(audience_name), false});
    }
    const PassTraits profile_traits(item);
    auto evaluated = audience_.reevaluate(profile.audience, profile_traits, now, dirty);
    changes.insert(changes.end(), evaluated.begin(), evaluated.end());
    // The change log names the profile's user_id: its identifiers are details.
    if (!changes.empty()) CDP_RETURN_IF_ERROR(item.details());
    // A check time that has come stays for its tick, which re-evaluates everything time moved.
    const bool overdue = before_state.next_check_ms != 0 && before_state.next_check_ms <= now;
    if (changes.empty() && profile.audience == before_state) {
      // Not affected now, but a date the audience watches may come before the profile's check.
      const auto soon = audience_.next_in_last_ms(profile.audience, profile_traits, now, dirty);
      if (overdue || soon == 0 ||
          (before_state.next_check_ms != 0 && before_state.next_check_ms <= soon)) {
        return profile_traits.status();
      }
      profile.audience.next_check_ms = soon;
    } else {
      audience_.prune(profile.audience);
      profile.audience.next_check_ms =
          overdue ? before_state.next_check_ms
                  : audience_.next_check_ms(profile.audience, profile_traits, now);
    }
    CDP_RETURN_IF_ERROR(profile_traits.status());
    item.record = encode_audience_section(profile);
    return Status::ok();
  };
  auto visit = [&](PassProfile& item) -> Result<bool> {
    if (txn.batch().GetDataSize() - part_start >= definition_batch_bytes_) {
      stopped_before = storage::read_u64_be(item.key);
      return false;
    }
    if (progress_ && ++visited % 1024 == 0) {
      progress_((is_trait ? "trait " : "audience ") + name, visited, total);
    }
    if (!item.record) return true;  // merged away, or left as it is
    const Profile& profile = item.profile;
    record_changes(profile, item.changes, cause, now, txn);
    reschedule(profile.id, item.before.next_check_ms, profile.audience.next_check_ms, txn);
    // Only the audience state changed: its section is merged into the record (a few dozen
    // bytes instead of the whole record; storage/section_merge.h).
    txn.batch().Merge(database.profiles(), item.key, *item.record);
    ++part.updated;
    return true;
  };
  ProfilePass pass(database, txn.log_database());
  CDP_RETURN_IF_ERROR(pass.run(scope, part.next, prepare, visit));
  txn.forget_profiles();
  if (stopped_before != 0) {
    // Until the last part, the stored and the engine's definitions stay the old ones, so that
    // every part (after a restart too) works out the same change.
    set_definitions(current_definitions);
    resume_ = DefinitionResume{record.seq, stopped_before, change_index_, part.updated};
    log::info("definition_part_applied", {{"seq", std::to_string(record.seq)},
                                          {"name", name},
                                          {"profiles_updated", std::to_string(part.updated)},
                                          {"next_profile", std::to_string(stopped_before)}});
    ApplyOutcome outcome;
    outcome.unfinished = true;
    return outcome;
  }
  resume_.reset();
  const auto key = is_trait ? trait_definition_key(name) : audience_definition_key(name);
  if (stored.empty()) {
    txn.batch().Delete(database.audiences(), key);
  } else {
    txn.batch().Put(database.audiences(), key, stored);
  }
  if (progress_) progress_({}, 0, 0);
  log::info("definition_applied", {{"seq", std::to_string(record.seq)},
                                   {"name", name},
                                   {"profiles_updated", std::to_string(part.updated)}});
  return ApplyOutcome{};
}

Result<ApplyOutcome> ProfileBuilder::apply_tick(const storage::RawLogRecord& record,
                                                StateTransaction& txn) {
  // A bounded number of profiles per tick: the rest are due at the next one.
  constexpr size_t kMaxProfilesPerTick = 10'000;
  auto& database = txn.database();
  const int64_t now = record.received_at_ms;
  std::vector<std::pair<int64_t, ProfileId>> due;
  {
    std::unique_ptr<rocksdb::Iterator> it(
        database.db().NewIterator(rocksdb::ReadOptions(), database.audiences()));
    const auto end = check_key(now + 1, 0);
    for (it->Seek(kCheckPrefix);
         it->Valid() && it->key().compare(end) < 0 && due.size() < kMaxProfilesPerTick;
         it->Next()) {
      due.push_back(decode_check_key(it->key().ToStringView()));
    }
    if (!it->status().ok()) return storage::from_rocksdb(it->status(), "reading check times");
  }
  for (const auto& [time, id] : due) {
    txn.batch().Delete(database.audiences(), check_key(time, id));
    const auto live = txn.live(id);
    if (live != id) continue;  // merged away since (its memberships left then)
    Profile& profile = txn.profile(id);
    if (profile.audience.next_check_ms != time) continue;  // rescheduled since
    const ProfileTraits traits(profile);
    auto changes = audience_.on_time(profile.audience, traits, now);
    record_changes(profile, changes, "time", now, txn);
    reschedule(id, 0, profile.audience.next_check_ms, txn);
  }
  CDP_RETURN_IF_ERROR(txn.status());
  return ApplyOutcome{};
}

}  // namespace cdp::profile
