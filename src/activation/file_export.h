#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "activation/destination.h"
#include "common/status.h"
#include "storage/database.h"

namespace cdp::activation {

// What one export of one audience wrote.
struct AudienceExport {
  std::string audience;
  std::string directory;
  uint64_t members = 0;
  uint64_t added = 0;
  uint64_t removed = 0;
};

// Exports the members of an audience to files, the paid-media upload case: in
// `directory`/STAMP-snapshot.EXT every current member, one row per profile with the first of each
// of `spec.files.identifiers` written per `spec.files.hashing`; in STAMP-added.EXT and
// STAMP-removed.EXT the members that entered and left since the previous snapshot in that
// directory (everyone is added in the first). STAMP is `now_ms` as 20261126T164500Z. CSV (RFC
// 4180, a header row) or JSON Lines. Each file is written to a temporary name, fsynced and
// renamed, the snapshot last: a snapshot exists only when its export is complete, and the next
// export diffs against it.
Result<AudienceExport> export_audience(storage::Database& database, const DestinationSpec& spec,
                                       const std::string& audience, const std::string& directory,
                                       int64_t now_ms);

// When the audience's export in `directory` was last made (from the newest snapshot's name), or
// nullopt when it has none.
std::optional<int64_t> last_export_ms(const std::string& directory);

// The folder of an audience's files under a destination's folder: the name itself when it is
// made of [A-Za-z0-9._-] (and is not "." or ".."), else those characters with '_' for the others
// and a short hash of the name, so that distinct audiences never share a folder.
std::string audience_folder(std::string_view audience);

}  // namespace cdp::activation
