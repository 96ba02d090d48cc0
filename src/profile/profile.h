#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audience/profile_state.h"
#include "common/status.h"
#include "identity/identifier.h"
#include "identity/resolver.h"
#include "ingest/json_tree.h"

namespace cdp::profile {

using identity::ProfileId;

// One trait's current value: last write wins by event timestamp (not arrival order).
struct Trait {
  std::string json;  // the value as compact JSON
  std::string source;
  int64_t timestamp_ms = 0;
  std::string message_id;
  uint64_t seq = 0;  // of the event in the raw log: breaks timestamp ties, the later event wins

  // True when this value replaces `other` (or wins against it in a merge).
  bool newer_than(const Trait& other) const {
    return timestamp_ms != other.timestamp_ms ? timestamp_ms > other.timestamp_ms : seq > other.seq;
  }
};

struct ProfileIdentifier {
  identity::Identifier identifier;
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  std::string message_id;  // the event that linked it
};

// The materialised state of one profile, as stored in the `profiles` column family
// (docs/formats/profiles.md). A merged-away profile keeps only its id and merged_into.
struct Profile {
  ProfileId id = 0;
  ProfileId merged_into = 0;           // nonzero: this profile was merged into that one
  std::vector<ProfileId> merged_from;  // every profile merged into this one, transitively
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  uint64_t event_count = 0;
  std::vector<ProfileIdentifier> identifiers;  // in the order they were linked
  std::map<std::string, Trait, std::less<>> traits;
  std::vector<std::string> groups;  // groupIds of the accounts it belongs to
  // Computed traits, audience counters and funnels, memberships (docs/audiences.md).
  audience::ProfileAudienceState audience;

  bool live() const { return merged_into == 0; }
  // The resolver's view: identifiers with their last sighting, and the merge count.
  identity::ProfileIdentity identity() const;
  ProfileIdentifier* find_identifier(const identity::Identifier& identifier);
};

// A group call's account (`accounts` column family): traits with the same last-write-wins rule.
struct Account {
  std::string group_id;
  // A new account starts with first > last, so that min/max take the first event's time.
  int64_t first_seen_ms = std::numeric_limits<int64_t>::max();
  int64_t last_seen_ms = std::numeric_limits<int64_t>::min();
  std::map<std::string, Trait, std::less<>> traits;
};

// Sets each member of `traits` (a JSON object) on `target` unless the stored value is newer.
// Equal timestamps: the later event in the log (higher seq) wins, here and in merges. Returns
// the keys whose value changed (a new trait, or another value), for the change log.
std::vector<std::string> set_traits(std::map<std::string, Trait, std::less<>>& target,
                                    const ingest::JsonValue& traits, const std::string& source,
                                    int64_t timestamp_ms, const std::string& message_id,
                                    uint64_t seq);

std::string encode_account(const Account& account);
Result<Account> decode_account(std::string_view json);

// A profile record (docs/formats/profiles.md): JSON, then, when the profile has audience state,
// a NUL byte and that state's binary form. Records whose state is JSON (`aud`, before format
// version 8) are read too.
std::string encode_profile(const Profile& profile);
Result<Profile> decode_profile(std::string_view record);
// Only what a pass over many profiles reads of each (profile_pass.h): the id, the merge links
// and the audience state. Times, identifiers, traits and groups are left empty;
// decode_profile_details() reads them when a profile needs them. Rationale: a definition or
// preview reads a million records, and building all of each was ~30% of its reading threads'
// time (bench/RESULTS.md, 2026-11-29 07:00 UTC). A record laid out as encode_profile() writes
// it has its head read from its first bytes, without the JSON parser (13:00 UTC); the rest of
// its text is then not validated here.
Result<Profile> decode_profile_head(std::string_view record);
Status decode_profile_details(std::string_view record, Profile& profile);
// What follows the NUL: the audience state alone, written as a merge operand of the record
// (storage/section_merge.h) by a definition, which changes nothing else.
std::string encode_audience_section(const Profile& profile);

// "p_42": how profile ids appear in the API and the log.
std::string profile_id_text(ProfileId id);
std::optional<ProfileId> parse_profile_id(std::string_view text);

}  // namespace cdp::profile
