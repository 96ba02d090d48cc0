#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "identity/identifier.h"
#include "identity/rules.h"
#include "identity/unmerge_blocks.h"

namespace cdp::identity {

using ProfileId = uint64_t;

struct HeldIdentifier {
  Identifier identifier;
  int64_t last_seen_ms = 0;
};

// What resolution needs to know about one live profile.
struct ProfileIdentity {
  std::vector<HeldIdentifier> identifiers;
  size_t merges = 0;  // profiles merged into this one so far (transitively)
};

// The identity graph as the resolver sees it. Implemented over RocksDB by the processor and over
// plain maps by tests.
class IdentityState {
 public:
  virtual ~IdentityState() = default;
  // The live profile holding `identifier`, if any (never a merged-away one).
  virtual std::optional<ProfileId> holder(const Identifier& identifier) = 0;
  virtual bool is_quarantined(const Identifier& identifier) = 0;
  // REQUIRES: `profile` is live. The reference is only valid until the next call.
  virtual const ProfileIdentity& identity_of(ProfileId profile) = 0;
  // The active unmerge blocks; nullptr when there are none.
  virtual const UnmergeBlocks* unmerge_blocks() { return nullptr; }
};

enum class DropReason {
  kInvalid,
  kBlocked,
  kQuarantined,
  kLimit,
  kMaxIdentifiers,
  kMaxMerges,
  kPerEvent,  // beyond kMaxIdentifiersPerEvent
  kUnmerged,  // would rejoin what an unmerge split (an UnmergeBlock)
};
std::string_view drop_reason_name(DropReason reason);

// An identifier of the event that was not linked, and why.
struct DroppedIdentifier {
  Identifier identifier;
  DropReason reason = DropReason::kLimit;
  std::string rule;                 // e.g. "user_id limit 1", "blocked value", "max 100 merges"
  std::optional<ProfileId> holder;  // the profile that held it, if one did
};

// Identifiers one event may offer; the lowest-priority ones beyond are dropped unlooked-at.
// Bounds the work of one event: every retry re-checks the event's identifiers.
inline constexpr size_t kMaxIdentifiersPerEvent = 50;

// Where one event belongs.
struct Resolution {
  // The surviving profile (the oldest of those matched); nullopt when a new profile must be
  // created (create == true) or the event has no usable identifier (create == false).
  std::optional<ProfileId> profile;
  bool create = false;
  std::vector<ProfileId> merged;        // other live profiles to merge into `profile`, ascending
  std::vector<Identifier> identifiers;  // the event's identifiers kept, highest priority first
  std::vector<Identifier> new_identifiers;  // those of them no profile held before
  std::vector<DroppedIdentifier> dropped;
};

// Segment's flat matching: find every profile holding one of the event's identifiers; none ->
// create one, one -> attach, several -> merge into the oldest. When attaching or merging would
// break a rule (a per-type limit, the identifier or merge cap, an unmerge block), the event's
// lowest-priority identifier is dropped and matching retried. Afterwards, dropped identifiers
// that no profile held are offered to the result again, highest priority first, and kept where no
// rule breaks (an unrelated new anonymous id should not be lost because an email conflicted).
// Blocked and quarantined identifiers never take part.
//
// Deterministic: the same identifiers and state always give the same resolution. Stateless;
// thread-safe.
class Resolver {
 public:
  explicit Resolver(std::shared_ptr<const CompiledRules> rules) : rules_(std::move(rules)) {}

  // `identifiers`: normalised values (duplicates allowed). `event_time_ms` places the event for
  // windowed limits.
  Resolution resolve(std::vector<Identifier> identifiers, int64_t event_time_ms,
                     IdentityState& state) const;

  const CompiledRules& rules() const { return *rules_; }

 private:
  struct Violation {
    DropReason reason;
    std::string rule;
  };
  std::optional<Violation> check(const std::vector<Identifier>& identifiers,
                                 const std::vector<ProfileId>& matched, int64_t event_time_ms,
                                 IdentityState& state) const;

  std::shared_ptr<const CompiledRules> rules_;
};

}  // namespace cdp::identity
