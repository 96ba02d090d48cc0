#include "profile/audience_index.h"

#include <limits>
#include <memory>

#include "profile/state_records.h"
#include "storage/big_endian.h"

namespace cdp::profile {

void index_traits(audience::CandidateIndex& index, const Profile& profile) {
  std::vector<std::pair<std::string_view, std::string_view>> traits;
  traits.reserve(profile.traits.size());
  for (const auto& [name, trait] : profile.traits) traits.emplace_back(name, trait.json);
  index.add_traits(profile.id, traits);
}

Status build_candidate_index(storage::Database& database, audience::CandidateIndex& index) {
  std::vector<std::pair<ProfileId, ProfileId>> merges;  // survivor, merged-away profile
  {
    std::unique_ptr<rocksdb::Iterator> it(
        database.db().NewIterator(rocksdb::ReadOptions(), database.profiles()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto profile = decode_profile(it->value().ToStringView());
      if (!profile) return profile.status();
      if (!profile->live()) continue;
      index_traits(index, *profile);
      for (const auto& [audience, since] : profile->audience.audiences) {
        index.add_member(profile->id, audience);
      }
      for (const auto loser : profile->merged_from) merges.emplace_back(profile->id, loser);
    }
    if (!it->status().ok()) return storage::from_rocksdb(it->status(), "reading profiles");
  }
  std::unique_ptr<rocksdb::Iterator> it(
      database.db().NewIterator(rocksdb::ReadOptions(), database.profile_events()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const auto value = decode_timeline_value(it->value().ToStringView());
    if (!value) return Status::corruption("a timeline entry is malformed");
    if (value->type != "track") continue;
    const auto key = decode_timeline_key(it->key().ToStringView());
    if (!key) return Status::corruption("a timeline key is malformed");
    index.add_event(key->profile, value->event);
  }
  if (!it->status().ok()) return storage::from_rocksdb(it->status(), "reading timelines");
  for (const auto& [survivor, loser] : merges) index.merge(survivor, loser);
  return Status::ok();
}

Result<std::optional<audience::CandidateIndex::Bitmap>> every_profile_id(
    storage::Database& database, const rocksdb::ReadOptions& read) {
  std::unique_ptr<rocksdb::Iterator> it(database.db().NewIterator(read, database.profiles()));
  audience::CandidateIndex::Bitmap ids;
  it->SeekToFirst();
  if (it->Valid()) {
    const auto first = storage::read_u64_be(it->key().ToStringView());
    it->SeekToLast();
    if (it->Valid()) {
      const auto last = storage::read_u64_be(it->key().ToStringView());
      if (last > std::numeric_limits<uint32_t>::max()) {
        return std::optional<audience::CandidateIndex::Bitmap>();
      }
      if (first <= last) ids.addRange(first, last + 1);
    }
  }
  if (!it->status().ok()) return storage::from_rocksdb(it->status(), "reading profiles");
  return std::optional<audience::CandidateIndex::Bitmap>(std::move(ids));
}

Status for_each_profile(
    storage::Database& database, const rocksdb::ReadOptions& read,
    const std::optional<audience::CandidateIndex::Bitmap>& scope, ProfileId from,
    const std::function<Result<bool>(const rocksdb::Slice& key, std::string_view value)>& visit) {
  const audience::CandidateIndex::Bitmap* rest = scope ? &*scope : nullptr;
  std::optional<audience::CandidateIndex::Bitmap> trimmed;
  if (rest != nullptr && from > 0) {
    trimmed = *rest;
    roaring_bitmap_remove_range(&trimmed->roaring, 0, std::min<uint64_t>(from, uint64_t{1} << 32));
    rest = &*trimmed;
  }
  // A dense scope is read by one pass of an iterator; a sparse one by point lookups in sorted
  // batches (a seek per profile costs several times a lookup).
  const bool sparse = rest != nullptr && !rest->isEmpty() &&
                      rest->cardinality() * 4 < uint64_t{rest->maximum()} - rest->minimum() + 1;
  if (sparse) {
    constexpr size_t kBatch = 256;
    std::vector<std::string> keys;
    std::vector<rocksdb::Slice> slices;
    std::vector<rocksdb::PinnableSlice> values(kBatch);
    std::vector<rocksdb::Status> statuses(kBatch);
    auto lookup = [&]() -> Result<bool> {
      slices.assign(keys.begin(), keys.end());
      database.db().MultiGet(read, database.profiles(), slices.size(), slices.data(), values.data(),
                             statuses.data(), /*sorted_input=*/true);
      for (size_t i = 0; i < slices.size(); ++i) {
        if (statuses[i].IsNotFound()) continue;
        if (!statuses[i].ok()) return storage::from_rocksdb(statuses[i], "reading profiles");
        auto more = visit(slices[i], values[i].ToStringView());
        if (!more || !*more) return more;
        values[i].Reset();
      }
      keys.clear();
      return true;
    };
    for (const uint32_t id : *rest) {
      keys.push_back(storage::u64_be(id));
      if (keys.size() < kBatch) continue;
      auto more = lookup();
      if (!more || !*more) return more.status();
    }
    return lookup().status();
  }
  std::unique_ptr<rocksdb::Iterator> it(database.db().NewIterator(read, database.profiles()));
  if (rest == nullptr) {
    for (it->Seek(storage::u64_be(from)); it->Valid(); it->Next()) {
      auto more = visit(it->key(), it->value().ToStringView());
      if (!more || !*more) return more.status();
    }
  } else {
    // Profile keys are big-endian ids, in the order the bitmap iterates: step to a near one,
    // seek to a far one.
    std::string key;
    for (const uint32_t id : *rest) {
      key = storage::u64_be(id);
      for (int steps = 0; steps < 8 && it->Valid() && it->key().compare(key) < 0; ++steps) {
        it->Next();
      }
      if (!it->Valid() || it->key().compare(key) < 0) it->Seek(key);
      if (!it->Valid()) break;
      if (it->key() == rocksdb::Slice(key)) {
        auto more = visit(it->key(), it->value().ToStringView());
        if (!more || !*more) return more.status();
      }
    }
  }
  if (!it->status().ok()) return storage::from_rocksdb(it->status(), "reading profiles");
  return Status::ok();
}

}  // namespace cdp::profile
