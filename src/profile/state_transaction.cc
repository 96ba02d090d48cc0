#include "profile/state_transaction.h"

#include <algorithm>
#include <vector>

#include "storage/big_endian.h"

namespace cdp::profile {

StateTransaction::IdentifierEntry& StateTransaction::load_identifier(
    const identity::Identifier& identifier) {
  auto key = identifier.key();
  auto it = identifiers_.find(key);
  if (it != identifiers_.end()) {
    ++stats_.identifier_hits;
    it->second.used = batch_number_;
    return *it;
  }
  ++stats_.identifier_misses;
  CachedIdentifier cached;
  cached.used = batch_number_;
  std::string value;
  auto status = database_.db().Get(rocksdb::ReadOptions(), database_.identifiers(), key, &value);
  if (status.ok()) {
    auto record = decode_identifier_record(value);
    if (record) {
      cached.record = std::move(*record);
    } else if (status_.is_ok()) {
      status_ = record.status();
    }
  } else if (!status.IsNotFound() && status_.is_ok()) {
    status_ = storage::from_rocksdb(status, "reading the identifier index");
  }
  return *identifiers_.emplace(std::move(key), std::move(cached)).first;
}

StateTransaction::CachedProfile* StateTransaction::load_profile(ProfileId id) {
  auto it = profiles_.find(id);
  if (it != profiles_.end()) {
    ++stats_.profile_hits;
    it->second.used = batch_number_;
    return it->second.erased ? nullptr : &it->second;
  }
  ++stats_.profile_misses;
  std::string value;
  auto status =
      database_.db().Get(rocksdb::ReadOptions(), database_.profiles(), storage::u64_be(id), &value);
  if (!status.ok()) {
    if (!status.IsNotFound() && status_.is_ok()) {
      status_ = storage::from_rocksdb(status, "reading a profile");
    }
    return nullptr;
  }
  auto profile = decode_profile(value);
  if (!profile) {
    if (status_.is_ok()) status_ = profile.status();
    return nullptr;
  }
  profile_bytes_ += value.size();
  return &profiles_
              .emplace(
                  id, CachedProfile{std::move(*profile), false, false, value.size(), batch_number_})
              .first->second;
}

ProfileId StateTransaction::live(ProfileId id) {
  // Merges always point at a live profile when written, but that one may be merged later.
  for (int hops = 0; hops < 1000 && id != 0; ++hops) {
    auto* cached = load_profile(id);
    if (cached == nullptr) return 0;
    if (cached->profile.live()) return id;
    id = cached->profile.merged_into;
  }
  return 0;
}

void StateTransaction::mark(IdentifierEntry& entry) {
  if (entry.second.dirty) return;
  entry.second.dirty = true;
  dirty_identifiers_.push_back(&entry);
}

void StateTransaction::mark(ProfileId id, CachedProfile& cached) {
  if (cached.dirty) return;
  cached.dirty = true;
  dirty_profiles_.push_back(id);
}

std::optional<ProfileId> StateTransaction::holder(const identity::Identifier& identifier) {
  auto& cached = load_identifier(identifier).second;
  if (!cached.record || cached.record->profile == 0) return std::nullopt;
  const auto holder = live(cached.record->profile);
  if (holder == 0) return std::nullopt;
  return holder;
}

bool StateTransaction::is_quarantined(const identity::Identifier& identifier) {
  auto& cached = load_identifier(identifier).second;
  return cached.record && cached.record->quarantined;
}

const identity::ProfileIdentity& StateTransaction::identity_of(ProfileId profile) {
  auto* cached = load_profile(profile);
  identity_scratch_ = cached != nullptr ? cached->profile.identity() : identity::ProfileIdentity{};
  return identity_scratch_;
}

IdentifierRecord* StateTransaction::identifier(const identity::Identifier& identifier) {
  auto& entry = load_identifier(identifier);
  if (!entry.second.record) return nullptr;
  mark(entry);  // callers take a mutable pointer to change it
  return &*entry.second.record;
}

IdentifierRecord& StateTransaction::link_identifier(const identity::Identifier& identifier,
                                                    ProfileId profile) {
  auto& entry = load_identifier(identifier);
  if (!entry.second.record) entry.second.record.emplace();
  entry.second.record->profile = profile;
  mark(entry);
  return *entry.second.record;
}

Profile& StateTransaction::profile(ProfileId id) {
  auto* cached = load_profile(id);
  if (cached == nullptr) {
    if (status_.is_ok()) {
      status_ = Status::corruption("profile " + profile_id_text(id) +
                                   " is referenced by the identity index but has no record");
    }
    profile_scratch_ = Profile{};
    profile_scratch_.id = id;
    return profile_scratch_;
  }
  mark(id, *cached);
  return cached->profile;
}

Profile& StateTransaction::create_profile(ProfileId id) {
  auto& cached = profiles_[id];
  cached.profile = Profile{};
  cached.profile.id = id;
  cached.erased = false;
  cached.used = batch_number_;
  mark(id, cached);
  return cached.profile;
}

void StateTransaction::erase_profile(ProfileId id) {
  auto& cached = profiles_[id];
  cached.profile = Profile{};
  cached.profile.id = id;
  cached.erased = true;
  cached.used = batch_number_;
  mark(id, cached);
}

Status StateTransaction::load_blocks() {
  blocks_.clear();
  auto stored = database_.scan_meta(std::string(kUnmergePrefix));
  if (!stored) return stored.status();
  for (const auto& [key, value] : *stored) {
    auto record = decode_unmerge(value);
    if (!record) return record.status();
    if (record->active) blocks_.add(record->block);
  }
  return Status::ok();
}

Account& StateTransaction::account(const std::string& group_id) {
  dirty_accounts_.insert(group_id);
  auto it = accounts_.find(group_id);
  if (it != accounts_.end()) return it->second;
  Account account;
  account.group_id = group_id;
  std::string value;
  auto status = database_.db().Get(rocksdb::ReadOptions(), database_.accounts(),
                                   account_key(group_id), &value);
  if (status.ok()) {
    auto stored = decode_account(value);
    if (stored) {
      account = std::move(*stored);
    } else if (status_.is_ok()) {
      status_ = stored.status();
    }
  } else if (!status.IsNotFound() && status_.is_ok()) {
    status_ = storage::from_rocksdb(status, "reading an account");
  }
  return accounts_.emplace(group_id, std::move(account)).first->second;
}

void StateTransaction::committed() {
  batch_.Clear();
  for (auto* entry : dirty_identifiers_) entry->second.dirty = false;
  for (auto id : dirty_profiles_) profiles_.at(id).dirty = false;
  dirty_identifiers_.clear();
  dirty_profiles_.clear();
  dirty_accounts_.clear();
  // Past a bound, the least recently used records go, a quarter of the bound at a time.
  // Dropping everything instead would halve what the cache holds on average, and with profiles
  // and identifiers dropped together, identifiers that fit their bound would be read again
  // every time profiles pass theirs.
  if (identifiers_.size() > limits_.identifiers) evict_identifiers();
  if (profiles_.size() > limits_.profiles || profile_bytes_ > limits_.profile_bytes) {
    evict_profiles();
  }
  if (accounts_.size() > limits_.accounts) accounts_.clear();  // rare: group calls only
  ++batch_number_;
}

namespace {

// Erases the entries of `map` in the order they were last used (oldest batch first) until the
// `weight`s of those erased add up to `excess`.
template <typename Map, typename Weight>
void drop_least_recent(Map& map, size_t excess, Weight weight) {
  std::vector<typename Map::iterator> order;
  order.reserve(map.size());
  for (auto it = map.begin(); it != map.end(); ++it) order.push_back(it);
  std::sort(order.begin(), order.end(),
            [](const auto& a, const auto& b) { return a->second.used < b->second.used; });
  size_t freed = 0;
  for (const auto& it : order) {
    if (freed >= excess) break;
    freed += weight(it->second);
    map.erase(it);  // the others' iterators stay valid
  }
}

}  // namespace

void StateTransaction::evict_identifiers() {
  drop_least_recent(identifiers_, identifiers_.size() - limits_.identifiers * 3 / 4,
                    [](const CachedIdentifier&) { return size_t{1}; });
}

void StateTransaction::evict_profiles() {
  const auto drop = [this](const CachedProfile& cached) {
    profile_bytes_ -= cached.bytes;
    return cached.bytes;
  };
  if (profiles_.size() > limits_.profiles) {
    drop_least_recent(profiles_, profiles_.size() - limits_.profiles * 3 / 4,
                      [&](const CachedProfile& cached) {
                        drop(cached);
                        return size_t{1};
                      });
  }
  if (profile_bytes_ > limits_.profile_bytes) {
    drop_least_recent(profiles_, profile_bytes_ - limits_.profile_bytes * 3 / 4, drop);
  }
}

void StateTransaction::forget() {
  batch_.Clear();
  // Blocks added or lifted by the unwritten batch: back to what is stored. If that fails, the
  // next batch fails too (status_), rather than resolving without them.
  identifiers_.clear();
  profiles_.clear();
  profile_bytes_ = 0;
  accounts_.clear();
  dirty_identifiers_.clear();
  dirty_profiles_.clear();
  dirty_accounts_.clear();
  status_ = load_blocks();
}

void StateTransaction::forget_profiles() {
  CDP_CHECK(dirty_profiles_.empty());
  profiles_.clear();
  profile_bytes_ = 0;
}

rocksdb::WriteBatch& StateTransaction::finish() {
  for (const auto& group_id : dirty_accounts_) {
    batch_.Put(database_.accounts(), account_key(group_id), encode_account(accounts_.at(group_id)));
  }
  for (const auto* entry : dirty_identifiers_) {
    if (entry->second.record) {
      batch_.Put(database_.identifiers(), entry->first,
                 encode_identifier_record(*entry->second.record));
    }
  }
  for (const auto id : dirty_profiles_) {
    auto& cached = profiles_.at(id);
    profile_bytes_ -= cached.bytes;
    cached.bytes = 0;
    if (cached.erased) {
      batch_.Delete(database_.profiles(), storage::u64_be(id));
    } else {
      const auto encoded = encode_profile(cached.profile);
      cached.bytes = encoded.size();
      profile_bytes_ += cached.bytes;
      batch_.Put(database_.profiles(), storage::u64_be(id), encoded);
    }
  }
  return batch_;
}

}  // namespace cdp::profile
