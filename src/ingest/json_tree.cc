#include "ingest/json_tree.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "common/json_writer.h"

namespace cdp::ingest {
namespace {

using simdjson::error_code;
namespace ondemand = simdjson::ondemand;

std::string_view trim_trailing_space(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\r' ||
                           text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool is_json_number(std::string_view text) {
  size_t i = 0;
  const size_t n = text.size();
  if (i < n && text[i] == '-') ++i;
  if (i >= n) return false;
  if (text[i] == '0') {
    ++i;
  } else if (is_digit(text[i])) {
    while (i < n && is_digit(text[i])) ++i;
  } else {
    return false;
  }
  if (i < n && text[i] == '.') {
    ++i;
    if (i >= n || !is_digit(text[i])) return false;
    while (i < n && is_digit(text[i])) ++i;
  }
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
    if (i >= n || !is_digit(text[i])) return false;
    while (i < n && is_digit(text[i])) ++i;
  }
  return i == n;
}

const JsonValue* JsonValue::find(std::string_view key) const {
  for (auto it = members.rbegin(); it != members.rend(); ++it) {
    if (it->key == key) return it->value;
  }
  return nullptr;
}

std::vector<bool> last_occurrences(const JsonValue& object) {
  const auto& members = object.members;
  std::vector<bool> is_last(members.size(), true);
  if (members.size() <= 16) {
    // Small objects (nearly all of them) compare directly instead of hashing.
    for (size_t i = 0; i < members.size(); ++i) {
      for (size_t j = i + 1; j < members.size(); ++j) {
        if (members[j].key == members[i].key) {
          is_last[i] = false;
          break;
        }
      }
    }
    return is_last;
  }
  std::unordered_map<std::string_view, size_t> last_index;
  last_index.reserve(members.size());
  for (size_t i = 0; i < members.size(); ++i) last_index[members[i].key] = i;
  for (size_t i = 0; i < members.size(); ++i) is_last[i] = last_index[members[i].key] == i;
  return is_last;
}

bool write_json(std::string& out, const JsonValue& value, size_t stop_after) {
  switch (value.kind) {
    case JsonKind::kNull: out.append("null"); break;
    case JsonKind::kBool: out.append(value.boolean ? "true" : "false"); break;
    case JsonKind::kNumber: out.append(value.text); break;
    case JsonKind::kString: append_json_string(out, value.text); break;
    case JsonKind::kArray: {
      out.push_back('[');
      for (size_t i = 0; i < value.elements.size(); ++i) {
        if (i > 0) out.push_back(',');
        if (!write_json(out, *value.elements[i], stop_after)) return false;
      }
      out.push_back(']');
      break;
    }
    case JsonKind::kObject: {
      const auto& members = value.members;
      const std::vector<bool> is_last = last_occurrences(value);
      out.push_back('{');
      bool first = true;
      for (size_t i = 0; i < members.size(); ++i) {
        if (!is_last[i]) continue;
        if (!first) out.push_back(',');
        first = false;
        append_json_string(out, members[i].key);
        out.push_back(':');
        if (!write_json(out, *members[i].value, stop_after)) return false;
      }
      out.push_back('}');
      break;
    }
  }
  return out.size() <= stop_after;
}

void write_json(std::string& out, const JsonValue& value) {
  write_json(out, value, std::numeric_limits<size_t>::max());
}

namespace {
constexpr size_t kFirstBlockBytes = 64 * 1024;
}  // namespace

JsonParser::JsonParser()
    : first_block_(std::make_unique_for_overwrite<std::byte[]>(kFirstBlockBytes)),
      arena_(first_block_.get(), kFirstBlockBytes) {}

JsonValue* JsonParser::new_value() {
  void* memory = arena_.allocate(sizeof(JsonValue), alignof(JsonValue));
  // Values live in the arena and are released wholesale: their destructors never run, which is
  // fine because their vectors also allocate only from the arena.
  return new (memory) JsonValue(&arena_);
}

Status JsonParser::error_at(error_code error, std::string_view what) {
  std::string message = "invalid JSON";
  if (!what.empty()) message += " in " + std::string(what);
  message += ": ";
  message += simdjson::error_message(error);
  const char* location = nullptr;
  if (document_started_ && document_.current_location().get(location) == simdjson::SUCCESS &&
      location != nullptr && input_begin_ != nullptr && location > input_begin_) {
    message += " (at byte " + std::to_string(location - input_begin_) + ")";
  }
  return Status::invalid_argument(std::move(message));
}

Status JsonParser::start(std::string_view json) {
  arena_.release();
  document_started_ = false;
  if (json.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return Status::invalid_argument("invalid JSON: the document is empty");
  }
  const size_t needed = json.size() + simdjson::SIMDJSON_PADDING;
  if (needed > buffer_capacity_) {
    buffer_capacity_ = std::max(needed, buffer_capacity_ * 2);
    buffer_ = std::make_unique<char[]>(buffer_capacity_);
  }
  std::memcpy(buffer_.get(), json.data(), json.size());
  std::memset(buffer_.get() + json.size(), 0, simdjson::SIMDJSON_PADDING);
  input_begin_ = buffer_.get();

  if (auto error = parser_.iterate(buffer_.get(), json.size(), buffer_capacity_).get(document_)) {
    return error_at(error, "");
  }
  document_started_ = true;
  return Status::ok();
}

Result<const JsonValue*> JsonParser::parse_member(std::string_view json, std::string_view key) {
  const std::string_view keys[] = {key};
  auto object = parse_members(json, keys);
  if (!object) return object.status();
  return (*object)->find(key);
}

Result<const JsonValue*> JsonParser::parse_members(std::string_view json,
                                                   std::span<const std::string_view> keys) {
  CDP_RETURN_IF_ERROR(start(json));
  ondemand::object object;
  if (auto error = document_.get_object().get(object)) return error_at(error, "");
  JsonValue* root = new_value();
  root->kind = JsonKind::kObject;
  for (auto field_result : object) {
    ondemand::field field;
    auto error = std::move(field_result).get(field);
    if (error) return error_at(error, "an object");
    std::string_view name;
    if ((error = field.unescaped_key().get(name))) return error_at(error, "an object key");
    if (std::find(keys.begin(), keys.end(), name) == keys.end()) continue;  // skips its value
    JsonValue* value = new_value();
    CDP_RETURN_IF_ERROR(build(field.value(), *value, 1));
    root->members.push_back({name, value});
  }
  return root;
}

Result<const JsonValue*> JsonParser::parse(std::string_view json) {
  CDP_RETURN_IF_ERROR(start(json));
  ondemand::json_type type;
  simdjson::error_code error;
  if ((error = document_.type().get(type))) return error_at(error, "");
  JsonValue* root = new_value();
  if (type == ondemand::json_type::object) {
    ondemand::object object;
    if ((error = document_.get_object().get(object))) return error_at(error, "");
    CDP_RETURN_IF_ERROR(build_object(object, *root, 1));
  } else if (type == ondemand::json_type::array) {
    ondemand::array array;
    if ((error = document_.get_array().get(array))) return error_at(error, "");
    CDP_RETURN_IF_ERROR(build_array(array, *root, 1));
  } else {
    return Status::invalid_argument(
        "invalid JSON: the body must be a JSON object, not a bare value");
  }
  // current_location() fails with OUT_OF_BOUNDS exactly when the whole input was consumed.
  const char* rest = nullptr;
  if (document_.current_location().get(rest) == simdjson::SUCCESS) {
    return Status::invalid_argument(
        "invalid JSON: unexpected content after the top-level value (at byte " +
        std::to_string(rest - input_begin_) + ")");
  }
  return static_cast<const JsonValue*>(root);
}

Status JsonParser::build_object(ondemand::object object, JsonValue& out, size_t depth) {
  if (depth > kMaxDepth) {
    return Status::invalid_argument("invalid JSON: nested deeper than " +
                                    std::to_string(kMaxDepth) + " levels");
  }
  out.kind = JsonKind::kObject;
  for (auto field_result : object) {
    ondemand::field field;
    auto error = std::move(field_result).get(field);
    if (error) return error_at(error, "an object");
    std::string_view key;
    if ((error = field.unescaped_key().get(key))) return error_at(error, "an object key");
    JsonValue* child = new_value();
    CDP_RETURN_IF_ERROR(build(field.value(), *child, depth));
    out.members.push_back(JsonMember{key, child});
  }
  return Status::ok();
}

Status JsonParser::build_array(ondemand::array array, JsonValue& out, size_t depth) {
  if (depth > kMaxDepth) {
    return Status::invalid_argument("invalid JSON: nested deeper than " +
                                    std::to_string(kMaxDepth) + " levels");
  }
  out.kind = JsonKind::kArray;
  for (auto element_result : array) {
    ondemand::value element;
    auto error = std::move(element_result).get(element);
    if (error) return error_at(error, "an array");
    JsonValue* child = new_value();
    CDP_RETURN_IF_ERROR(build(element, *child, depth));
    out.elements.push_back(child);
  }
  return Status::ok();
}

Status JsonParser::build(ondemand::value value, JsonValue& out, size_t depth) {
  ondemand::json_type type;
  auto error = value.type().get(type);
  if (error) return error_at(error, "a value");
  switch (type) {
    case ondemand::json_type::object: {
      ondemand::object object;
      if ((error = value.get_object().get(object))) return error_at(error, "an object");
      return build_object(object, out, depth + 1);
    }
    case ondemand::json_type::array: {
      ondemand::array array;
      if ((error = value.get_array().get(array))) return error_at(error, "an array");
      return build_array(array, out, depth + 1);
    }
    case ondemand::json_type::string: {
      out.kind = JsonKind::kString;
      if ((error = value.get_string().get(out.text))) return error_at(error, "a string");
      return Status::ok();
    }
    case ondemand::json_type::number: {
      out.kind = JsonKind::kNumber;
      out.text = trim_trailing_space(value.raw_json_token());
      if (!is_json_number(out.text)) {
        return Status::invalid_argument("invalid JSON: '" + std::string(out.text.substr(0, 40)) +
                                        "' is not a number");
      }
      return Status::ok();
    }
    case ondemand::json_type::boolean: {
      out.kind = JsonKind::kBool;
      if ((error = value.get_bool().get(out.boolean))) return error_at(error, "a boolean");
      return Status::ok();
    }
    case ondemand::json_type::null: {
      bool is_null = false;
      if ((error = value.is_null().get(is_null)) || !is_null) {
        return error_at(error ? error : simdjson::N_ATOM_ERROR, "a null");
      }
      out.kind = JsonKind::kNull;
      return Status::ok();
    }
  }
  return Status::invalid_argument("invalid JSON: unknown value type");
}

}  // namespace cdp::ingest
