#pragma once

#include <roaring/roaring.hh>

#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "audience/condition.h"

namespace cdp::audience {

// Bitmaps of profile ids that narrow a full evaluation (a new or changed definition, a preview)
// to the profiles a condition can hold for, instead of every profile:
//   - per top-level trait: who has it, and for string values, who has which value;
//   - per track event name: who performed it ("" for any track event);
//   - per audience: who has been a member.
// Each bitmap is a superset: bits are set as facts are seen and never cleared (a trait that
// changes value, a member that leaves, a profile merged away keep theirs), so a candidate is a
// profile that *may* match and the evaluator decides. That makes the index safe to update
// before the batch that holds the facts is committed, and to leave as it is when that batch
// fails. Stale bits cost evaluation time only; building the index anew drops them.
//
// Profile ids above 2^32 - 1 turn the index off (every query answers "everyone"), and so do
// names past kMaxNames for conditions on them.
// Thread-safe: one writer (the processor) and any number of readers.
class CandidateIndex {
 public:
  using Bitmap = Roaring;  // CRoaring's C++ class (Debian 12: 0.2.66, global namespace)

  // A trait value as stored: compact JSON of any kind.
  void add_traits(uint64_t profile,
                  const std::vector<std::pair<std::string_view, std::string_view>>& traits);
  void add_event(uint64_t profile, std::string_view track_event_name);
  void add_member(uint64_t profile, std::string_view audience);
  // The survivor of a merge inherits the loser's events (its traits and memberships are
  // re-added by the caller as they become the survivor's).
  void merge(uint64_t survivor, uint64_t loser);

  // The profiles `condition` may hold for; nullopt when the index cannot narrow it (`not`,
  // `!=`, computed traits, `at most`, ...): every profile is a candidate.
  std::optional<Bitmap> candidates(const Condition& condition) const;
  // Who performed a track event with this name ("": any), as a candidate set.
  std::optional<Bitmap> performed(std::string_view event) const;
  // Who has the top-level trait (nullopt: the index cannot say).
  std::optional<Bitmap> having(std::string_view trait) const;
  // Who has been a member of `audience` (nullopt: the index cannot say).
  std::optional<Bitmap> members(std::string_view audience) const;

  struct Usage {
    size_t bitmaps = 0;
    size_t bytes = 0;  // serialized size of every bitmap: about their memory
  };
  Usage usage() const;
  // The bytes of the audience's membership bitmap.
  size_t audience_bytes(std::string_view audience) const;

 private:
  // A trait's string values, until there are too many to be worth a bitmap each.
  struct TraitValues {
    Bitmap has;    // any value
    Bitmap other;  // a value that is not an indexed string
    std::map<std::string, Bitmap, std::less<>> by_text;
    bool overflow = false;  // past kMaxValues: only `has` answers
  };
  static constexpr size_t kMaxValues = 1024;
  static constexpr size_t kMaxText = 128;
  // Trait and event names are the senders' to choose: past this many of either, new names are
  // not indexed and a condition on one reads every profile.
  static constexpr size_t kMaxNames = 10'000;

  std::optional<Bitmap> candidates_locked(const Condition& condition) const;
  std::optional<Bitmap> trait_candidates(const Condition& condition) const;
  std::optional<Bitmap> event_candidates(std::string_view event) const;

  mutable std::shared_mutex mutex_;
  bool off_ = false;
  bool traits_capped_ = false;
  bool events_capped_ = false;
  std::map<std::string, TraitValues, std::less<>> traits_;
  std::map<std::string, Bitmap, std::less<>> events_;
  std::map<std::string, Bitmap, std::less<>> members_;
};

}  // namespace cdp::audience
