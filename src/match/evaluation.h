#pragma once

#include <cstdint>
#include <vector>

#include "match/blocking.h"
#include "match/record_table.h"

namespace cdp::match {

// Quality of predicted clusters against true ones (labels are for measuring only). Pairs are
// the pairs the link mode compares: within a source for dedupe, across sources for linking.
struct Evaluation {
  uint64_t true_pairs = 0;
  uint64_t predicted_pairs = 0;
  uint64_t correct_pairs = 0;
  double precision = 0;
  double recall = 0;
  double f1 = 0;
  double bcubed_precision = 0;
  double bcubed_recall = 0;
  size_t largest_cluster = 0;
  size_t true_largest_cluster = 0;
};

// REQUIRES: predicted.size() == truth.size() == table.size(); ids are any uint32 values.
Evaluation evaluate_clusters(const RecordTable& table, LinkMode mode,
                             const std::vector<uint32_t>& predicted,
                             const std::vector<uint32_t>& truth);

// Share of true pairs among `candidates` (blocking recall) and how many there are.
struct BlockingEvaluation {
  uint64_t true_pairs_found = 0;
  double recall = 0;
};
BlockingEvaluation evaluate_blocking(const std::vector<RecordPair>& candidates,
                                     const std::vector<uint32_t>& truth, uint64_t true_pairs);

}  // namespace cdp::match
