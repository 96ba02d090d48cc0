#include "profile/audience_records.h"

#include <memory>

#include "common/json_writer.h"
#include "storage/big_endian.h"

namespace cdp::profile {
namespace {

// Times before 1970 sort as 0: every time written here is a log time.
std::string time_be(int64_t time_ms) {
  return storage::u64_be(static_cast<uint64_t>(std::max<int64_t>(time_ms, 0)));
}

}  // namespace

std::string audience_definition_key(std::string_view name) {
  return std::string(kAudienceDefinitionPrefix) + std::string(name);
}

std::string trait_definition_key(std::string_view name) {
  return std::string(kTraitDefinitionPrefix) + std::string(name);
}

std::string member_prefix(std::string_view audience) {
  std::string key = "m/";
  key += audience;
  key.push_back('\0');
  return key;
}

std::string member_key(std::string_view audience, ProfileId profile) {
  return member_prefix(audience) + storage::u64_be(profile);
}

std::string history_prefix(std::string_view audience) {
  std::string key = "h/";
  key += audience;
  key.push_back('\0');
  return key;
}

std::string history_key(std::string_view audience, int64_t time_ms, ProfileId profile) {
  return history_prefix(audience) + time_be(time_ms) + storage::u64_be(profile);
}

std::string history_value(bool entered) { return std::string(1, entered ? '\x01' : '\x00'); }

bool history_entered(std::string_view value) {
  return value == std::string_view("\x01", 1) || value.starts_with(R"({"entered":true)");
}

std::pair<int64_t, ProfileId> decode_history_suffix(std::string_view suffix) {
  if (suffix.size() != 16) return {0, 0};
  return {static_cast<int64_t>(storage::read_u64_be(suffix.substr(0, 8))),
          storage::read_u64_be(suffix.substr(8, 8))};
}

std::string check_key(int64_t time_ms, ProfileId profile) {
  return std::string(kCheckPrefix) + time_be(time_ms) + storage::u64_be(profile);
}

std::pair<int64_t, ProfileId> decode_check_key(std::string_view key) {
  if (!key.starts_with(kCheckPrefix)) return {0, 0};
  return decode_history_suffix(key.substr(kCheckPrefix.size()));
}

std::string change_key(uint64_t seq, uint32_t index) {
  std::string key = storage::u64_be(seq);
  storage::append_u32_be(key, index);
  return key;
}

std::optional<ChangeCursor> decode_change_key(std::string_view key) {
  if (key.size() != 12) return std::nullopt;
  return ChangeCursor{storage::read_u64_be(key.substr(0, 8)), storage::read_u32_be(key.substr(8))};
}

Status read_change_log(storage::Database& database, std::optional<ChangeCursor> after,
                       const std::function<bool(const ChangeLogItem&)>& visit) {
  std::unique_ptr<rocksdb::Iterator> it(
      database.db().NewIterator(rocksdb::ReadOptions(), database.changes()));
  // The entry that holds the cursor's change may hold more after it.
  if (after) {
    it->SeekForPrev(change_key(after->seq, after->index));
    if (!it->Valid()) it->SeekToFirst();
  } else {
    it->SeekToFirst();
  }
  auto is_after = [&](uint64_t seq, uint32_t index) {
    return !after || seq > after->seq || (seq == after->seq && index > after->index);
  };
  ingest::JsonParser parser;
  ChangeLogItem item;
  for (; it->Valid(); it->Next()) {
    const auto key = decode_change_key(it->key().ToStringView());
    if (!key || it->value().empty()) continue;  // not written by this version
    item.seq = key->seq;
    const uint32_t first = key->index;
    auto corrupt = [&](const std::string& what) {
      return Status::corruption("change log entry " + std::to_string(item.seq) + "." +
                                std::to_string(first) + " " + what);
    };
    const auto root = parser.parse(it->value().ToStringView());
    if (!root) return corrupt("is not JSON: " + root.status().message());
    if (!(*root)->is_object()) return corrupt("is not a JSON object");
    const auto* changes = (*root)->find("changes");
    if (changes == nullptr) {  // one change, stored as the API shows it
      if (!is_after(item.seq, first)) continue;
      item.index = first;
      item.json = it->value().ToString();
      if (!visit(item)) return Status::ok();
      continue;
    }
    const auto* profile = (*root)->find("profile");
    const auto* user_id = (*root)->find("user_id");
    const auto* time = (*root)->find("time");
    const auto* cause = (*root)->find("cause");
    if (changes->kind != ingest::JsonKind::kArray || profile == nullptr || !profile->is_string() ||
        time == nullptr || !time->is_string() || cause == nullptr || !cause->is_string()) {
      return corrupt("lacks profile, time, cause or changes");
    }
    for (size_t k = 0; k < changes->elements.size(); ++k) {
      item.index = first + static_cast<uint32_t>(k);
      if (!is_after(item.seq, item.index)) continue;
      const auto& change = *changes->elements[k];
      const auto* audience = change.is_object() ? change.find("audience") : nullptr;
      const auto* entered = change.is_object() ? change.find("entered") : nullptr;
      if (audience == nullptr || !audience->is_string() || entered == nullptr ||
          entered->kind != ingest::JsonKind::kBool) {
        return corrupt("has a malformed change");
      }
      JsonWriter out;
      out.begin_object();
      out.key("type").string(entered->boolean ? "audience_entered" : "audience_exited");
      out.key("audience").string(audience->text);
      out.key("profile").string(profile->text);
      if (user_id != nullptr && user_id->is_string()) out.key("user_id").string(user_id->text);
      out.key("time").string(time->text);
      out.key("cause").string(cause->text);
      out.key("seq").number(static_cast<int64_t>(item.seq));
      out.end_object();
      item.json = out.take();
      if (!visit(item)) return Status::ok();
    }
  }
  if (!it->status().ok()) return storage::from_rocksdb(it->status(), "reading the change log");
  return Status::ok();
}

Result<std::shared_ptr<const audience::Definitions>> load_definitions(storage::Database& database) {
  std::vector<audience::ComputedTraitDefinition> traits;
  std::vector<audience::AudienceDefinition> audiences;
  ingest::JsonParser parser;
  std::unique_ptr<rocksdb::Iterator> it(
      database.db().NewIterator(rocksdb::ReadOptions(), database.audiences()));
  for (it->Seek("d/"); it->Valid() && it->key().starts_with("d/"); it->Next()) {
    const auto key = it->key().ToStringView();
    auto root = parser.parse(it->value().ToStringView());
    if (!root) return Status::corruption("a stored definition is not JSON: " + std::string(key));
    if (key.starts_with(kTraitDefinitionPrefix)) {
      auto trait = audience::parse_computed_trait(
          std::string(key.substr(kTraitDefinitionPrefix.size())), **root);
      if (!trait) return Status::corruption("stored computed trait: " + trait.status().message());
      traits.push_back(std::move(*trait));
    } else if (key.starts_with(kAudienceDefinitionPrefix)) {
      auto audience = audience::parse_audience(
          std::string(key.substr(kAudienceDefinitionPrefix.size())), **root);
      if (!audience) return Status::corruption("stored audience: " + audience.status().message());
      audiences.push_back(std::move(*audience));
    }
  }
  if (!it->status().ok()) return storage::from_rocksdb(it->status(), "reading definitions");
  auto compiled = audience::Definitions::compile(std::move(traits), std::move(audiences));
  if (!compiled) return Status::corruption("stored definitions: " + compiled.status().message());
  return compiled;
}

}  // namespace cdp::profile
