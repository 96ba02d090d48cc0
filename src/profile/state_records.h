#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "identity/resolver.h"
#include "identity/unmerge_blocks.h"
#include "ingest/json_tree.h"

// Encodings of the processor's state records other than profiles (docs/formats/profiles.md).
namespace cdp::profile {

using identity::ProfileId;

// Value of the `identifiers` column family, keyed by Identifier::key().
struct IdentifierRecord {
  ProfileId profile = 0;  // the profile it was linked to (follow merged_into to the live one)
  bool quarantined = false;
  int64_t quarantined_ms = 0;
  // Distinct profiles whose events carried this identifier but could not take it (a rule
  // refused), with the last time; pruned to the quarantine window.
  std::vector<std::pair<ProfileId, int64_t>> conflicts;
};
std::string encode_identifier_record(const IdentifierRecord& record);
Result<IdentifierRecord> decode_identifier_record(std::string_view value);

// One entry of a profile's timeline (`profile_events`): key profile | time | seq, value
// type NUL event-name, or for a track call that keeps its properties
// type 0x01 u32-BE-name-length event-name properties-JSON, or, when it left some out,
// type 0x02 u32-BE-name-length event-name u32-BE-names-length left-out-names properties-JSON
// (docs/formats/profiles.md).
std::string timeline_key(ProfileId profile, int64_t timestamp_ms, uint64_t seq);
std::string timeline_prefix(ProfileId profile);
struct TimelineKey {
  ProfileId profile = 0;
  int64_t timestamp_ms = 0;
  uint64_t seq = 0;
};
std::optional<TimelineKey> decode_timeline_key(std::string_view key);

// A track call's properties are kept in its timeline entry, so that a new computed trait or
// audience reads its history without a raw log lookup per event. Kept: each top-level property
// whose value is at most kTimelineValueLimit bytes of compact JSON (numbers, flags, names, ids,
// short texts: what conditions compare), up to kTimelinePropertiesLimit bytes in all; the
// others (long texts, product lists) are left out and named, and a reader that needs one of
// them reads the event from the raw log. Kept whole, 475-byte properties made the profile state
// on disk 9.6x bigger and its compactions cost more CPU than the processor's writes
// (bench/RESULTS.md, 2026-11-28 21:05 and 2026-11-29 07:30 UTC).
inline constexpr size_t kTimelinePropertiesLimit = 512;
inline constexpr size_t kTimelineValueLimit = 128;
// An entry that keeps no properties (a reader that needs them looks them up in the raw log).
std::string encode_timeline_value(std::string_view type, std::string_view event);
// A track call's entry. `properties`: its properties member (nullptr, or not an object, when it
// has none).
std::string encode_track_timeline_value(std::string_view event,
                                        const ingest::JsonValue* properties);
struct TimelineValue {
  std::string_view type;
  std::string_view event;
  // Whether the entry keeps the event's properties; `properties` is then their JSON, or empty
  // when the event had no properties object. Those named in `left_out` are not in it.
  bool has_properties = false;
  std::string_view properties;
  // The names of the top-level properties left out, each as u16-BE length and bytes.
  std::string_view left_out;

  // Whether the property `name` was left out of `properties` (a reader that needs it reads the
  // raw log).
  bool left_out_property(std::string_view name) const;
};
std::optional<TimelineValue> decode_timeline_value(std::string_view value);

// Provenance of identity decisions (`identity_edges`): key profile | seq | index, value JSON.
enum class EdgeKind { kLink, kMerge, kDrop, kQuarantine, kUnmerge, kProbabilistic };
std::string_view edge_kind_name(EdgeKind kind);
struct Edge {
  EdgeKind kind = EdgeKind::kLink;
  uint64_t seq = 0;
  std::string message_id;
  int64_t time_ms = 0;
  ProfileId profile = 0;  // the profile the edge belongs to
  // merge: the profile merged in; drop: the profile holding the identifier; quarantine: the
  // profile whose event tipped it over (the edge itself is filed under the holder); unmerge: the
  // profile that was split
  ProfileId other_profile = 0;
  std::vector<std::string> identifiers;  // type:value, the identifiers involved
  std::string rule;
  // probabilistic (a merge made by a probabilistic link): the match probability and the
  // matcher's explanation of the pair (JSON: per-field levels and weights).
  double score = 0;
  std::string explanation = {};
};
std::string edge_key(ProfileId profile, uint64_t seq, uint16_t index);
std::string encode_edge(const Edge& edge);
Result<Edge> decode_edge(std::string_view json);

// An unmerge and what it did (meta `unmerge/<seq, 20 digits>`), written when the processor
// applies the unmerge entry of the raw log. While `active`, its block keeps the sides apart.
inline constexpr std::string_view kUnmergePrefix = "unmerge/";
struct UnmergeRecord {
  identity::UnmergeBlock block;  // block.id: the seq of the unmerge entry
  ProfileId profile = 0;         // the profile it split
  std::string identifier;        // what was removed: an identifier (type:value) ...
  ProfileId merged = 0;          // ... or a profile merged into `profile`
  int64_t time_ms = 0;           // when it was requested
  bool applied = false;          // false: refused, `message` says why
  bool active = false;           // applied and not re-allowed since
  std::string message;
  std::vector<ProfileId> profiles;  // where the split profile's events went
  uint64_t reallowed_seq = 0;       // the re-allow entry that lifted the block
};
std::string unmerge_key(uint64_t seq);
std::string encode_unmerge(const UnmergeRecord& record);
Result<UnmergeRecord> decode_unmerge(std::string_view json);

// Accounts (`accounts`): "a" NUL groupId -> account JSON; "m" NUL groupId NUL profile -> "".
std::string account_key(std::string_view group_id);
std::string membership_key(std::string_view group_id, ProfileId profile);

}  // namespace cdp::profile
