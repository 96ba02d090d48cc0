#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "match/match_config.h"
#include "match/matcher.h"
#include "match/model_file.h"
#include "profile/profile.h"
#include "storage/database.h"

namespace cdp::pipeline {

// Two profiles the matcher says are one person, each named by an identifier it holds (an
// anchor, so that the link means the same people however a replay numbers the profiles).
struct ProposedLink {
  profile::ProfileId profile_a = 0;
  profile::ProfileId profile_b = 0;
  std::string a;  // type:value
  std::string b;
  double probability = 0;
  std::string explanation;  // match::explanation_json
};

struct LinkingOptions {
  // Which trait is what (config.columns: trait names and kinds) and the thresholds.
  match::MatchConfig config;
  // A trained model to reuse; without one, the model is trained on the profiles (unsupervised).
  std::optional<match::SavedModel> saved;
  // How many profiles `saved` was trained on, when this service trained it (0: given by the
  // user). Once the profiles have doubled since, the model is trained again: one
  // trained on the first, small import knows little about the data that followed.
  size_t saved_trained_on = 0;
  // Incremental: profiles with an id above this are new, and only pairs with a new profile are
  // scored. 0: every profile is matched against every other (a full run).
  profile::ProfileId new_after = 0;
  size_t max_reviews = 10'000;  // the best-scoring ones are kept
};

struct LinkingRun {
  size_t profiles = 0;                 // live profiles with a value in at least one matched trait
  size_t new_profiles = 0;             // of them, those after `new_after`
  profile::ProfileId max_profile = 0;  // the highest profile id read: the next run's new_after
  uint64_t candidate_pairs = 0;
  size_t largest_cluster = 0;
  // Merges: per cluster of records at or above the match threshold, the strongest links that
  // join its profiles (a spanning tree), so each cluster becomes one profile.
  std::vector<ProposedLink> links;
  // For a person: pairs at or above the review threshold that clustering did not join.
  std::vector<ProposedLink> reviews;
  std::vector<match::StageReport> stages;
  std::string model_json;  // the trained model (match::save_model), empty when one was reused
};

// How `saved` scores two profiles: the values each has in the model's columns, and the
// explanation (levels, m, u, weights). JSON: {"columns":[{"name","a","b"}],"explanation":{...},
// "termFrequencies":false}. Term-frequency adjustments need the value frequencies of every
// profile, which a single pair does not have: they are left out (0), and said so.
Result<std::string> explain_profiles(const match::SavedModel& saved, const profile::Profile& a,
                                     const profile::Profile& b);

// Matches the live profiles of `database` by their traits (docs/matching.md, "Profiles"): reads
// committed state, builds the record table, trains or restores the model, blocks, scores and
// clusters, and proposes links and reviews. Writes nothing: the caller appends the links to the
// log (source storage::kMatchSource) and queues the reviews.
Result<LinkingRun> link_profiles(storage::Database& database, const LinkingOptions& options);

}  // namespace cdp::pipeline
