#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "audience/definitions.h"
#include "audience/profile_state.h"
#include "audience/value.h"
#include "ingest/json_tree.h"

namespace cdp::audience {

// A profile's traits by top-level name, as compact JSON (nullptr: no such trait).
class TraitSource {
 public:
  virtual ~TraitSource() = default;
  virtual const std::string* trait_json(std::string_view name) const = 0;
};

class StateFacts;  // engine.cc: a profile's state as the evaluator reads it

// What the engine reads of one event.
struct EventFacts {
  std::string_view type;                          // "track", "identify", ...
  std::string_view name;                          // a track event's name
  const ingest::JsonValue* properties = nullptr;  // its properties
  int64_t time_ms = 0;                            // its timestamp
  uint64_t seq = 0;                               // its place in the raw log
};

struct MembershipChange {
  std::string audience;
  bool entered = false;

  bool operator==(const MembershipChange&) const = default;
};

// Keeps one profile's computed traits, counters, funnels and audience memberships up to date as
// its events arrive and as time passes. Only `track` events feed aggregates and funnels.
//
// An event re-evaluates only the audiences that read what it changed: the aggregates and funnels
// it fed, the traits it set, and audiences that read those audiences (in dependency order).
// "Now" is the caller's: the processor passes the log time of the entry it applies, so a replay
// computes the same memberships.
// Immutable; thread-safe.
class Engine {
 public:
  explicit Engine(std::shared_ptr<const Definitions> definitions)
      : definitions_(std::move(definitions)) {}

  const Definitions& definitions() const { return *definitions_; }
  const std::shared_ptr<const Definitions>& shared_definitions() const { return definitions_; }

  std::vector<MembershipChange> on_event(ProfileAudienceState& state, const TraitSource& traits,
                                         const EventFacts& event,
                                         const std::vector<std::string>& changed_traits,
                                         int64_t now_ms) const;

  // Adds the loser's aggregates and funnels to the survivor's (as if its events had been the
  // survivor's). Memberships are the caller's to re-evaluate (evaluate_all).
  void merge(ProfileAudienceState& survivor, const ProfileAudienceState& loser) const;

  // Re-evaluates every audience (after a merge, or when definitions change).
  std::vector<MembershipChange> evaluate_all(ProfileAudienceState& state, const TraitSource& traits,
                                             int64_t now_ms) const;

  // A definition changed: re-evaluates the audiences `dirty` marks (indexes into
  // definitions().audiences()) and those that read audiences that changed. Nothing else: no
  // expiry, no next check time.
  std::vector<MembershipChange> reevaluate(ProfileAudienceState& state, const TraitSource& traits,
                                           int64_t now_ms, std::vector<bool> dirty) const;

  // Drops the buckets of the aggregates in `keys` that have left their window by `now_ms`
  // (history fed to a new counter starts with its oldest events).
  void expire(ProfileAudienceState& state, const std::set<std::string, std::less<>>& keys,
              int64_t now_ms) const;

  // When time alone next changes one of the audiences `audiences` marks through an `in last`
  // comparison (a date arriving or leaving the window), after `now_ms`; 0 when never.
  int64_t next_in_last_ms(const ProfileAudienceState& state, const TraitSource& traits,
                          int64_t now_ms, const std::vector<bool>& audiences) const;

  // Time has reached `now_ms`: drops what left its window and re-evaluates the audiences that
  // depend on time.
  std::vector<MembershipChange> on_time(ProfileAudienceState& state, const TraitSource& traits,
                                        int64_t now_ms) const;

  // Feeds a past event only to the aggregates and funnels named in `keys` (a definition that
  // is new needs the profile's history); no evaluation.
  void add_history(ProfileAudienceState& state, const std::set<std::string, std::less<>>& keys,
                   const EventFacts& event) const;

  // Drops the state of aggregates, funnels and audiences that are no longer defined.
  void prune(ProfileAudienceState& state) const;

  // When time alone next changes a membership (a window moves, an `in last` date ages), after
  // `now_ms`; 0 when never. Stored in state.next_check_ms by the calls above.
  int64_t next_check_ms(const ProfileAudienceState& state, const TraitSource& traits,
                        int64_t now_ms) const;

  // The computed traits' values at `now_ms`, in definition order (absent ones skipped).
  std::vector<std::pair<std::string, Value>> computed_values(const ProfileAudienceState& state,
                                                             int64_t now_ms) const;

  // Whether `condition`, one of the definitions' audiences' conditions, holds for this profile
  // now: for previews, which compile the definition not yet saved in (its new counters have no
  // state: they count nothing).
  bool holds(const Condition& condition, const ProfileAudienceState& state,
             const TraitSource& traits, int64_t now_ms) const;

 private:
  // Re-evaluates the audiences for which `dirty` says true, then those reading audiences that
  // changed, in dependency order; `facts` is `state` laid out by the definitions' positions.
  std::vector<MembershipChange> evaluate(StateFacts& facts, ProfileAudienceState& state,
                                         int64_t now_ms, std::vector<bool> dirty) const;
  int64_t next_check(const StateFacts& facts, int64_t now_ms) const;
  // Drops every aggregate bucket that has left its window by `now_ms`.
  void expire_all(ProfileAudienceState& state, int64_t now_ms) const;
  // Calls `consider` with the times at which the audience's `in last` comparisons change.
  template <typename Consider>
  void in_last_times(const Definitions::CompiledAudience& audience, const StateFacts& facts,
                     Consider&& consider) const;

  std::shared_ptr<const Definitions> definitions_;
};

}  // namespace cdp::audience
