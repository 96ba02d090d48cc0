#include "ingest/event_normalizer.h"

#include <array>

#include "common/json_writer.h"
#include "common/time_format.h"
#include "common/uuid.h"

namespace cdp::ingest {
namespace {

constexpr std::array<std::string_view, 6> kTypes = {"identify", "track", "page",
                                                    "screen",   "group", "alias"};

// Fields the normaliser writes itself; every other member passes through unchanged.
constexpr std::array<std::string_view, 12> kManagedFields = {
    "type",       "messageId",    "userId",    "anonymousId",       "previousId",
    "context",    "integrations", "timestamp", "originalTimestamp", "sentAt",
    "receivedAt", "writeKey"};

bool is_managed(std::string_view key) {
  for (auto managed : kManagedFields) {
    if (key == managed) return true;
  }
  return false;
}

bool present(const JsonValue* value) { return value != nullptr && value->kind != JsonKind::kNull; }

// An identifier field: a non-empty string, or a number kept as its exact digits.
// Absent, null and "" all mean "not given".
struct IdField {
  std::string_view value;
  bool wrong_type = false;
};

IdField id_field(const JsonValue& item, std::string_view name) {
  const JsonValue* value = item.find(name);
  if (!present(value)) return {};
  if (value->kind == JsonKind::kString || value->kind == JsonKind::kNumber) return {value->text};
  return {{}, true};
}

// Writes `primary`'s members, then `secondary`'s members whose keys `primary` lacks
// (event-level values win over the envelope's), then `ip` under "ip" when `set_ip`.
void write_merged_object(std::string& out, const JsonValue* primary, const JsonValue* secondary,
                         std::string_view ip, bool set_ip) {
  out.push_back('{');
  bool first = true;
  auto member = [&](std::string_view key) {
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, key);
    out.push_back(':');
  };
  if (primary != nullptr) {
    const auto is_last = last_occurrences(*primary);
    for (size_t i = 0; i < primary->members.size(); ++i) {
      const auto& m = primary->members[i];
      if (!is_last[i] || (set_ip && m.key == "ip")) continue;
      member(m.key);
      write_json(out, *m.value);
    }
  }
  if (secondary != nullptr) {
    const auto is_last = last_occurrences(*secondary);
    for (size_t i = 0; i < secondary->members.size(); ++i) {
      const auto& m = secondary->members[i];
      if (!is_last[i] || (primary != nullptr && primary->find(m.key) != nullptr) ||
          (set_ip && m.key == "ip")) {
        continue;
      }
      member(m.key);
      write_json(out, *m.value);
    }
  }
  if (set_ip) {
    member("ip");
    append_json_string(out, ip);
  }
  out.push_back('}');
}

void write_key(std::string& out, std::string_view key) {
  out.push_back(',');
  append_json_string(out, key);
  out.push_back(':');
}

}  // namespace

NormalizeOutcome normalize_event(const JsonValue& item, const EventDefaults& defaults,
                                 const TrackingLimits& limits) {
  NormalizeOutcome outcome;
  auto reject = [&](std::string code, std::string reason) {
    outcome.error = EventError{std::move(code), std::move(reason)};
    return outcome;
  };
  if (!item.is_object()) return reject("invalid_event", "an event must be a JSON object");

  // messageId: kept as sent (numbers as their digits), or assigned.
  std::string message_id;
  if (const JsonValue* sent = item.find("messageId"); present(sent)) {
    if (sent->kind != JsonKind::kString && sent->kind != JsonKind::kNumber) {
      return reject("invalid_field_type", "messageId must be a string");
    }
    message_id = sent->text;
    outcome.message_id_as_sent = message_id;
    if (message_id.size() > limits.max_message_id_bytes) {
      return reject(
          "invalid_message_id",
          "messageId is longer than " + std::to_string(limits.max_message_id_bytes) + " bytes");
    }
  }
  if (message_id.empty()) message_id = new_uuid_v4();

  std::string_view type = defaults.type;
  if (type.empty()) {
    const JsonValue* sent_type = item.find("type");
    if (!present(sent_type)) return reject("missing_type", "a batch item needs a \"type\"");
    if (!sent_type->is_string()) return reject("invalid_field_type", "type must be a string");
    type = sent_type->text;
    bool known = false;
    for (auto candidate : kTypes) known = known || candidate == type;
    if (!known) {
      return reject("invalid_type",
                    "type \"" + std::string(type.substr(0, 40)) +
                        "\" is not one of identify, track, page, screen, group, alias");
    }
  }

  const IdField user_id = id_field(item, "userId");
  const IdField anonymous_id = id_field(item, "anonymousId");
  if (user_id.wrong_type)
    return reject("invalid_field_type", "userId must be a string or a number");
  if (anonymous_id.wrong_type) {
    return reject("invalid_field_type", "anonymousId must be a string or a number");
  }
  if (user_id.value.empty() && anonymous_id.value.empty()) {
    return reject("missing_user_id", "an event needs a userId or an anonymousId");
  }

  IdField previous_id;
  if (type == "alias") {
    previous_id = id_field(item, "previousId");
    if (previous_id.wrong_type)
      return reject("invalid_field_type", "previousId must be a string or a number");
    if (previous_id.value.empty())
      return reject("missing_previous_id", "an alias needs a previousId");
  } else if (type == "track") {
    const JsonValue* event = item.find("event");
    if (!present(event)) return reject("missing_event", "a track needs an \"event\" name");
    if (!event->is_string()) return reject("invalid_field_type", "event must be a string");
    if (event->text.empty())
      return reject("missing_event", "a track needs a non-empty \"event\" name");
  } else if (type == "group") {
    const IdField group_id = id_field(item, "groupId");
    if (group_id.wrong_type)
      return reject("invalid_field_type", "groupId must be a string or a number");
    if (group_id.value.empty()) return reject("missing_group_id", "a group call needs a groupId");
  } else if (type == "page" || type == "screen") {
    for (std::string_view name : {"name", "category"}) {
      const JsonValue* value = item.find(name);
      if (present(value) && !value->is_string()) {
        return reject("invalid_field_type", std::string(name) + " must be a string");
      }
    }
  }

  for (std::string_view name : {"properties", "traits", "context", "integrations"}) {
    const JsonValue* value = item.find(name);
    if (present(value) && !value->is_object()) {
      return reject("invalid_field_type", std::string(name) + " must be an object");
    }
  }
  const JsonValue* context = item.find("context");
  if (!present(context)) context = nullptr;
  const JsonValue* integrations = item.find("integrations");
  if (!present(integrations)) integrations = nullptr;

  // Timestamps. The client's own clock time is originalTimestamp (or timestamp, which server-side
  // libraries and imports set). With sentAt, the client's clock skew is removed as Segment does:
  // timestamp = receivedAt - (sentAt - originalTimestamp).
  struct TimeField {
    const JsonValue* value = nullptr;
    int64_t ms = 0;
  };
  TimeField original, sent_at;
  for (auto [name, field] :
       {std::pair<std::string_view, TimeField*>{"originalTimestamp", &original},
        {"timestamp", &original},
        {"sentAt", &sent_at}}) {
    if (field->value != nullptr) continue;
    const JsonValue* value = item.find(name);
    if (name == "sentAt" && !present(value)) value = defaults.sent_at;
    if (!present(value)) continue;
    if (!value->is_string())
      return reject("invalid_timestamp", std::string(name) + " must be an ISO 8601 string");
    auto ms = parse_iso8601_ms(value->text);
    if (!ms) {
      return reject("invalid_timestamp", std::string(name) + " \"" +
                                             std::string(value->text.substr(0, 40)) +
                                             "\" is not an ISO 8601 date-time");
    }
    *field = TimeField{value, *ms};
  }
  // `timestamp` must also parse when originalTimestamp was used instead.
  if (const JsonValue* ts = item.find("timestamp"); present(ts) && original.value != ts) {
    if (!ts->is_string() || !parse_iso8601_ms(ts->text)) {
      return reject("invalid_timestamp", "timestamp must be an ISO 8601 date-time");
    }
  }
  int64_t timestamp_ms = defaults.received_at_ms;
  if (original.value != nullptr) {
    timestamp_ms = sent_at.value != nullptr ? defaults.received_at_ms - (sent_at.ms - original.ms)
                                            : original.ms;
  }

  std::string& out = outcome.event.emplace().json;
  out.reserve(512);
  out.append("{\"type\":");
  append_json_string(out, type);
  const auto is_last = last_occurrences(item);
  for (size_t i = 0; i < item.members.size(); ++i) {
    const auto& member = item.members[i];
    if (!is_last[i] || is_managed(member.key)) continue;
    write_key(out, member.key);
    write_json(out, *member.value);
  }
  write_key(out, "messageId");
  append_json_string(out, message_id);
  if (!user_id.value.empty()) {
    write_key(out, "userId");
    append_json_string(out, user_id.value);
  }
  if (!anonymous_id.value.empty()) {
    write_key(out, "anonymousId");
    append_json_string(out, anonymous_id.value);
  }
  if (!previous_id.value.empty()) {
    write_key(out, "previousId");
    append_json_string(out, previous_id.value);
  }
  const JsonValue* envelope_context =
      defaults.context != nullptr && defaults.context->is_object() ? defaults.context : nullptr;
  const JsonValue* direct = context != nullptr ? context->find("direct") : nullptr;
  const bool has_ip = (context != nullptr && present(context->find("ip"))) ||
                      (envelope_context != nullptr && present(envelope_context->find("ip")));
  const bool set_ip =
      !defaults.client_ip.empty() &&
      (!has_ip || (direct != nullptr && direct->kind == JsonKind::kBool && direct->boolean));
  if (context != nullptr || envelope_context != nullptr || set_ip) {
    write_key(out, "context");
    write_merged_object(out, context, envelope_context, defaults.client_ip, set_ip);
  }
  const JsonValue* envelope_integrations =
      defaults.integrations != nullptr && defaults.integrations->is_object() ? defaults.integrations
                                                                             : nullptr;
  if (integrations != nullptr || envelope_integrations != nullptr) {
    write_key(out, "integrations");
    write_merged_object(out, integrations, envelope_integrations, {}, false);
  }
  if (original.value != nullptr) {
    write_key(out, "originalTimestamp");
    append_json_string(out, original.value->text);
  }
  if (sent_at.value != nullptr) {
    write_key(out, "sentAt");
    append_json_string(out, sent_at.value->text);
  }
  write_key(out, "timestamp");
  append_json_string(out, format_iso8601_ms(timestamp_ms));
  write_key(out, "receivedAt");
  append_json_string(out, format_iso8601_ms(defaults.received_at_ms));
  out.push_back('}');

  if (out.size() > limits.max_event_bytes) {
    const size_t size = out.size();
    outcome.event.reset();
    return reject("event_too_large", "the event is " + std::to_string(size) +
                                         " bytes, over the limit of " +
                                         std::to_string(limits.max_event_bytes));
  }
  outcome.event->message_id = std::move(message_id);
  return outcome;
}

}  // namespace cdp::ingest
