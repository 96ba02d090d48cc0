#include "profile/state_records.h"

#include <charconv>
#include <cstdlib>

#include "common/json_writer.h"
#include "ingest/json_tree.h"
#include "storage/big_endian.h"

namespace cdp::profile {
namespace {

using storage::append_u16_be;
using storage::append_u32_be;
using storage::append_u64_be;
using storage::read_u16_be;
using storage::read_u32_be;
using storage::read_u64_be;

constexpr uint8_t kIdentifierRecordVersion = 1;

// Timestamps may precede 1970: flipping the sign bit keeps signed order in unsigned bytes.
uint64_t ordered(int64_t value) { return static_cast<uint64_t>(value) ^ (1ULL << 63); }
int64_t unordered(uint64_t value) { return static_cast<int64_t>(value ^ (1ULL << 63)); }

int64_t integer(const ingest::JsonValue* value) {
  if (value == nullptr || value->kind != ingest::JsonKind::kNumber) return 0;
  int64_t out = 0;
  std::from_chars(value->text.data(), value->text.data() + value->text.size(), out);
  return out;
}

}  // namespace

std::string encode_identifier_record(const IdentifierRecord& record) {
  std::string out;
  out.push_back(static_cast<char>(kIdentifierRecordVersion));
  append_u64_be(out, record.profile);
  out.push_back(record.quarantined ? 1 : 0);
  append_u64_be(out, ordered(record.quarantined_ms));
  append_u64_be(out, record.conflicts.size());
  for (const auto& [profile, time] : record.conflicts) {
    append_u64_be(out, profile);
    append_u64_be(out, ordered(time));
  }
  return out;
}

Result<IdentifierRecord> decode_identifier_record(std::string_view value) {
  if (value.size() < 26 || static_cast<uint8_t>(value[0]) != kIdentifierRecordVersion) {
    return Status::corruption("identifier record has an unknown format");
  }
  IdentifierRecord record;
  record.profile = read_u64_be(value.substr(1));
  record.quarantined = value[9] != 0;
  record.quarantined_ms = unordered(read_u64_be(value.substr(10)));
  const auto count = read_u64_be(value.substr(18));
  if (count > (value.size() - 26) / 16 || value.size() != 26 + count * 16) {
    return Status::corruption("identifier record is truncated");
  }
  for (uint64_t i = 0; i < count; ++i) {
    const auto at = 26 + i * 16;
    record.conflicts.emplace_back(read_u64_be(value.substr(at)),
                                  unordered(read_u64_be(value.substr(at + 8))));
  }
  return record;
}

std::string timeline_prefix(ProfileId profile) {
  std::string key;
  append_u64_be(key, profile);
  return key;
}

std::string timeline_key(ProfileId profile, int64_t timestamp_ms, uint64_t seq) {
  std::string key = timeline_prefix(profile);
  append_u64_be(key, ordered(timestamp_ms));
  append_u64_be(key, seq);
  return key;
}

std::optional<TimelineKey> decode_timeline_key(std::string_view key) {
  if (key.size() != 24) return std::nullopt;
  return TimelineKey{read_u64_be(key), unordered(read_u64_be(key.substr(8))),
                     read_u64_be(key.substr(16))};
}

std::string encode_timeline_value(std::string_view type, std::string_view event) {
  std::string value(type);
  value.push_back('\0');
  value.append(event);
  return value;
}

namespace {

// Writes `properties`' members that fit the limits to the empty `out` as a compact JSON object,
// and the names of the others to `left_out`. False when the names alone are too long to keep.
bool write_kept_properties(std::string& out, std::string& left_out,
                           const ingest::JsonValue& properties) {
  out.push_back('{');
  const auto is_last = ingest::last_occurrences(properties);
  for (size_t i = 0; i < properties.members.size(); ++i) {
    if (!is_last[i]) continue;
    const auto& [key, member] = properties.members[i];
    const auto before = out.size();
    if (before > 1) out.push_back(',');
    append_json_string(out, key);
    out.push_back(':');
    // A string's JSON takes at least its length and two quotes: one that long is not written
    // out only to be dropped. The closing brace must fit too.
    if (!(member->is_string() && member->text.size() + 2 > kTimelineValueLimit) &&
        ingest::write_json(out, *member, out.size() + kTimelineValueLimit) &&
        out.size() + 1 <= kTimelinePropertiesLimit) {
      continue;
    }
    out.resize(before);
    if (key.size() > 0xFFFF) return false;
    append_u16_be(left_out, static_cast<uint16_t>(key.size()));
    left_out.append(key);
    if (left_out.size() > kTimelinePropertiesLimit) return false;
  }
  out.push_back('}');
  return true;
}

}  // namespace

std::string encode_track_timeline_value(std::string_view event,
                                        const ingest::JsonValue* properties) {
  std::string kept;
  std::string left_out;
  if (properties != nullptr && properties->is_object() &&
      !write_kept_properties(kept, left_out, *properties)) {
    return encode_timeline_value("track", event);
  }
  std::string value = left_out.empty() ? "track\x01" : "track\x02";
  append_u32_be(value, static_cast<uint32_t>(event.size()));
  value.append(event);
  if (!left_out.empty()) {
    append_u32_be(value, static_cast<uint32_t>(left_out.size()));
    value.append(left_out);
  }
  value.append(kept);
  return value;
}

std::optional<TimelineValue> decode_timeline_value(std::string_view value) {
  const auto separator = value.find_first_of(std::string_view("\0\x01\x02", 3));
  if (separator == std::string_view::npos) return std::nullopt;
  TimelineValue decoded;
  decoded.type = value.substr(0, separator);
  auto rest = value.substr(separator + 1);
  if (value[separator] == '\0') {
    decoded.event = rest;
    return decoded;
  }
  // Only track calls' entries keep properties.
  if (decoded.type != "track" || rest.size() < 4) return std::nullopt;
  const uint32_t length = read_u32_be(rest);
  if (rest.size() - 4 < length) return std::nullopt;
  decoded.event = rest.substr(4, length);
  rest.remove_prefix(4 + length);
  if (value[separator] == '\x02') {
    if (rest.size() < 4) return std::nullopt;
    const uint32_t names = read_u32_be(rest);
    if (names == 0 || rest.size() - 4 < names) return std::nullopt;
    decoded.left_out = rest.substr(4, names);
    for (auto names_left = decoded.left_out; !names_left.empty();) {
      if (names_left.size() < 2) return std::nullopt;
      const size_t name_length = read_u16_be(names_left);
      if (names_left.size() - 2 < name_length) return std::nullopt;
      names_left.remove_prefix(2 + name_length);
    }
    rest.remove_prefix(4 + names);
  }
  decoded.has_properties = true;
  decoded.properties = rest;
  return decoded;
}

bool TimelineValue::left_out_property(std::string_view name) const {
  // Checked by decode_timeline_value.
  for (auto names = left_out; !names.empty();) {
    const size_t length = read_u16_be(names);
    if (names.substr(2, length) == name) return true;
    names.remove_prefix(2 + length);
  }
  return false;
}

std::string_view edge_kind_name(EdgeKind kind) {
  switch (kind) {
    case EdgeKind::kLink: return "link";
    case EdgeKind::kMerge: return "merge";
    case EdgeKind::kDrop: return "drop";
    case EdgeKind::kQuarantine: return "quarantine";
    case EdgeKind::kUnmerge: return "unmerge";
    case EdgeKind::kProbabilistic: return "probabilistic";
  }
  return "unknown";
}

std::string edge_key(ProfileId profile, uint64_t seq, uint16_t index) {
  std::string key;
  append_u64_be(key, profile);
  append_u64_be(key, seq);
  key.push_back(static_cast<char>(index >> 8));
  key.push_back(static_cast<char>(index & 0xFF));
  return key;
}

std::string encode_edge(const Edge& edge) {
  JsonWriter out;
  out.begin_object();
  out.key("kind").string(edge_kind_name(edge.kind));
  out.key("seq").number(static_cast<int64_t>(edge.seq));
  out.key("message_id").string(edge.message_id);
  out.key("time").number(edge.time_ms);
  out.key("profile").number(static_cast<int64_t>(edge.profile));
  out.key("other_profile").number(static_cast<int64_t>(edge.other_profile));
  out.key("identifiers").begin_array();
  for (const auto& id : edge.identifiers) out.string(id);
  out.end_array();
  out.key("rule").string(edge.rule);
  if (edge.kind == EdgeKind::kProbabilistic) {
    out.key("score").number(edge.score);
    if (!edge.explanation.empty()) out.key("explanation").raw(edge.explanation);
  }
  out.end_object();
  return out.take();
}

Result<Edge> decode_edge(std::string_view json) {
  thread_local ingest::JsonParser parser;
  auto root = parser.parse(json);
  if (!root || !(*root)->is_object()) return Status::corruption("stored identity edge is not JSON");
  const auto& doc = **root;
  Edge edge;
  const auto* kind = doc.find("kind");
  const std::string_view name = kind != nullptr ? kind->text : "";
  for (auto candidate : {EdgeKind::kLink, EdgeKind::kMerge, EdgeKind::kDrop, EdgeKind::kQuarantine,
                         EdgeKind::kUnmerge, EdgeKind::kProbabilistic}) {
    if (edge_kind_name(candidate) == name) edge.kind = candidate;
  }
  edge.seq = static_cast<uint64_t>(integer(doc.find("seq")));
  if (const auto* id = doc.find("message_id"); id != nullptr)
    edge.message_id = std::string(id->text);
  edge.time_ms = integer(doc.find("time"));
  edge.profile = static_cast<ProfileId>(integer(doc.find("profile")));
  edge.other_profile = static_cast<ProfileId>(integer(doc.find("other_profile")));
  if (const auto* ids = doc.find("identifiers"); ids != nullptr) {
    for (const auto* id : ids->elements) edge.identifiers.emplace_back(id->text);
  }
  if (const auto* rule = doc.find("rule"); rule != nullptr) edge.rule = std::string(rule->text);
  if (const auto* score = doc.find("score");
      score != nullptr && score->kind == ingest::JsonKind::kNumber) {
    edge.score = std::strtod(std::string(score->text).c_str(), nullptr);
  }
  if (const auto* explanation = doc.find("explanation"); explanation != nullptr) {
    ingest::write_json(edge.explanation, *explanation);
  }
  return edge;
}

std::string unmerge_key(uint64_t seq) {
  std::string digits = std::to_string(seq);
  return std::string(kUnmergePrefix) + std::string(20 - digits.size(), '0') + digits;
}

std::string encode_unmerge(const UnmergeRecord& record) {
  JsonWriter out;
  out.begin_object();
  out.key("seq").number(static_cast<int64_t>(record.block.id));
  out.key("profile").number(static_cast<int64_t>(record.profile));
  out.key("identifier").string(record.identifier);
  out.key("merged").number(static_cast<int64_t>(record.merged));
  out.key("time").number(record.time_ms);
  out.key("applied").boolean(record.applied);
  out.key("active").boolean(record.active);
  out.key("message").string(record.message);
  out.key("sides").begin_array();
  for (const auto& side : record.block.sides) {
    out.begin_array();
    for (const auto& id : side) out.string(id.display());
    out.end_array();
  }
  out.end_array();
  out.key("profiles").begin_array();
  for (const auto id : record.profiles) out.number(static_cast<int64_t>(id));
  out.end_array();
  out.key("reallowed_seq").number(static_cast<int64_t>(record.reallowed_seq));
  out.end_object();
  return out.take();
}

Result<UnmergeRecord> decode_unmerge(std::string_view json) {
  thread_local ingest::JsonParser parser;
  auto root = parser.parse(json);
  if (!root || !(*root)->is_object()) return Status::corruption("stored unmerge is not JSON");
  const auto& doc = **root;
  UnmergeRecord record;
  record.block.id = static_cast<uint64_t>(integer(doc.find("seq")));
  record.profile = static_cast<ProfileId>(integer(doc.find("profile")));
  if (const auto* id = doc.find("identifier"); id != nullptr) record.identifier = id->text;
  record.merged = static_cast<ProfileId>(integer(doc.find("merged")));
  record.time_ms = integer(doc.find("time"));
  const auto* applied = doc.find("applied");
  record.applied = applied != nullptr && applied->boolean;
  const auto* active = doc.find("active");
  record.active = active != nullptr && active->boolean;
  if (const auto* message = doc.find("message"); message != nullptr) record.message = message->text;
  if (const auto* sides = doc.find("sides"); sides != nullptr) {
    for (size_t side = 0; side < 2 && side < sides->elements.size(); ++side) {
      for (const auto* text : sides->elements[side]->elements) {
        auto identifier = identity::parse_identifier(text->text);
        if (!identifier) return Status::corruption("stored unmerge has a malformed identifier");
        record.block.sides[side].push_back(std::move(*identifier));
      }
    }
  }
  if (const auto* profiles = doc.find("profiles"); profiles != nullptr) {
    for (const auto* id : profiles->elements)
      record.profiles.push_back(static_cast<ProfileId>(integer(id)));
  }
  record.reallowed_seq = static_cast<uint64_t>(integer(doc.find("reallowed_seq")));
  return record;
}

std::string account_key(std::string_view group_id) {
  std::string key = "a";
  key.push_back('\0');
  key.append(group_id);
  return key;
}

std::string membership_key(std::string_view group_id, ProfileId profile) {
  std::string key = "m";
  key.push_back('\0');
  key.append(group_id);
  key.push_back('\0');
  append_u64_be(key, profile);
  return key;
}

}  // namespace cdp::profile
