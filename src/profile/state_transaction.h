#pragma once

#include <rocksdb/write_batch.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "identity/resolver.h"
#include "identity/unmerge_blocks.h"
#include "profile/profile.h"
#include "profile/state_records.h"
#include "storage/database.h"

namespace cdp::profile {

// What StateTransaction::committed() keeps in memory for the next batches. Past its bound,
// the identifiers or profiles used least recently (by batch) are dropped until a quarter of it
// is free again; accounts (group calls only) are dropped all at once.
struct StateCacheLimits {
  size_t identifiers = 200'000;
  size_t profiles = 100'000;
  // Profiles count by their stored size too: audience state can make a record (and its
  // decoded form, a few times larger) tens of KB.
  size_t profile_bytes = 32 << 20;
  size_t accounts = 10'000;
};
// Reads that found their record in memory, and those that went to RocksDB (or found nothing).
struct StateCacheStats {
  uint64_t identifier_hits = 0;
  uint64_t identifier_misses = 0;
  uint64_t profile_hits = 0;
  uint64_t profile_misses = 0;
};

// The processor's view of profile state: reads go to records already in memory (changed by this
// batch, or cached from earlier ones), then to RocksDB; changes collect in memory until finish()
// turns them into one WriteBatch, to which the caller adds the cursor. Nothing is visible to
// readers before that batch is written.
//
// Lifecycle: one per processor. Per batch: apply events, finish(), write the batch, then
// committed() — or forget() when the write failed, which drops everything in memory.
// Not thread-safe.
//
// Rationale: applying an event reads the profiles it touches; decoding them once and writing
// them once per batch (instead of once per event) is most of the processor's speed, and a single
// WriteBatch with the cursor is what makes each event apply exactly once. The processor is the
// only writer of this state, so records kept between batches stay true.
class StateTransaction final : public identity::IdentityState {
 public:
  using CacheLimits = StateCacheLimits;
  using CacheStats = StateCacheStats;

  // `log`: where the raw log is read when it is not in `database` (a plan's scratch state).
  explicit StateTransaction(storage::Database& database, storage::Database* log = nullptr,
                            CacheLimits limits = {})
      : database_(database), log_(log != nullptr ? *log : database), limits_(limits) {}

  // IdentityState
  std::optional<ProfileId> holder(const identity::Identifier& identifier) override;
  bool is_quarantined(const identity::Identifier& identifier) override;
  const identity::ProfileIdentity& identity_of(ProfileId profile) override;
  const identity::UnmergeBlocks* unmerge_blocks() override { return &blocks_; }

  // Reads the active unmerge blocks (meta unmerge/...). Called once after construction, and
  // again by forget().
  Status load_blocks();
  // Activates or lifts a block; the caller writes or deletes its record in the same batch.
  void add_block(const identity::UnmergeBlock& block) { blocks_.add(block); }
  void remove_block(uint64_t id) { blocks_.remove(id); }

  // The identifier's record, or nullptr. The pointer stays valid until committed().
  IdentifierRecord* identifier(const identity::Identifier& identifier);
  // Links `identifier` to `profile`, keeping what its record knew (quarantine, conflicts).
  IdentifierRecord& link_identifier(const identity::Identifier& identifier, ProfileId profile);
  // The profile, marked changed; the reference stays valid until committed(). A profile that does
  // not exist is corrupt state: status() says so and a scratch profile is returned.
  Profile& profile(ProfileId id);
  Profile& create_profile(ProfileId id);
  // Deletes the profile record (an unmerge re-resolves its events into new ones).
  void erase_profile(ProfileId id);
  // Follows merged_into to the live profile; 0 when the chain ends at no profile.
  ProfileId live(ProfileId id);

  // The account of `group_id` (created empty when new), marked changed. Valid until committed().
  Account& account(const std::string& group_id);

  storage::Database& database() { return database_; }
  storage::Database& log_database() { return log_; }
  // Append-only records, written as they are.
  rocksdb::WriteBatch& batch() { return batch_; }

  // The first storage error met while reading (reads cannot fail the IdentityState interface).
  const Status& status() const { return status_; }

  // Writes every change into batch() and returns it for the caller to add to and write.
  rocksdb::WriteBatch& finish();
  // The batch was written: start the next one, keeping what is in memory (up to a bound).
  void committed();
  // The batch was not written: drop every change and everything cached.
  void forget();
  // Drops the cached profiles (the caller wrote profile records to batch() itself).
  // REQUIRES: no profile changed through profile() in this batch.
  void forget_profiles();

  const CacheStats& cache_stats() const { return stats_; }
  size_t cached_identifiers() const { return identifiers_.size(); }
  size_t cached_profiles() const { return profiles_.size(); }
  size_t cached_profile_bytes() const { return profile_bytes_; }

 private:
  struct CachedIdentifier {
    std::optional<IdentifierRecord> record;
    bool dirty = false;
    uint64_t used = 0;  // the last batch that read or wrote it
  };
  struct CachedProfile {
    Profile profile;
    bool dirty = false;
    bool erased = false;
    size_t bytes = 0;   // its stored size: what bounds the cache
    uint64_t used = 0;  // the last batch that read or wrote it
  };
  using IdentifierEntry = std::pair<const std::string, CachedIdentifier>;
  IdentifierEntry& load_identifier(const identity::Identifier& identifier);
  CachedProfile* load_profile(ProfileId id);
  void mark(IdentifierEntry& entry);
  void mark(ProfileId id, CachedProfile& cached);
  void evict_identifiers();
  void evict_profiles();

  storage::Database& database_;
  storage::Database& log_;
  CacheLimits limits_;
  CacheStats stats_;
  uint64_t batch_number_ = 1;  // counts committed batches: the clock of `used`
  std::unordered_map<std::string, CachedIdentifier> identifiers_;
  std::unordered_map<ProfileId, CachedProfile> profiles_;
  size_t profile_bytes_ = 0;  // sum of the cached profiles' `bytes`
  std::unordered_map<std::string, Account> accounts_;
  // What this batch changed (map nodes never move, so the pointers stay valid).
  std::vector<IdentifierEntry*> dirty_identifiers_;
  std::vector<ProfileId> dirty_profiles_;
  std::set<std::string> dirty_accounts_;
  identity::ProfileIdentity identity_scratch_;
  Profile profile_scratch_;
  identity::UnmergeBlocks blocks_;
  rocksdb::WriteBatch batch_;
  Status status_;
};

}  // namespace cdp::profile
