#include "identity/extractor.h"

namespace cdp::identity {
namespace {

using ingest::JsonKind;
using ingest::JsonValue;

const JsonValue* at(const JsonValue* value, std::initializer_list<std::string_view> path) {
  for (auto key : path) {
    if (value == nullptr || !value->is_object()) return nullptr;
    value = value->find(key);
  }
  return value;
}

const JsonValue* at(const JsonValue* value, const std::vector<std::string>& path) {
  for (const auto& key : path) {
    if (value == nullptr || !value->is_object()) return nullptr;
    value = value->find(key);
  }
  return value;
}

std::optional<std::string> scalar_text(const JsonValue* value) {
  if (value == nullptr) return std::nullopt;
  if (value->kind == JsonKind::kString || value->kind == JsonKind::kNumber) {
    return std::string(value->text);
  }
  return std::nullopt;
}

void add(EventIdentifiers& out, std::string_view type, const JsonValue* value) {
  if (auto text = scalar_text(value))
    out.identifiers.push_back({std::string(type), std::move(*text)});
}

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

EventIdentifiers extract_identifiers(const JsonValue& event,
                                     const std::vector<IdentifierPath>& custom) {
  EventIdentifiers out;
  if (!event.is_object()) return out;
  add(out, kUserId, event.find("userId"));
  add(out, kAnonymousId, event.find("anonymousId"));
  add(out, kEmail, at(&event, {"traits", "email"}));
  add(out, kEmail, at(&event, {"context", "traits", "email"}));
  add(out, kPhone, at(&event, {"traits", "phone"}));
  add(out, kPhone, at(&event, {"context", "traits", "phone"}));
  add(out, kDeviceId, at(&event, {"context", "device", "id"}));
  add(out, kAdvertisingId, at(&event, {"context", "device", "advertisingId"}));
  if (const auto* external = at(&event, {"context", "externalIds"});
      external != nullptr && external->kind == JsonKind::kArray) {
    for (const auto* item : external->elements) {
      if (!item->is_object()) continue;
      const auto type = scalar_text(item->find("type"));
      const auto id = scalar_text(item->find("id"));
      if (!type || !id) continue;
      const auto name = lower_ascii(*type);
      if (!is_identifier_type(name)) continue;
      out.identifiers.push_back({name, *id});
    }
  }
  for (const auto& configured : custom) add(out, configured.type, at(&event, configured.path));
  if (const auto* type = event.find("type"); type != nullptr && type->text == "alias") {
    out.previous_id = scalar_text(event.find("previousId"));
  }
  return out;
}

Result<std::vector<std::string>> parse_path(std::string_view dotted) {
  std::vector<std::string> path;
  size_t start = 0;
  while (true) {
    const auto dot = dotted.find('.', start);
    const auto segment = dotted.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (segment.empty()) {
      return Status::invalid_argument("path \"" + std::string(dotted) +
                                      "\" has an empty segment; write it like traits.crm_id");
    }
    path.emplace_back(segment);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return path;
}

}  // namespace cdp::identity
