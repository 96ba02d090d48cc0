#include "match/model.h"

#include <algorithm>
#include <cmath>

#include "common/check.h"
#include "common/json_writer.h"

namespace cdp::match {
namespace {

// Weights are capped so one field can never be certain on its own.
constexpr double kMaxFieldWeight = 20.0;

double log2_ratio(double m, double u) {
  return std::clamp(std::log2(std::max(m, 1e-12) / std::max(u, 1e-12)), -kMaxFieldWeight,
                    kMaxFieldWeight);
}

bool is_exact_level(const Comparison& comparison, uint8_t level) {
  return level >= 1 && level <= comparison.levels.size() &&
         comparison.levels[level - 1].kind == LevelKind::kExact;
}

}  // namespace

Model::Model(std::vector<Comparison> comparisons, std::vector<std::vector<double>> m,
             std::vector<std::vector<double>> u, double prior)
    : comparisons_(std::move(comparisons)), m_(std::move(m)), u_(std::move(u)), prior_(prior) {
  CDP_CHECK(comparisons_.size() <= kMaxComparisons);
  CDP_CHECK(m_.size() == comparisons_.size() && u_.size() == comparisons_.size());
  for (const auto& comparison : comparisons_) location_.push_back(comparison.location);
  compute_weights();
}

void Model::compute_weights() {
  prior_weight_ = std::log2(prior_ / (1.0 - prior_));
  weights_.assign(comparisons_.size(), {});
  for (size_t c = 0; c < comparisons_.size(); ++c) {
    weights_[c].assign(comparisons_[c].level_count(), 0.0);
    for (size_t level = 1; level < comparisons_[c].level_count(); ++level) {
      weights_[c][level] = log2_ratio(m_[c][level], u_[c][level]);
    }
  }
}

Pattern Model::pattern(const RecordTable& table, uint32_t a, uint32_t b) const {
  Pattern pattern = 0;
  for (size_t c = 0; c < comparisons_.size(); ++c) {
    pattern |= static_cast<Pattern>(comparisons_[c].evaluate(table, a, b)) << (4 * c);
  }
  return pattern;
}

double Model::frequency_adjustment(const RecordTable& table, size_t comparison, uint8_t level,
                                   uint32_t a, uint32_t b) const {
  const auto& frequencies = table.column(comparisons_[comparison].column).frequencies;
  const double frequency = std::max(frequencies[a], frequencies[b]);
  if (frequency <= 0) return 0;
  return log2_ratio(u_[comparison][level], frequency);
}

Model::Contributions Model::contributions(const RecordTable& table, uint32_t a, uint32_t b) const {
  Contributions out{};
  int strongest_for = -1;      // the location comparison with the largest positive weight
  int strongest_against = -1;  // and the one with the most negative
  for (size_t c = 0; c < comparisons_.size(); ++c) {
    Contribution& contribution = out[c];
    contribution.level = comparisons_[c].evaluate(table, a, b);
    contribution.weight = weights_[c][contribution.level];
    if (comparisons_[c].term_frequency && is_exact_level(comparisons_[c], contribution.level)) {
      contribution.adjustment = frequency_adjustment(table, c, contribution.level, a, b);
    }
    contribution.counted = contribution.weight + contribution.adjustment;
    if (!location_[c]) continue;
    const double total = contribution.counted;
    if (total > 0 && (strongest_for < 0 || total > out[strongest_for].counted)) {
      strongest_for = static_cast<int>(c);
    }
    if (total < 0 && (strongest_against < 0 || total < out[strongest_against].counted)) {
      strongest_against = static_cast<int>(c);
    }
  }
  for (size_t c = 0; c < comparisons_.size(); ++c) {
    if (location_[c] && static_cast<int>(c) != strongest_for &&
        static_cast<int>(c) != strongest_against) {
      out[c].counted = 0;
    }
  }
  return out;
}

double Model::weight(const RecordTable& table, uint32_t a, uint32_t b) const {
  const Contributions parts = contributions(table, a, b);
  double weight = prior_weight_;
  for (size_t c = 0; c < comparisons_.size(); ++c) weight += parts[c].counted;
  return weight;
}

Explanation Model::explain(const RecordTable& table, uint32_t a, uint32_t b) const {
  const Contributions parts = contributions(table, a, b);
  Explanation out;
  out.prior_weight = prior_weight_;
  out.weight = prior_weight_;
  for (size_t c = 0; c < comparisons_.size(); ++c) {
    FieldEvidence evidence;
    evidence.comparison = comparisons_[c].name;
    evidence.level = comparisons_[c].level_label(parts[c].level);
    if (parts[c].level > 0) {
      evidence.m = m_[c][parts[c].level];
      evidence.u = u_[c][parts[c].level];
    }
    evidence.weight = parts[c].weight;
    evidence.frequency_adjustment = parts[c].adjustment;
    evidence.counted = parts[c].counted;
    out.weight += evidence.counted;
    out.fields.push_back(std::move(evidence));
  }
  out.probability = probability_from_weight(out.weight);
  return out;
}

std::string explanation_json(const Explanation& explanation) {
  JsonWriter out;
  out.begin_object();
  out.key("prior_weight").number(explanation.prior_weight);
  out.key("fields").begin_array();
  for (const auto& field : explanation.fields) {
    out.begin_object();
    out.key("comparison").string(field.comparison);
    out.key("level").string(field.level);
    out.key("m").number(field.m);
    out.key("u").number(field.u);
    out.key("weight").number(field.weight);
    out.key("frequency_adjustment").number(field.frequency_adjustment);
    out.key("counted").number(field.counted);
    out.end_object();
  }
  out.end_array();
  out.key("weight").number(explanation.weight);
  out.key("probability").number(explanation.probability);
  out.end_object();
  return out.take();
}

}  // namespace cdp::match
