#include "profile/profile.h"

#include <charconv>

#include "common/json_writer.h"
#include "ingest/json_tree.h"

namespace cdp::profile {
namespace {

using ingest::JsonKind;
using ingest::JsonValue;

int64_t integer(const JsonValue* value) {
  if (value == nullptr || value->kind != JsonKind::kNumber) return 0;
  int64_t out = 0;
  std::from_chars(value->text.data(), value->text.data() + value->text.size(), out);
  return out;
}

std::string text(const JsonValue* value) {
  return value != nullptr && value->is_string() ? std::string(value->text) : std::string();
}

void write_traits(JsonWriter& out, const std::map<std::string, Trait, std::less<>>& traits) {
  out.begin_object();
  for (const auto& [name, trait] : traits) {
    out.key(name).begin_array();
    out.raw(trait.json).string(trait.source).number(trait.timestamp_ms).string(trait.message_id);
    out.number(static_cast<int64_t>(trait.seq));
    out.end_array();
  }
  out.end_object();
}

Status read_traits(const JsonValue* traits, std::map<std::string, Trait, std::less<>>& out) {
  if (traits == nullptr || !traits->is_object()) return Status::ok();
  const auto last = ingest::last_occurrences(*traits);
  for (size_t i = 0; i < traits->members.size(); ++i) {
    if (!last[i]) continue;
    const auto& member = traits->members[i];
    const auto* item = member.value;
    // Four elements: written before traits kept their event's seq.
    if (item->kind != JsonKind::kArray ||
        (item->elements.size() != 4 && item->elements.size() != 5)) {
      return Status::corruption("stored profile has a malformed trait");
    }
    Trait trait;
    ingest::write_json(trait.json, *item->elements[0]);
    trait.source = text(item->elements[1]);
    trait.timestamp_ms = integer(item->elements[2]);
    trait.message_id = text(item->elements[3]);
    if (item->elements.size() == 5) trait.seq = static_cast<uint64_t>(integer(item->elements[4]));
    out.insert_or_assign(std::string(member.key), std::move(trait));
  }
  return Status::ok();
}

}  // namespace

std::vector<std::string> set_traits(std::map<std::string, Trait, std::less<>>& target,
                                    const JsonValue& traits, const std::string& source,
                                    int64_t timestamp_ms, const std::string& message_id,
                                    uint64_t seq) {
  std::vector<std::string> changed;
  if (!traits.is_object()) return changed;
  const auto last = ingest::last_occurrences(traits);
  for (size_t i = 0; i < traits.members.size(); ++i) {
    if (!last[i]) continue;
    const auto& member = traits.members[i];
    Trait trait;
    trait.timestamp_ms = timestamp_ms;
    trait.seq = seq;
    auto it = target.find(member.key);
    if (it != target.end() && !trait.newer_than(it->second)) continue;
    ingest::write_json(trait.json, *member.value);
    trait.source = source;
    trait.message_id = message_id;
    if (it != target.end()) {
      if (it->second.json != trait.json) changed.emplace_back(member.key);
      it->second = std::move(trait);
    } else {
      changed.emplace_back(member.key);
      target.emplace(std::string(member.key), std::move(trait));
    }
  }
  return changed;
}

std::string encode_account(const Account& account) {
  JsonWriter out;
  out.begin_object();
  out.key("v").number(int64_t{1});
  out.key("group_id").string(account.group_id);
  out.key("first_seen").number(account.first_seen_ms);
  out.key("last_seen").number(account.last_seen_ms);
  out.key("traits");
  write_traits(out, account.traits);
  out.end_object();
  return out.take();
}

Result<Account> decode_account(std::string_view json) {
  thread_local ingest::JsonParser parser;
  auto root = parser.parse(json);
  if (!root || !(*root)->is_object()) return Status::corruption("stored account is not JSON");
  const JsonValue& doc = **root;
  Account account;
  account.group_id = text(doc.find("group_id"));
  account.first_seen_ms = integer(doc.find("first_seen"));
  account.last_seen_ms = integer(doc.find("last_seen"));
  CDP_RETURN_IF_ERROR(read_traits(doc.find("traits"), account.traits));
  return account;
}

identity::ProfileIdentity Profile::identity() const {
  identity::ProfileIdentity out;
  out.identifiers.reserve(identifiers.size());
  for (const auto& held : identifiers)
    out.identifiers.push_back({held.identifier, held.last_seen_ms});
  out.merges = merged_from.size();
  return out;
}

ProfileIdentifier* Profile::find_identifier(const identity::Identifier& identifier) {
  for (auto& held : identifiers) {
    if (held.identifier == identifier) return &held;
  }
  return nullptr;
}

std::string encode_profile(const Profile& profile) {
  JsonWriter out;
  out.begin_object();
  out.key("v").number(int64_t{1});
  out.key("id").number(static_cast<int64_t>(profile.id));
  if (!profile.live()) {
    out.key("merged_into").number(static_cast<int64_t>(profile.merged_into));
    out.end_object();
    return out.take();
  }
  out.key("merged_from").begin_array();
  for (auto id : profile.merged_from) out.number(static_cast<int64_t>(id));
  out.end_array();
  out.key("first_seen").number(profile.first_seen_ms);
  out.key("last_seen").number(profile.last_seen_ms);
  out.key("events").number(static_cast<int64_t>(profile.event_count));
  out.key("identifiers").begin_array();
  for (const auto& held : profile.identifiers) {
    out.begin_array();
    out.string(held.identifier.type).string(held.identifier.value);
    out.number(held.first_seen_ms).number(held.last_seen_ms).string(held.message_id);
    out.end_array();
  }
  out.end_array();
  out.key("traits");
  write_traits(out, profile.traits);
  out.key("groups").begin_array();
  for (const auto& group : profile.groups) out.string(group);
  out.end_array();
  out.end_object();
  auto record = out.take();
  if (!profile.audience.empty()) {
    record.push_back('\0');
    audience::encode_audience_state(record, profile.audience);
  }
  return record;
}

std::string encode_audience_section(const Profile& profile) {
  std::string section;
  audience::encode_audience_state(section, profile.audience);
  return section;
}

namespace {

// The members decode_profile_head() reads; the others are decode_profile_details()'s.
constexpr std::string_view kHeadMembers[] = {"v", "id", "merged_into", "merged_from", "aud"};
constexpr std::string_view kDetailMembers[] = {"first_seen",  "last_seen", "events",
                                               "identifiers", "traits",    "groups"};

// The JSON part of a record, then the audience state's binary form after a NUL (which JSON text
// cannot hold).
std::string_view json_part(std::string_view record) { return record.substr(0, record.find('\0')); }

Result<Profile> read_head(const JsonValue& doc, std::string_view record) {
  if (!doc.is_object() || integer(doc.find("v")) != 1) {
    return Status::corruption("stored profile has an unknown format version");
  }
  Profile profile;
  profile.id = static_cast<ProfileId>(integer(doc.find("id")));
  profile.merged_into = static_cast<ProfileId>(integer(doc.find("merged_into")));
  if (const auto* from = doc.find("merged_from");
      from != nullptr && from->kind == JsonKind::kArray) {
    for (const auto* id : from->elements)
      profile.merged_from.push_back(static_cast<ProfileId>(integer(id)));
  }
  // Only live profiles have audience state (a merged one keeps only its id and survivor).
  if (!profile.live()) return profile;
  if (const auto end = record.find('\0'); end != std::string_view::npos) {
    auto audience = audience::decode_audience_state(record.substr(end + 1));
    if (!audience) return audience.status();
    profile.audience = std::move(*audience);
  } else if (const auto* state = doc.find("aud")) {  // written before format version 8
    auto audience = audience::read_audience_state(*state);
    if (!audience) return audience.status();
    profile.audience = std::move(*audience);
  }
  return profile;
}

Status read_details(const JsonValue& doc, Profile& profile) {
  profile.first_seen_ms = integer(doc.find("first_seen"));
  profile.last_seen_ms = integer(doc.find("last_seen"));
  profile.event_count = static_cast<uint64_t>(integer(doc.find("events")));
  profile.identifiers.clear();
  if (const auto* ids = doc.find("identifiers"); ids != nullptr && ids->kind == JsonKind::kArray) {
    for (const auto* item : ids->elements) {
      if (item->kind != JsonKind::kArray || item->elements.size() != 5) {
        return Status::corruption("stored profile has a malformed identifier");
      }
      const auto& e = item->elements;
      profile.identifiers.push_back(
          {{text(e[0]), text(e[1])}, integer(e[2]), integer(e[3]), text(e[4])});
    }
  }
  profile.traits.clear();
  CDP_RETURN_IF_ERROR(read_traits(doc.find("traits"), profile.traits));
  profile.groups.clear();
  if (const auto* groups = doc.find("groups");
      groups != nullptr && groups->kind == JsonKind::kArray) {
    for (const auto* group : groups->elements) profile.groups.push_back(text(group));
  }
  return Status::ok();
}

Status not_json(const Status& status) {
  return Status::corruption("stored profile is not JSON: " + status.message());
}

}  // namespace

Result<Profile> decode_profile(std::string_view record) {
  thread_local ingest::JsonParser parser;
  auto root = parser.parse(json_part(record));
  if (!root) return not_json(root.status());
  auto profile = read_head(**root, record);
  if (!profile) return profile.status();
  CDP_RETURN_IF_ERROR(read_details(**root, *profile));
  return profile;
}

// The id and merge links of a record that starts as encode_profile() writes it (`{"v":1,"id":N,`
// then `"merged_into":M}` or `"merged_from":[...],`), read without parsing its JSON: a pass reads
// a million heads, and the parser reads the whole text to build five members of it. False for
// anything else (the parser reads it then). The rest of the text is not looked at: a record this
// build did not write could hold those members again further on, which decode_profile() reads
// instead (the last duplicate wins there); no writer of ours ever has.
bool read_written_head(std::string_view json, Profile& profile) {
  size_t at = 0;
  const auto literal = [&](std::string_view text) {
    if (json.substr(at, text.size()) != text) return false;
    at += text.size();
    return true;
  };
  const auto number = [&](ProfileId& value) {
    const auto [end, error] = std::from_chars(json.data() + at, json.data() + json.size(), value);
    if (error != std::errc() || end == json.data() + at) return false;
    at = static_cast<size_t>(end - json.data());
    return true;
  };
  if (!literal(R"({"v":1,"id":)") || !number(profile.id)) return false;
  if (literal(R"(,"merged_into":)")) {
    return number(profile.merged_into) && profile.merged_into != 0 && literal("}") &&
           at == json.size();
  }
  if (!literal(R"(,"merged_from":[)")) return false;
  if (!literal("]")) {
    do {
      ProfileId id = 0;
      if (!number(id)) return false;
      profile.merged_from.push_back(id);
    } while (literal(","));
    if (!literal("]")) return false;
  }
  return literal(",");
}

Result<Profile> decode_profile_head(std::string_view record) {
  const auto end = record.find('\0');
  if (Profile profile; read_written_head(record.substr(0, end), profile)) {
    if (!profile.live()) return profile;
    // Live records of format version 8 on hold their audience state after a NUL, and none
    // without one; older ones hold it as a last member `aud`, an object: a record without a NUL
    // that ends with an array (its `groups`) has none.
    if (end != std::string_view::npos) {
      auto audience = audience::decode_audience_state(record.substr(end + 1));
      if (!audience) return audience.status();
      profile.audience = std::move(*audience);
      return profile;
    }
    if (record.ends_with("]}")) return profile;
  }
  thread_local ingest::JsonParser parser;
  auto root = parser.parse_members(json_part(record), kHeadMembers);
  if (!root) return not_json(root.status());
  return read_head(**root, record);
}

Status decode_profile_details(std::string_view record, Profile& profile) {
  thread_local ingest::JsonParser parser;
  auto root = parser.parse_members(json_part(record), kDetailMembers);
  if (!root) return not_json(root.status());
  return read_details(**root, profile);
}

std::string profile_id_text(ProfileId id) { return "p_" + std::to_string(id); }

std::optional<ProfileId> parse_profile_id(std::string_view text) {
  if (!text.starts_with("p_") || text.size() < 3) return std::nullopt;
  ProfileId id = 0;
  auto [end, ec] = std::from_chars(text.data() + 2, text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id == 0) return std::nullopt;
  return id;
}

}  // namespace cdp::profile
