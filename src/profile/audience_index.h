#pragma once

#include <functional>
#include <optional>
#include <string_view>

#include "audience/candidate_index.h"
#include "common/status.h"
#include "profile/profile.h"
#include "storage/database.h"

namespace cdp::profile {

// Tells the index the profile's traits as they are now.
void index_traits(audience::CandidateIndex& index, const Profile& profile);

// Fills an empty index from stored state: every live profile's traits and memberships, every
// timeline's track events (those of merged-away profiles count for their survivor). Reads every
// profile record and timeline entry once: about a second per million profiles.
Status build_candidate_index(storage::Database& database, audience::CandidateIndex& index);

// Every profile id from the first stored one to the last (ids without a record included), as a
// scope; nullopt past 32-bit ids, which bitmaps do not hold (the index is off there too).
Result<std::optional<audience::CandidateIndex::Bitmap>> every_profile_id(
    storage::Database& database, const rocksdb::ReadOptions& read);

// Calls `visit` with each stored profile record (key, value) whose id is in `scope` (every one
// when nullopt) and at least `from`, in id order, until it returns false; stops at the first
// error.
Status for_each_profile(
    storage::Database& database, const rocksdb::ReadOptions& read,
    const std::optional<audience::CandidateIndex::Bitmap>& scope, ProfileId from,
    const std::function<Result<bool>(const rocksdb::Slice& key, std::string_view value)>& visit);

}  // namespace cdp::profile
