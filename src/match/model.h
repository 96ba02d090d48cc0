#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "match/blocking.h"
#include "match/comparison.h"
#include "match/record_table.h"

namespace cdp::match {

// What the matcher needs to be told: how to compare records, which pairs to compare, which
// pairs to train on, and which rules are certain enough to estimate the prior from.
struct ModelSpec {
  std::vector<Comparison> comparisons;
  std::vector<BlockingRule> blocking;       // candidate pairs for prediction (unioned)
  std::vector<BlockingRule> training;       // one EM session each
  std::vector<BlockingRule> deterministic;  // pairs these find are taken as matches (prior)
  double deterministic_recall = 0.8;        // share of all matches the deterministic rules find
};

// The default specification for the declared columns (docs/matching.md says what it chooses).
ModelSpec default_model_spec(const RecordTable& table);

// A pair's comparison levels, 4 bits per comparison.
using Pattern = uint64_t;
inline uint8_t pattern_level(Pattern pattern, size_t comparison) {
  return static_cast<uint8_t>((pattern >> (4 * comparison)) & 0xF);
}

// One comparison's contribution to a pair's score.
struct FieldEvidence {
  std::string comparison;
  std::string level;
  double m = 0;
  double u = 0;
  double weight = 0;                // log2(m / u); 0 for a missing value
  double frequency_adjustment = 0;  // term frequency: log2(u / frequency of the value)
  double counted = 0;  // what entered the pair's weight: weight + adjustment, or 0 for a
                       // location field outweighed by another (see Model)
};

struct Explanation {
  double prior_weight = 0;  // log2 of the prior odds
  std::vector<FieldEvidence> fields;
  double weight = 0;  // prior_weight + every field's `counted`
  double probability = 0;
};

// {"prior_weight", "fields": [{"comparison", "level", "m", "u", "weight",
// "frequency_adjustment", "counted"}], "weight", "probability"}: what `cdp match explain --json`
// prints and what probabilistic identity edges and reviews carry.
std::string explanation_json(const Explanation& explanation);

// A Fellegi-Sunter model: per comparison level, m = P(level | match) and u = P(level | not a
// match), and the prior probability that two random records match. A pair's match weight is
// log2(prior odds) + sum of log2(m / u) over its comparisons; exact matches on a comparison
// with term frequencies use the value's own frequency instead of the average u, so a match on
// a rare surname counts for more than one on "smith".
//
// Location comparisons (postcode, place, address, house number) are not independent: two records in
// the same postcode are in the same town, and strangers in one household agree on all of them.
// Summing them would count one fact several times, so of the location comparisons only the
// strongest evidence for and the strongest against enter the weight.
//
// Thread-safe for concurrent reads.
class Model {
 public:
  Model() = default;
  Model(std::vector<Comparison> comparisons, std::vector<std::vector<double>> m,
        std::vector<std::vector<double>> u, double prior);

  Pattern pattern(const RecordTable& table, uint32_t a, uint32_t b) const;
  double weight(const RecordTable& table, uint32_t a, uint32_t b) const;
  Explanation explain(const RecordTable& table, uint32_t a, uint32_t b) const;

  const std::vector<Comparison>& comparisons() const { return comparisons_; }
  const std::vector<std::vector<double>>& m() const { return m_; }
  const std::vector<std::vector<double>>& u() const { return u_; }
  double prior() const { return prior_; }

 private:
  struct Contribution {
    uint8_t level = 0;
    double weight = 0;
    double adjustment = 0;
    double counted = 0;
  };
  using Contributions = std::array<Contribution, kMaxComparisons>;
  Contributions contributions(const RecordTable& table, uint32_t a, uint32_t b) const;
  double frequency_adjustment(const RecordTable& table, size_t comparison, uint8_t level,
                              uint32_t a, uint32_t b) const;
  void compute_weights();

  std::vector<Comparison> comparisons_;
  std::vector<std::vector<double>> m_;
  std::vector<std::vector<double>> u_;
  std::vector<std::vector<double>> weights_;
  std::vector<bool> location_;
  double prior_ = 0;
  double prior_weight_ = 0;
};

inline double probability_from_weight(double weight) { return 1.0 / (1.0 + std::exp2(-weight)); }

}  // namespace cdp::match
