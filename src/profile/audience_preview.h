#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "audience/candidate_index.h"
#include "audience/definitions.h"
#include "common/status.h"
#include "profile/profile.h"
#include "storage/database.h"

namespace cdp::profile {

struct AudiencePreview {
  size_t size = 0;                // live profiles the condition holds for
  size_t evaluated = 0;           // live profiles read: the candidates the index left
  std::vector<ProfileId> sample;  // the first `sample` members, by id
};

// Evaluates an unsaved audience (`candidate`, its name empty) over the stored profiles at
// `now_ms`, next to the saved `current` definitions it may read, from one snapshot; new
// counters and funnels are computed from each candidate's history. `index` (may be null: every
// profile is read) narrows the profiles read. kInvalidArgument when the candidate does not
// compile with the others (a missing reference).
Result<AudiencePreview> preview_audience(storage::Database& database,
                                         const audience::Definitions& current,
                                         const audience::AudienceDefinition& candidate,
                                         const audience::CandidateIndex* index, size_t sample,
                                         int64_t now_ms);

}  // namespace cdp::profile
