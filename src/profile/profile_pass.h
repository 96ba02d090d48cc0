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

// One stored profile record of a pass, decoded. The pass reuses these from chunk to chunk, so
// that what a chunk's profiles held is freed on the threads that decode the next one.
struct PassProfile {
  std::string key;  // the record's key
  Profile profile;
  // What `prepare` works out for `visit` (a definition: the state as stored, to compare; the
  // membership changes; the new audience section of the record, or none when the profile is
  // left as it is).
  audience::ProfileAudienceState before;
  std::vector<audience::MembershipChange> changes;
  std::optional<std::string> record;
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
  size_t threads() const { return readers_.size(); }

  // Reads the records `scope` holds (every one when nullopt) from id `from` on, in id order, in
  // chunks. The pass's threads read each chunk's records, decode them and, for live profiles,
  // call `prepare` with the reader of that thread (it must touch only that item); meanwhile the
  // calling thread calls `visit` with each item of the chunk before, in id order, until it
  // returns false. Stops at the first error.
  Status run(const std::optional<audience::CandidateIndex::Bitmap>& scope, ProfileId from,
             const std::function<Status(PassProfile&, HistoryReader&)>& prepare,
             const std::function<Result<bool>(PassProfile&)>& visit);

 private:
  storage::Database& database_;
  rocksdb::ReadOptions read_;
  std::vector<std::unique_ptr<HistoryReader>> readers_;
};

}  // namespace cdp::profile
