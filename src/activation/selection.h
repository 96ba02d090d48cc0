#pragma once

#include <optional>
#include <string>

#include "activation/destination.h"
#include "ingest/json_tree.h"
#include "profile/audience_records.h"
#include "storage/raw_log_record.h"

namespace cdp::activation {

// One message for a destination, ready to send.
struct Message {
  std::string message_id;  // the event's messageId; audience-SEQ.INDEX for a membership change
  std::string key;         // per-user order: userId, else anonymousId; the profile for changes
  std::string json;        // the message as sent (after the mapping)
};

// What a destination receives of a raw log record: nullopt when it is not subscribed to it, the
// event's consent or integrations object keeps it from this destination, or it is one of the
// server's own entries (sources "cdp:..."). `parser` is scratch space.
std::optional<Message> select_event(const DestinationSpec& spec,
                                    const storage::RawLogRecord& record,
                                    ingest::JsonParser& parser);
// The same for a change of the change log.
std::optional<Message> select_change(const DestinationSpec& spec,
                                     const profile::ChangeLogItem& change,
                                     ingest::JsonParser& parser);

// Segment's consent semantics: an event without context.consent goes everywhere; with it, a
// destination mapped to categories gets it only when each of them is true in
// categoryPreferences (a missing category is a denial).
bool consent_allows(const DestinationSpec& spec, const ingest::JsonValue& event);
// Segment's integrations object: {"<name>": false} excludes the destination; {"All": false}
// excludes every destination not named with true or an object.
bool integrations_allow(const DestinationSpec& spec, const ingest::JsonValue& event);
// The mapped message: an object with each mapping field that the message has, in mapping order.
std::string apply_mapping(const DestinationSpec& spec, const ingest::JsonValue& message);

}  // namespace cdp::activation
