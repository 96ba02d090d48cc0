#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "audience/aggregate.h"
#include "audience/funnel.h"
#include "common/flat_map.h"
#include "common/json_writer.h"
#include "common/status.h"
#include "ingest/json_tree.h"

namespace cdp::audience {

// One profile's audience state, stored inside its profile record (docs/formats/profiles.md):
// what its computed traits, `performed` counters and funnels have seen, and the audiences it is
// in. Keys of `aggregates` are Definitions::trait_key() / counter_key(); of `funnels`,
// Definitions::funnel_key().
struct ProfileAudienceState {
  FlatMap<AggregateState> aggregates;
  FlatMap<FunnelState> funnels;
  FlatMap<int64_t> audiences;  // name -> when it entered
  int64_t next_check_ms = 0;   // when time alone may change something; 0: never

  bool empty() const {
    return aggregates.empty() && funnels.empty() && audiences.empty() && next_check_ms == 0;
  }
  bool operator==(const ProfileAudienceState&) const = default;
};

// Growing the maps moves their entries, which must not fall back to copying.
static_assert(std::is_nothrow_move_constructible_v<FlatMap<AggregateState>::value_type>);
static_assert(std::is_nothrow_move_constructible_v<FlatMap<FunnelState>::value_type>);

// The binary form that profile records hold (profile_state_binary.cc): appended to `out`.
void encode_audience_state(std::string& out, const ProfileAudienceState& state);
// Corrupt when `bytes` is not exactly one encoded state.
Result<ProfileAudienceState> decode_audience_state(std::string_view bytes);

// The JSON form of records written before format version 8 (`aud`), still read.
void write_audience_state(JsonWriter& out, const ProfileAudienceState& state);
Result<ProfileAudienceState> read_audience_state(const ingest::JsonValue& json);

}  // namespace cdp::audience
