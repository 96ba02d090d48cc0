#include "profile/audience_records.h"

#include <memory>

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
  for (int shift = 24; shift >= 0; shift -= 8) key.push_back(static_cast<char>(index >> shift));
  return key;
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
