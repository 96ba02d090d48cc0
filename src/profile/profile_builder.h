#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "audience/candidate_index.h"
#include "audience/engine.h"
#include "identity/normalizer.h"
#include "identity/resolver.h"
#include "identity/rules.h"
#include "ingest/json_tree.h"
#include "profile/state_transaction.h"
#include "storage/raw_log_record.h"

namespace cdp::profile {

// The most events an unmerge re-applies (in one batch, in memory); larger profiles are refused.
inline constexpr size_t kMaxUnmergeEvents = 100'000;

// What applying one event did, for metrics and tests.
struct ApplyOutcome {
  ProfileId profile = 0;  // 0: the event carried no usable identifier
  bool created = false;
  size_t merged = 0;
  size_t linked = 0;
  size_t dropped = 0;
  bool quarantined = false;  // an identifier crossed the quarantine threshold
  // A definition command brought only part of the profiles up to date (its writes reached
  // ProfileBuilder::set_definition_batch_bytes): the batch is to be written with
  // definition_resume() and the same record applied again, which goes on where this part ended.
  // The next part reads only the profiles after this part's, and nothing this part writes
  // (profiles' audience sections, member, history and check keys, change log entries): it may
  // be worked out while this part is written.
  bool unfinished = false;
};

// Where a definition command that is applied in parts goes on (kept by the processor in the same
// write as each part, so a restart resumes it).
struct DefinitionResume {
  uint64_t seq = 0;           // of the command
  ProfileId next = 0;         // the first profile id the next part visits
  uint32_t change_index = 0;  // the next change log index under `seq`
  uint64_t updated = 0;       // profiles rewritten by the parts so far
  bool operator==(const DefinitionResume&) const = default;
};

// Applies raw log events to profile state: resolves identity (normalise, resolve, link, merge,
// record provenance edges, count quarantine conflicts) and materialises the profile (traits with
// last-write-wins by event timestamp, identifiers, first/last seen, event count, timeline entry,
// group membership). Entries of storage::kAdminSource are identity commands (unmerge.cc), those of
// storage::kMatchSource probabilistic links (link.cc).
//
// A pure function of the events and the rules: applying the same log under the same rules always
// builds the same state (profile ids are assigned in log order).
// Not thread-safe (one per processor thread).
class ProfileBuilder {
 public:
  ProfileBuilder(std::shared_ptr<const identity::CompiledRules> rules, ProfileId last_profile_id);

  // Applies one record. kCorruption when stored state cannot be read; an event that is not a
  // JSON object (never written by ingest) is skipped with an OK outcome.
  Result<ApplyOutcome> apply(const storage::RawLogRecord& record, StateTransaction& txn);

  // Computed traits and audiences (audiences.cc), as stored (load_definitions()) when the
  // processor opens; definition commands in the log change them.
  void set_definitions(std::shared_ptr<const audience::Definitions> definitions) {
    audience_ = audience::Engine(std::move(definitions));
  }
  const audience::Engine& audience_engine() const { return audience_; }
  // Kept up to date with the facts applied events add (traits, track events, memberships, merges),
  // and used to narrow the profiles a definition command visits. None: every profile is visited.
  void set_candidate_index(std::shared_ptr<audience::CandidateIndex> index) {
    index_ = std::move(index);
  }
  // Called while a definition command brings every profile up to date: "audience NAME" or
  // "trait NAME", profile records visited so far and the number of profile ids (an upper bound:
  // merged-away ids are visited too); a last call with an empty name when it is done.
  using DefinitionProgress =
      std::function<void(std::string_view name, uint64_t done, uint64_t total)>;
  void set_definition_progress(DefinitionProgress progress) { progress_ = std::move(progress); }
  // A definition command writes at most about this many bytes per batch (a part); the rest
  // follows in further batches. Without a bound, one command over a million profiles would be
  // one WriteBatch of gigabytes (RocksDB refuses batches over 4 GiB).
  void set_definition_batch_bytes(size_t bytes) { definition_batch_bytes_ = bytes; }
  const std::optional<DefinitionResume>& definition_resume() const { return resume_; }
  void set_definition_resume(std::optional<DefinitionResume> resume) { resume_ = resume; }

  ProfileId last_profile_id() const { return last_profile_id_; }
  // Forgets the profiles of a batch that was not written.
  void rewind(ProfileId last_profile_id) {
    last_profile_id_ = last_profile_id;
    reuse_ids_.clear();
    change_seq_ = 0;
    change_index_ = 0;
  }

 private:
  struct EventContext;
  Result<ApplyOutcome> apply_event(const storage::RawLogRecord& record, StateTransaction& txn);
  // unmerge.cc: {"type":"unmerge","profile":"p_5","identifier":"email:..."} (or "merged":"p_7")
  // splits the profile by re-applying its events under a new block; {"type":"reallow",
  // "unmerge":seq} lifts a block.
  Result<ApplyOutcome> apply_command(const storage::RawLogRecord& record, StateTransaction& txn);
  Result<ApplyOutcome> unmerge(const storage::RawLogRecord& record,
                               const ingest::JsonValue& command, StateTransaction& txn);
  Result<ApplyOutcome> reallow(const storage::RawLogRecord& record,
                               const ingest::JsonValue& command, StateTransaction& txn);
  // link.cc: {"type":"link","a":"type:value","b":"type:value","score":0.97,"explanation":{...}}
  // merges the profiles holding a and b, as the resolver allows it (limits, blocks, guards),
  // recording a `probabilistic` merge edge; a refusal is a drop edge.
  Result<ApplyOutcome> apply_link(const storage::RawLogRecord& record, StateTransaction& txn);
  // The id for a new profile: while an unmerge re-applies events, the split profiles' ids, lowest
  // first (so the oldest part keeps the profile's id); otherwise the next unused one.
  ProfileId next_profile_id();
  void merge_into(Profile& survivor, ProfileId loser_id, EventContext& event);
  // Records the refusals of a resolution that kept profiles apart as drop edges (and counts
  // conflicts towards quarantine).
  void record_refusals(const identity::Resolution& resolution, ProfileId target,
                       EventContext& event);
  void count_conflict(const identity::DroppedIdentifier& dropped, ProfileId profile,
                      EventContext& event);

  // audiences.cc. Feeds the event to the profile's computed traits, counters and funnels and
  // records the memberships it changed; `everything`: re-evaluate every audience (a new or
  // merged profile).
  void update_audiences(Profile& profile, const ingest::JsonValue& event, std::string_view type,
                        bool everything, EventContext& ctx);
  // The profile stops existing (merged away, split by an unmerge): it leaves its audiences.
  // `survivor`: the profile it merges into, whose user_id it shares from now on (below).
  void leave_audiences(Profile& profile, const std::string& cause, int64_t now_ms,
                       StateTransaction& txn, const Profile* survivor = nullptr);
  // Re-evaluates every audience at `now_ms` and records what changed: after a probabilistic
  // link merged profiles, or (`from_scratch`: from no membership) after an unmerge re-applied
  // the profile's events.
  void refresh_audiences(Profile& profile, const std::string& cause, int64_t now_ms,
                         bool from_scratch, StateTransaction& txn);
  // `with_user_id`: the entry names the profile's user_id too.
  void record_changes(const Profile& profile,
                      const std::vector<audience::MembershipChange>& changes,
                      const std::string& cause, int64_t now_ms, StateTransaction& txn,
                      bool with_user_id = true);
  // One change log entry {"type":"traits_changed",...} with the new values of `keys`.
  void record_trait_changes(const Profile& profile, const std::vector<std::string>& keys,
                            int64_t now_ms, const std::string& cause, StateTransaction& txn);
  void reschedule(ProfileId profile, int64_t before_ms, int64_t after_ms, StateTransaction& txn);
  // {"type":"define_audience"|"define_trait","name":...,"definition":{...}} and
  // {"type":"delete_audience"|"delete_trait","name":...}: stores the definition, then brings
  // every profile up to date (history for new counters, memberships).
  Result<ApplyOutcome> apply_definition(const storage::RawLogRecord& record,
                                        const ingest::JsonValue& command, StateTransaction& txn);
  // The profiles a definition change can affect, from the candidate index: those whose history
  // feeds its new counters and funnels or who hold state that is no longer defined, those its
  // condition may hold for, its members so far. nullopt: every profile.
  std::optional<audience::CandidateIndex::Bitmap> definition_scope(
      const audience::Definitions& before, const audience::Definitions& after,
      const std::string& name, bool is_trait, bool deleting,
      const std::set<std::string, std::less<>>& new_keys,
      const std::set<std::string, std::less<>>& removed_keys) const;
  // {"type":"tick"}: time has passed; profiles whose check time has come are re-evaluated.
  Result<ApplyOutcome> apply_tick(const storage::RawLogRecord& record, StateTransaction& txn);

  std::shared_ptr<const identity::CompiledRules> rules_;
  identity::Resolver resolver_;
  identity::IdentifierNormalizer normalizer_;
  ingest::JsonParser parser_;
  ProfileId last_profile_id_;
  std::vector<ProfileId> reuse_ids_;  // descending: back() is the next to reuse
  bool replaying_ = false;            // an unmerge is re-applying events: conflicts not counted
  audience::Engine audience_;
  std::shared_ptr<audience::CandidateIndex> index_;
  DefinitionProgress progress_;
  size_t definition_batch_bytes_ = 32 << 20;
  std::optional<DefinitionResume> resume_;
  // Change log keys: the seq of the entry being applied and the next index under it.
  uint64_t change_seq_ = 0;
  uint32_t change_index_ = 0;
};

}  // namespace cdp::profile
