#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "audience/candidate_index.h"
#include "audience/definitions.h"
#include "common/status.h"
#include "profile/profile.h"
#include "storage/database.h"

namespace cdp::profile {

// What the server gives a preview unless it is asked for an exact one: with the request's own
// costs, an answer within a second at a million profiles.
inline constexpr std::chrono::milliseconds kPreviewBudget{500};

struct PreviewOptions {
  size_t sample = 10;  // how many member ids to list
  // How long to read candidates for before estimating the size from those read so far (a
  // uniform random sample of them), once at least `min_read` are read; nullopt: read them all.
  // A preview that reads every candidate within it is exact.
  std::optional<std::chrono::milliseconds> budget;
  size_t min_read = 1000;
};

struct AudiencePreview {
  size_t size = 0;  // live profiles the condition holds for (an estimate when not `exact`)
  bool exact = true;
  // A 95% interval of the size: from the members found to what the unread candidates allow,
  // narrowed by the sample (both `size` when exact).
  size_t size_low = 0;
  size_t size_high = 0;
  size_t candidates = 0;          // profile ids the condition may hold for (the index's narrowing)
  size_t read = 0;                // of those, looked up
  size_t evaluated = 0;           // of those, live profiles evaluated
  std::vector<ProfileId> sample;  // up to `sample` members found, by id (the lowest when exact)
};

// Evaluates an unsaved audience (`candidate`, its name empty) over the stored profiles at
// `now_ms`, next to the saved `current` definitions it may read, from one snapshot; new
// counters and funnels are computed from each candidate's history. `index` (may be null: every
// profile is read, exactly) narrows the profiles read. With a budget, candidates are read in a
// random order (the same for the same candidates) until it is spent. kInvalidArgument when the
// candidate does not compile with the others (a missing reference).
Result<AudiencePreview> preview_audience(storage::Database& database,
                                         const audience::Definitions& current,
                                         const audience::AudienceDefinition& candidate,
                                         const audience::CandidateIndex* index,
                                         const PreviewOptions& options, int64_t now_ms);

// The size of a population of `population` from `members` found in a uniform random sample of
// `read` without replacement: the point estimate and a 95% Wilson interval with the finite
// population correction (exact when everything was read). Exposed for tests.
struct SizeEstimate {
  size_t size = 0;
  size_t low = 0;
  size_t high = 0;
};
SizeEstimate estimate_size(size_t members, size_t read, size_t population);

}  // namespace cdp::profile
