#pragma once

#include <cstdint>
#include <memory>

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

  ProfileId last_profile_id() const { return last_profile_id_; }
  // Forgets the profiles of a batch that was not written.
  void rewind(ProfileId last_profile_id) {
    last_profile_id_ = last_profile_id;
    reuse_ids_.clear();
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

  std::shared_ptr<const identity::CompiledRules> rules_;
  identity::Resolver resolver_;
  identity::IdentifierNormalizer normalizer_;
  ingest::JsonParser parser_;
  ProfileId last_profile_id_;
  std::vector<ProfileId> reuse_ids_;  // descending: back() is the next to reuse
  bool replaying_ = false;            // an unmerge is re-applying events: conflicts not counted
};

}  // namespace cdp::profile
