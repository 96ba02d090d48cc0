#include "activation/selection.h"

#include "audience/evaluator.h"
#include "common/json_writer.h"

namespace cdp::activation {
namespace {

std::string_view string_member(const ingest::JsonValue& object, std::string_view key) {
  const auto* value = object.find(key);
  return value != nullptr && value->is_string() ? value->text : std::string_view();
}

const ingest::JsonValue* object_member(const ingest::JsonValue* object, std::string_view key) {
  if (object == nullptr || !object->is_object()) return nullptr;
  const auto* value = object->find(key);
  return value != nullptr && value->is_object() ? value : nullptr;
}

std::string message_json(const DestinationSpec& spec, const ingest::JsonValue& root,
                         std::string_view original) {
  return spec.mapping.empty() ? std::string(original) : apply_mapping(spec, root);
}

}  // namespace

bool consent_allows(const DestinationSpec& spec, const ingest::JsonValue& event) {
  if (spec.consent_categories.empty()) return true;
  const auto* context = object_member(&event, "context");
  if (context == nullptr || context->find("consent") == nullptr) return true;
  const auto* preferences = object_member(object_member(context, "consent"), "categoryPreferences");
  for (const auto& category : spec.consent_categories) {
    const auto* granted = preferences == nullptr ? nullptr : preferences->find(category);
    if (granted == nullptr || granted->kind != ingest::JsonKind::kBool || !granted->boolean) {
      return false;
    }
  }
  return true;
}

bool integrations_allow(const DestinationSpec& spec, const ingest::JsonValue& event) {
  const auto* integrations = object_member(&event, "integrations");
  if (integrations == nullptr) return true;
  if (const auto* named = integrations->find(spec.name)) {
    return named->is_object() || (named->kind == ingest::JsonKind::kBool && named->boolean);
  }
  const auto* all = integrations->find("All");
  return all == nullptr || all->kind != ingest::JsonKind::kBool || all->boolean;
}

std::string apply_mapping(const DestinationSpec& spec, const ingest::JsonValue& message) {
  std::string out = "{";
  for (const auto& field : spec.mapping) {
    const ingest::JsonValue* value = &message;
    for (const auto& step : field.path) {
      value = value->is_object() ? value->find(step) : nullptr;
      if (value == nullptr) break;
    }
    if (value == nullptr) continue;
    if (out.size() > 1) out += ',';
    JsonWriter key;
    key.string(field.to);
    out += key.str();
    out += ':';
    ingest::write_json(out, *value);
  }
  out += '}';
  return out;
}

std::optional<Message> select_event(const DestinationSpec& spec,
                                    const storage::RawLogRecord& record,
                                    ingest::JsonParser& parser) {
  const auto& events = spec.events;
  if (!events.enabled || record.source.starts_with("cdp:")) return std::nullopt;
  auto root = parser.parse(record.event_json);
  if (!root || !(*root)->is_object()) return std::nullopt;  // the log holds normalised objects
  const auto& event = **root;
  const auto type = string_member(event, "type");
  if (!events.types.empty() && !events.types.contains(type)) return std::nullopt;
  if (!events.names.empty()) {
    const auto name = string_member(event, type == "track" ? "event" : "name");
    if (!events.names.contains(name)) return std::nullopt;
  }
  if (events.filter && !audience::matches_properties(*events.filter, event.find("properties"))) {
    return std::nullopt;
  }
  if (!consent_allows(spec, event) || !integrations_allow(spec, event)) return std::nullopt;
  Message message;
  message.message_id = std::string(string_member(event, "messageId"));
  message.key = std::string(string_member(event, "userId"));
  if (message.key.empty()) message.key = std::string(string_member(event, "anonymousId"));
  message.json = message_json(spec, event, record.event_json);
  return message;
}

std::optional<Message> select_change(const DestinationSpec& spec,
                                     const profile::ChangeLogItem& change,
                                     ingest::JsonParser& parser) {
  if (!reads_change_log(spec)) return std::nullopt;
  auto stored = parser.parse(change.json);
  if (!stored || !(*stored)->is_object()) return std::nullopt;
  const auto type = string_member(**stored, "type");
  const bool traits = type == "traits_changed";
  if (traits ? !spec.traits.enabled : !spec.audiences.enabled) return std::nullopt;
  // The change log's own JSON with its messageId first, so receivers can deduplicate.
  const std::string id = (traits ? "traits-" : "audience-") + std::to_string(change.seq) + "." +
                         std::to_string(change.index);
  std::string json = "{\"messageId\":\"" + id + "\"," + change.json.substr(1);
  if (traits && !spec.traits.names.empty()) {
    // Only the traits the destination names; nothing when none of them changed.
    const auto* values = (*stored)->find("traits");
    if (values == nullptr || !values->is_object()) return std::nullopt;
    JsonWriter out;
    out.begin_object().key("messageId").string(id);
    const auto last = ingest::last_occurrences(**stored);
    for (size_t i = 0; i < (*stored)->members.size(); ++i) {
      const auto& member = (*stored)->members[i];
      if (!last[i]) continue;
      out.key(member.key);
      if (member.key != "traits") {
        std::string value;
        ingest::write_json(value, *member.value);
        out.raw(value);
        continue;
      }
      out.begin_object();
      size_t kept = 0;
      const auto last_trait = ingest::last_occurrences(*values);
      for (size_t t = 0; t < values->members.size(); ++t) {
        const auto& trait = values->members[t];
        if (!last_trait[t] || !spec.traits.names.contains(trait.key)) continue;
        std::string value;
        ingest::write_json(value, *trait.value);
        out.key(trait.key).raw(value);
        ++kept;
      }
      if (kept == 0) return std::nullopt;
      out.end_object();
    }
    json = out.end_object().take();
  }
  auto root = parser.parse(json);
  if (!root || !(*root)->is_object()) return std::nullopt;
  const auto& item = **root;
  if (!traits) {
    const bool entered = string_member(item, "type") == "audience_entered";
    if (entered ? !spec.audiences.entered : !spec.audiences.exited) return std::nullopt;
    if (!spec.audiences.names.empty() &&
        !spec.audiences.names.contains(string_member(item, "audience"))) {
      return std::nullopt;
    }
  }
  Message message;
  message.message_id = id;
  message.key = std::string(string_member(item, "profile"));
  message.json = message_json(spec, item, json);
  return message;
}

}  // namespace cdp::activation
