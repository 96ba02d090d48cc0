#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audience/candidate_index.h"
#include "audience/engine.h"
#include "common/status.h"
#include "profile/audience_history.h"
#include "profile/profile.h"
#include "storage/database.h"

namespace cdp::profile {

// One stored profile record of a pass. The pass decodes its head (decode_profile_head: id,
// merge links, audience state); `details()` the rest, for the profiles that need it. The pass
// reuses these from chunk to chunk, so that what a chunk's profiles held is freed on the
// threads that decode the next one.
struct PassProfile {
  std::string key;     // the record's key
  std::string stored;  // the record
  Profile profile;
  bool detailed = false;  // whether `profile` has its details too
  bool wanted = false;    // whether `details()` was called
  // What `prepare` works out for `visit` (a definition: the state as stored, to compare; the
  // membership changes; the new audience section of the record, or none when the profile is
  // left as it is; a preview: whether the profile is a member).
  audience::ProfileAudienceState before;
  std::vector<audience::MembershipChange> changes;
  std::optional<std::string> record;
  bool member = false;

  // Decodes the profile's times, identifiers, traits and groups, once.
  Status details();
};

// A pass profile's traits for the audience engine, decoded when a condition first reads one:
// most conditions of a pass read none. Use on the thread that prepares the profile.
class PassTraits final : public audience::TraitSource {
 public:
  explicit PassTraits(PassProfile& item) : item_(item) {}
  const std::string* trait_json(std::string_view name) const override;
  // Whether the record's details could be read (a trait read after a failure finds nothing).
  const Status& status() const { return status_; }

 private:
  PassProfile& item_;
  mutable Status status_;
};

// A pass over stored profiles (a definition, a preview) whose costly part, reading and decoding
// records and reading their history, runs on several threads: each has its own HistoryReader
// (timeline iterator, parser). The processor's batches are one thread; a pass over a million
// profiles can use the other cores, since the rest of the server waits for it or does not need
// them.
class ProfilePass {
 public:
  // `threads`: 0 for one per core, at most kMaxThreads.
  ProfilePass(storage::Database& database, storage::Database& log,
              rocksdb::ReadOptions read = rocksdb::ReadOptions(), size_t threads = 0);
  ~ProfilePass();

  static constexpr size_t kMaxThreads = 8;
  size_t threads() const { return workers_.size(); }

  // Reads the records `scope` holds (every one when nullopt) from id `from` on, in id order, in
  // chunks. The pass's threads read each chunk's records, decode their heads (PassProfile) and,
  // for live profiles, call `prepare` with the reader of that thread (it must touch only that
  // item, and may call its details()); meanwhile the calling thread calls `visit` with each
  // item of the chunk before, in id order, until it returns false. Stops at the first error.
  Status run(const std::optional<audience::CandidateIndex::Bitmap>& scope, ProfileId from,
             const std::function<Status(PassProfile&, HistoryReader&)>& prepare,
             const std::function<Result<bool>(PassProfile&)>& visit);

 private:
  storage::Database& database_;
  rocksdb::ReadOptions read_;
  // One per thread: its history reader, and whether it decodes whole records or their heads.
  // Most conditions read no trait, so a pass decodes heads; where most profiles of the last
  // window needed their details too (a condition on traits), decoding each record once costs
  // less than its head and then its details.
  struct Worker {
    Worker(storage::Database& database, storage::Database& log, const rocksdb::ReadOptions& read)
        : reader(database, log, read) {}
    HistoryReader reader;
    bool whole = false;
    size_t taken = 0;   // in this window
    size_t wanted = 0;  // of those, how many needed their details
  };
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace cdp::profile
