#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "match/blocking.h"
#include "match/model.h"

namespace cdp::match {

// How many pairs share each comparison pattern: what EM iterates over (a few thousand distinct
// patterns stand for millions of pairs).
using PatternCounts = std::unordered_map<Pattern, uint64_t>;

struct TrainingOptions {
  LinkMode mode = LinkMode::kDedupe;
  uint64_t u_sample_pairs = 1'000'000;      // random pairs for u
  uint64_t max_training_pairs = 2'000'000;  // per EM session (sampled beyond)
  size_t max_block_size = 20'000;
  int max_iterations = 40;
  double tolerance = 1e-5;  // stop when no parameter moves more than this
  int threads = 2;
  uint64_t seed = 42;
};

// One EM session: m per comparison level estimated from pairs blocked by `rule`, u fixed.
struct EmSession {
  std::string rule;
  uint64_t pairs = 0;
  int iterations = 0;
  double match_share = 0;     // estimated share of matches among the rule's pairs
  std::vector<bool> trained;  // per comparison: false when the rule fixes its column
  std::vector<std::vector<double>> m;
};

struct TrainingReport {
  uint64_t u_pairs = 0;
  uint64_t deterministic_pairs = 0;
  uint64_t total_pairs = 0;  // all comparable pairs (the prior's denominator)
  std::vector<EmSession> sessions;
  std::vector<std::string> untrained;  // comparisons no session could train (default m kept)
};

// u: level shares among random pairs (nearly all of them non-matches).
std::vector<std::vector<double>> estimate_u(const RecordTable& table,
                                            const std::vector<Comparison>& comparisons,
                                            const TrainingOptions& options, uint64_t* sampled);

// The prior: pairs found by the deterministic rules / (their recall × all comparable pairs).
double estimate_prior(const RecordTable& table, const ModelSpec& spec,
                      const TrainingOptions& options, TrainingReport* report);

// Expectation-maximisation of m and the match share over `counts`, with u fixed. Comparisons
// with fixed[c] set are left out of the likelihood and keep their m. Converges on a mixture of
// matches and non-matches under conditional independence.
struct EmResult {
  std::vector<std::vector<double>> m;
  double match_share = 0;
  int iterations = 0;
};
EmResult expectation_maximisation(const PatternCounts& counts,
                                  const std::vector<Comparison>& comparisons,
                                  std::vector<std::vector<double>> m,
                                  const std::vector<std::vector<double>>& u,
                                  const std::vector<bool>& fixed, double match_share,
                                  int max_iterations, double tolerance);

// The starting m: most of a comparison's matches on its best level, falling off level by level.
std::vector<std::vector<double>> initial_m(const std::vector<Comparison>& comparisons);

// Trains a model on `table` without labels: u from random pairs, the prior from the
// deterministic rules, m by EM over each training rule's pairs (averaged over the sessions that
// could train each comparison).
Model train(const RecordTable& table, const ModelSpec& spec, const TrainingOptions& options,
            TrainingReport* report);

}  // namespace cdp::match
