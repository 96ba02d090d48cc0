#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cdp::storage {

// The source of entries the server appends itself (identity commands such as an unmerge), so that
// they take their place in the log's order. Source names cannot contain ':', so no configured
// source can send as it. Exports (`cdp events`, /admin/v1/events) include these entries; the
// processor applies them; consumers that deliver events must skip them.
inline constexpr std::string_view kAdminSource = "cdp:admin";
// The source of probabilistic links between profiles ({"type":"link"}, docs/identity.md), which
// the matcher and accepted reviews append. Applied like events, in ordinary batches.
inline constexpr std::string_view kMatchSource = "cdp:match";

// One entry of the raw log: an accepted, normalised event. See docs/formats/raw-log.md.
struct RawLogRecord {
  uint64_t seq = 0;
  std::string source;
  int64_t received_at_ms = 0;
  std::string event_json;  // the normalised event, one JSON object

  // The value stored under key u64_be(seq):
  //   u8 version (1) | u64 BE receivedAt ms | u8 source length | source | event JSON
  std::string encode_value() const;
  // Returns nullopt when `value` is not a record this build can read.
  static std::optional<RawLogRecord> decode(uint64_t seq, std::string_view value);
  // {"seq":1,"source":"web","receivedAt":"...","event":{...}}: the JSON Lines export form.
  std::string to_json_line() const;
};

// Encodes the value without building a RawLogRecord; for the commit path.
void encode_raw_log_value(std::string& out, std::string_view source, int64_t received_at_ms,
                          std::string_view event_json);

}  // namespace cdp::storage
