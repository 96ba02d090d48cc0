#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "audience/definitions.h"
#include "audience/engine.h"
#include "common/status.h"
#include "identity/resolver.h"
#include "storage/database.h"

namespace cdp::profile {

using identity::ProfileId;

// Keys of the `audiences` column family (docs/formats/audiences.md).
inline constexpr std::string_view kAudienceDefinitionPrefix = "d/a/";
inline constexpr std::string_view kTraitDefinitionPrefix = "d/t/";
inline constexpr std::string_view kCheckPrefix = "x/";
std::string audience_definition_key(std::string_view name);
std::string trait_definition_key(std::string_view name);
// Current members: m/ name \0 profile -> u64 BE entered at (ms).
std::string member_prefix(std::string_view audience);
std::string member_key(std::string_view audience, ProfileId profile);
// Entries and exits: h/ name \0 time profile -> history_value(entered).
std::string history_prefix(std::string_view audience);
std::string history_key(std::string_view audience, int64_t time_ms, ProfileId profile);
// One byte: 1 entered, 0 exited. history_entered also reads the JSON values of data written
// before 2026-11-26 ({"entered":bool,"cause":"..."}).
std::string history_value(bool entered);
bool history_entered(std::string_view value);
// When time alone may change a profile's memberships: x/ time profile -> "".
std::string check_key(int64_t time_ms, ProfileId profile);
// Decodes (time, profile) from a check key, or (0, 0).
std::pair<int64_t, ProfileId> decode_check_key(std::string_view key);
// (time, profile) from a history key's suffix after history_prefix(name).
std::pair<int64_t, ProfileId> decode_history_suffix(std::string_view suffix);

// The change log (`changes`): key = seq of the log entry that caused the changes, then the index
// of the first change it holds; value = one profile's changes (docs/formats/audiences.md).
std::string change_key(uint64_t seq, uint32_t index);

// One membership change of the change log as GET /admin/v1/changes shows it.
struct ChangeLogItem {
  uint64_t seq = 0;
  uint32_t index = 0;
  // {"type":"audience_entered"|"audience_exited","audience":..,"profile":..,"user_id":..,
  // "time":..,"cause":..,"seq":..} (user_id when the profile has one) or
  // {"type":"traits_changed","profile":..,"user_id":..,"traits":{..},"time":..,
  // "cause":..,"seq":..}
  std::string json;
};
struct ChangeCursor {
  uint64_t seq = 0;
  uint32_t index = 0;
};
// (seq, index of the first change) from a change_key(); nullopt for a key of another length
// (not written by this version).
std::optional<ChangeCursor> decode_change_key(std::string_view key);
// Calls `visit` for each change after `after` (nullopt: from the first), in log order, until it
// returns false. Entries written before 2026-11-26 held one change each, already in this form.
Status read_change_log(storage::Database& database, std::optional<ChangeCursor> after,
                       const std::function<bool(const ChangeLogItem&)>& visit);

// Every stored definition, compiled.
Result<std::shared_ptr<const audience::Definitions>> load_definitions(storage::Database& database);

}  // namespace cdp::profile
