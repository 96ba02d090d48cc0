#include "profile/profile_store.h"

#include <algorithm>
#include <memory>

#include "storage/big_endian.h"

namespace cdp::profile {

Result<std::optional<Profile>> ProfileStore::get(ProfileId id) {
  std::string value;
  auto status =
      database_.db().Get(read_options_, database_.profiles(), storage::u64_be(id), &value);
  if (status.IsNotFound()) return std::optional<Profile>();
  if (!status.ok()) return storage::from_rocksdb(status, "reading a profile");
  auto profile = decode_profile(value);
  if (!profile) return profile.status();
  return std::optional<Profile>(std::move(*profile));
}

Result<std::optional<Profile>> ProfileStore::live(ProfileId id) {
  for (int hops = 0; hops < 1000; ++hops) {
    auto profile = get(id);
    if (!profile) return profile.status();
    if (!profile->has_value() || (*profile)->live()) return profile;
    id = (*profile)->merged_into;
  }
  return Status::corruption("profile merge chain longer than 1000 links");
}

Result<std::optional<Profile>> ProfileStore::find(const identity::Identifier& identifier) {
  std::string value;
  auto status =
      database_.db().Get(read_options_, database_.identifiers(), identifier.key(), &value);
  if (status.IsNotFound()) return std::optional<Profile>();
  if (!status.ok()) return storage::from_rocksdb(status, "reading the identifier index");
  auto record = decode_identifier_record(value);
  if (!record) return record.status();
  if (record->profile == 0) return std::optional<Profile>();  // unlinked by an unmerge
  return live(record->profile);
}

Result<std::vector<ProfileStore::TimelineEntry>> ProfileStore::timeline(
    const Profile& profile, const TimelineQuery& query) {
  std::vector<ProfileId> ids = profile.merged_from;
  ids.push_back(profile.id);
  // Each profile's entries are in (time, seq) order: walk each backwards from the upper bound and
  // keep the newest `limit` overall.
  std::vector<TimelineEntry> found;
  for (const auto id : ids) {
    std::unique_ptr<rocksdb::Iterator> it(
        database_.db().NewIterator(read_options_, database_.profile_events()));
    std::string upper;
    if (query.before && query.before->first < query.to_ms) {
      upper = timeline_key(id, query.before->first, query.before->second);
    } else if (query.to_ms == std::numeric_limits<int64_t>::max()) {
      upper = timeline_prefix(id + 1);
    } else {
      upper = timeline_key(id, query.to_ms, 0);
    }
    it->SeekForPrev(upper);
    if (it->Valid() && it->key() == rocksdb::Slice(upper)) it->Prev();
    size_t taken = 0;
    const auto prefix = timeline_prefix(id);
    for (; it->Valid() && taken < query.limit; it->Prev()) {
      if (!it->key().starts_with(prefix)) break;
      auto key = decode_timeline_key(it->key().ToStringView());
      if (!key) return Status::corruption("malformed timeline key");
      if (key->timestamp_ms < query.from_ms) break;
      const auto value = decode_timeline_value(it->value().ToStringView());
      if (!value) return Status::corruption("malformed timeline entry");
      TimelineEntry entry{key->seq, key->timestamp_ms, std::string(value->type),
                          std::string(value->event)};
      if (!query.type.empty() && entry.type != query.type) continue;
      if (!query.event.empty() && entry.event != query.event) continue;
      found.push_back(std::move(entry));
      ++taken;
    }
    if (!it->status().ok()) return storage::from_rocksdb(it->status(), "reading a timeline");
  }
  std::sort(found.begin(), found.end(), [](const TimelineEntry& a, const TimelineEntry& b) {
    return std::tie(a.timestamp_ms, a.seq) > std::tie(b.timestamp_ms, b.seq);
  });
  if (found.size() > query.limit) found.resize(query.limit);
  return found;
}

Result<std::vector<Edge>> ProfileStore::edges(const Profile& profile) {
  std::vector<ProfileId> ids = profile.merged_from;
  ids.push_back(profile.id);
  std::vector<Edge> edges;
  for (const auto id : ids) {
    std::unique_ptr<rocksdb::Iterator> it(
        database_.db().NewIterator(read_options_, database_.identity_edges()));
    const auto prefix = storage::u64_be(id);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      auto edge = decode_edge(it->value().ToStringView());
      if (!edge) return edge.status();
      edges.push_back(std::move(*edge));
    }
    if (!it->status().ok()) return storage::from_rocksdb(it->status(), "reading identity edges");
  }
  std::stable_sort(edges.begin(), edges.end(),
                   [](const Edge& a, const Edge& b) { return a.seq < b.seq; });
  return edges;
}

Result<std::optional<Account>> ProfileStore::account(const std::string& group_id) {
  std::string value;
  auto status =
      database_.db().Get(read_options_, database_.accounts(), account_key(group_id), &value);
  if (status.IsNotFound()) return std::optional<Account>();
  if (!status.ok()) return storage::from_rocksdb(status, "reading an account");
  auto account = decode_account(value);
  if (!account) return account.status();
  return std::optional<Account>(std::move(*account));
}

Result<std::vector<ProfileStore::Quarantined>> ProfileStore::quarantined(size_t limit) {
  auto entries = database_.scan_meta("quarantine/");
  if (!entries) return entries.status();
  std::vector<Quarantined> out;
  for (const auto& [key, value] : *entries) {
    if (out.size() >= limit) break;
    auto identifier = identity::identifier_from_key(std::string_view(key).substr(11));
    if (!identifier) return identifier.status();
    out.push_back({std::move(*identifier), value});
  }
  return out;
}

}  // namespace cdp::profile
