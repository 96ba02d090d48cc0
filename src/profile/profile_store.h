#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "identity/identifier.h"
#include "profile/profile.h"
#include "profile/state_records.h"
#include "storage/database.h"

namespace cdp::profile {

// Read access to committed profile state, for the Profile API and tools. Sees what the processor
// has committed, never a half-applied batch. With a snapshot every call reads the same moment, so
// the answers of one request agree (a profile and its timeline, even when a merge commits between
// the reads). Thread-safe (each call reads on its own).
class ProfileStore {
 public:
  explicit ProfileStore(storage::Database& database, const rocksdb::Snapshot* snapshot = nullptr)
      : database_(database) {
    read_options_.snapshot = snapshot;
  }

  // The stored record of `id` (live or merged away), or nullopt.
  Result<std::optional<Profile>> get(ProfileId id);
  // The live profile `id` ends in (itself when live), or nullopt when unknown.
  Result<std::optional<Profile>> live(ProfileId id);
  // The live profile holding `identifier` (already normalised), or nullopt.
  Result<std::optional<Profile>> find(const identity::Identifier& identifier);

  struct TimelineEntry {
    uint64_t seq = 0;
    int64_t timestamp_ms = 0;
    std::string type;
    std::string event;  // track: the event name; others: empty
  };
  struct TimelineQuery {
    size_t limit = 20;
    // Only entries strictly older than this (timestamp, seq): the previous page's last entry.
    std::optional<std::pair<int64_t, uint64_t>> before;
    std::string event;  // only this event name (track calls); empty: all
    std::string type;   // only this call type; empty: all
    int64_t from_ms = std::numeric_limits<int64_t>::min();  // inclusive
    int64_t to_ms = std::numeric_limits<int64_t>::max();    // exclusive
  };
  // The events of `profile` and of every profile merged into it, newest first.
  Result<std::vector<TimelineEntry>> timeline(const Profile& profile, const TimelineQuery& query);

  // Every identity edge of `profile` and of the profiles merged into it, in log order.
  Result<std::vector<Edge>> edges(const Profile& profile);

  Result<std::optional<Account>> account(const std::string& group_id);

  struct Quarantined {
    identity::Identifier identifier;
    std::string profile;  // the profile it stays on, as p_N
  };
  Result<std::vector<Quarantined>> quarantined(size_t limit);

 private:
  storage::Database& database_;
  rocksdb::ReadOptions read_options_;
};

}  // namespace cdp::profile
