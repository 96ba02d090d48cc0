#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace cdp::match {

// A scored candidate pair.
struct ScoredPair {
  uint32_t a = 0;
  uint32_t b = 0;
  float weight = 0;  // match weight (log2 odds); probability_from_weight() gives the probability
};

struct ClusterOptions {
  double min_weight = 3.17;  // log2 odds of the match threshold (0.9)
  // Two clusters of two or more records join only when at least this share of the possible
  // links between them, and at least two, have been seen: one weak link must not join two
  // clusters.
  double min_link_share = 0.25;
  size_t max_cluster_size = 1000;
};

struct Clusters {
  std::vector<uint32_t> cluster_of;  // per record: the id of its cluster (the smallest record)
  size_t count = 0;
  size_t largest = 0;
  uint64_t refused_by_size = 0;     // links not followed because the result would be too big
  uint64_t refused_by_support = 0;  // links that never gathered enough support
  uint64_t at_cap = 0;              // clusters that reached max_cluster_size
};

// Clusters records by their links at or above the threshold, best links first. A record joins
// a cluster on its best link; two clusters with several records each join only once enough of
// the links between them are above the threshold (`min_link_share` of |A|·|B|), and never past
// `max_cluster_size`.
//
// Rationale: connected components let one false link chain two people together, and chains
// grow into "super clusters" on large data. Requiring support between established clusters
// keeps true clusters whole (their members link to each other densely) while a single link
// between two of them is not enough.
//
// `initial` (optional) gives the first initial.size() records the clusters they already have
// (incremental matching): they start joined, and links then grow them as above.
Clusters cluster_records(size_t records, std::vector<ScoredPair> links,
                         const ClusterOptions& options, std::span<const uint32_t> initial = {});

}  // namespace cdp::match
