#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "identity/rules.h"
#include "profile/profile.h"
#include "storage/database.h"

namespace cdp::pipeline {

// What new identity rules would change, found by applying the whole raw log under them into
// scratch state and comparing who ends up with whom.
struct RulesPlan {
  bool rules_changed = false;  // the rules differ from those the current profiles were built with
  uint64_t events = 0;         // raw log entries replayed
  uint64_t first_seq = 0;      // the log's first seq: above 1, retention deleted what came before
  uint64_t profiles_before = 0;
  uint64_t profiles_after = 0;
  uint64_t identifiers_unlinked = 0;  // linked now, on no profile under the new rules
  uint64_t identifiers_linked = 0;    // on no profile now, linked under the new rules

  // A group of identifiers that moves: for a merge, several current profiles that become one;
  // for a split, one current profile whose identifiers go to several.
  struct Change {
    std::vector<profile::ProfileId> before;  // current profile ids
    std::vector<profile::ProfileId> after;   // ids under the new rules (scratch numbering)
    std::vector<std::string> identifiers;    // type:value, up to 10
    uint64_t identifier_count = 0;
  };
  uint64_t merges = 0;  // profiles under the new rules that join two or more current ones
  uint64_t splits = 0;  // current profiles whose identifiers would go to two or more
  std::vector<Change> merge_examples;  // the first few, by current profile id
  std::vector<Change> split_examples;
};

// Progress of a long replay: events applied so far and the raw log's last seq.
using ReplayProgress = std::function<void(uint64_t applied, uint64_t last_seq)>;

// Dry run: replays the raw log of `live`, up to the processor's cursor (what `live`'s profiles
// reflect), under `rules` into a fresh database at `scratch_path`
// (which must not exist; it is removed afterwards) and compares it with `live`'s profiles. Changes
// nothing in `live`, which may be a follower of a running server.
Result<RulesPlan> plan_rules_change(storage::Database& live,
                                    std::shared_ptr<const identity::CompiledRules> rules,
                                    const std::string& scratch_path,
                                    const ReplayProgress& progress = nullptr,
                                    size_t max_examples = 10);

// Apply by replay: deletes every profile state record of `database` (profiles, identifiers,
// timelines, edges, accounts, quarantine and unmerge records; the raw log stays) and applies the
// whole log again under `rules`. REQUIRES: no server has the directory open.
// Refuses (kFailedPrecondition) when retention has deleted the start of the log, since the
// events before it would leave every profile, unless `allow_trimmed_log`.
// Crash-safe: a marker makes the processor refuse half-deleted state until this runs again, and
// once the marker is gone the rebuilt state is ordinary processor state (a `cdp serve` started
// before the replay ends carries it on).
Status rebuild_profiles(storage::Database& database,
                        std::shared_ptr<const identity::CompiledRules> rules,
                        const ReplayProgress& progress = nullptr, bool allow_trimmed_log = false);

}  // namespace cdp::pipeline
