#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "match/blocking.h"
#include "match/clustering.h"
#include "match/model.h"
#include "match/training.h"

namespace cdp::match {

struct MatchOptions {
  TrainingOptions training;
  double match_threshold = 0.9;   // links at or above this probability join clusters
  double review_threshold = 0.5;  // links from here up to the match threshold need a person
  size_t max_block_size = 20'000;
  double min_link_share = 0.25;  // see ClusterOptions
  size_t max_cluster_size = 1000;
};

// Wall time and peak resident memory of one stage of a run.
struct StageReport {
  std::string name;
  double seconds = 0;
  uint64_t peak_rss_bytes = 0;  // the process's peak during the stage (0 where unknown)
};

struct MatchRun {
  Model model;
  TrainingReport training;
  std::vector<std::string> rule_labels;
  CandidatePairs candidates;
  std::vector<ScoredPair> links;  // candidate pairs at or above the review threshold
  Clusters clusters;
  std::vector<StageReport> stages;
};

// Measures stages: construct it where the first stage starts; end(name) closes one stage and
// starts the next.
class StageTimer {
 public:
  StageTimer();
  StageReport end(std::string name);

 private:
  double started_;
};

// The whole matching pipeline on `table`: train (u, prior, EM), block, score, cluster.
MatchRun run_matching(const RecordTable& table, const ModelSpec& spec, const MatchOptions& options);

// The same with a model trained before (a saved one): block, score, cluster.
MatchRun run_matching(const RecordTable& table, const ModelSpec& spec, const Model& model,
                      const MatchOptions& options);

// Incremental matching: the records from `first_new` on are new; the earlier ones were matched
// before and are in existing_clusters[record]. Only pairs with a new record are compared
// (new-to-new and new-to-existing), and clustering starts from the existing clusters, so the
// cost follows the new records, not the whole data set. Existing clusters are never split;
// new links may join them (under the same support rule as any two clusters).
// REQUIRES: existing_clusters.size() == first_new.
MatchRun match_new_records(const RecordTable& table, uint32_t first_new,
                           std::span<const uint32_t> existing_clusters, const ModelSpec& spec,
                           const Model& model, const MatchOptions& options);

// Match weight of a probability (log2 of its odds).
double weight_from_probability(double probability);

}  // namespace cdp::match
