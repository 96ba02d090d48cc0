#include "match/training.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <random>

#include "match/internal/parallel.h"

namespace cdp::match {
namespace {

using Levels = std::vector<std::vector<double>>;

Levels zeros(const std::vector<Comparison>& comparisons) {
  Levels out;
  for (const auto& comparison : comparisons) out.emplace_back(comparison.level_count(), 0.0);
  return out;
}

// Levels 1.. as shares of their sum (level 0, missing, stays 0); `floor` keeps every level
// possible so that no weight is infinite.
void normalise(std::vector<double>& levels, double floor) {
  double sum = 0;
  for (size_t level = 1; level < levels.size(); ++level) {
    levels[level] = std::max(levels[level], floor);
    sum += levels[level];
  }
  for (size_t level = 1; level < levels.size(); ++level) levels[level] /= sum;
  levels[0] = 0;
}

uint64_t comparable_pairs(const RecordTable& table, LinkMode mode) {
  std::vector<uint64_t> per_source(table.source_count(), 0);
  for (size_t record = 0; record < table.size(); ++record) ++per_source[table.source(record)];
  return comparable_pairs(per_source, mode);
}

PatternCounts count_patterns(const RecordTable& table, const Model& model,
                             const std::vector<RecordPair>& pairs, int threads) {
  std::vector<PatternCounts> partial(static_cast<size_t>(std::max(threads, 1)));
  internal::parallel_for(pairs.size(), threads, [&](size_t begin, size_t end, size_t worker) {
    auto& counts = partial[worker];
    for (size_t i = begin; i < end; ++i) {
      ++counts[model.pattern(table, pairs[i].first, pairs[i].second)];
    }
  });
  PatternCounts out = std::move(partial[0]);
  for (size_t i = 1; i < partial.size(); ++i) {
    for (const auto& [pattern, count] : partial[i]) out[pattern] += count;
  }
  return out;
}

}  // namespace

Levels initial_m(const std::vector<Comparison>& comparisons) {
  Levels m = zeros(comparisons);
  for (size_t c = 0; c < comparisons.size(); ++c) {
    double share = 1.0;
    for (size_t level = 1; level < comparisons[c].level_count(); ++level) {
      m[c][level] = level == comparisons[c].else_level() ? 0.02 : share;
      share /= 2;
    }
    normalise(m[c], 1e-6);
  }
  return m;
}

Levels estimate_u(const RecordTable& table, const std::vector<Comparison>& comparisons,
                  const TrainingOptions& options, uint64_t* sampled) {
  const Model levels_only(comparisons, zeros(comparisons), zeros(comparisons), 0.5);
  std::vector<Levels> partial(static_cast<size_t>(std::max(options.threads, 1)),
                              zeros(comparisons));
  const uint64_t comparable = comparable_pairs(table, options.mode);
  const uint64_t target = std::min(options.u_sample_pairs, comparable);
  // The sample is drawn in fixed chunks, each from its own seed, so it is the same whatever
  // the number of threads: training is reproducible.
  constexpr uint64_t kChunk = 4096;
  const uint64_t chunks = (target + kChunk - 1) / kChunk;
  internal::parallel_for(chunks, options.threads, [&](size_t first, size_t last, size_t worker) {
    auto& counts = partial[worker];
    for (size_t chunk = first; chunk < last; ++chunk) {
      std::mt19937_64 random(options.seed + 0x9e3779b97f4a7c15ULL * (chunk + 1));
      std::uniform_int_distribution<uint32_t> pick(0, static_cast<uint32_t>(table.size() - 1));
      const uint64_t wanted = std::min(kChunk, target - chunk * kChunk);
      // Linking a small file to a large one accepts few random pairs; a bounded number of
      // draws keeps that from running for ever (u then rests on fewer pairs).
      uint64_t draws_left = 50 * wanted + 1000;
      for (uint64_t i = 0; i < wanted && draws_left > 0; --draws_left) {
        const uint32_t a = pick(random);
        const uint32_t b = pick(random);
        if (a == b || !pair_allowed(table, options.mode, a, b)) continue;
        const Pattern pattern = levels_only.pattern(table, a, b);
        for (size_t c = 0; c < comparisons.size(); ++c) counts[c][pattern_level(pattern, c)] += 1;
        ++i;
      }
    }
  });
  Levels u = zeros(comparisons);
  for (const auto& counts : partial) {
    for (size_t c = 0; c < comparisons.size(); ++c) {
      for (size_t level = 0; level < counts[c].size(); ++level) u[c][level] += counts[c][level];
    }
  }
  if (sampled) {
    *sampled = 0;
    if (!u.empty()) {
      for (double count : u[0]) *sampled += static_cast<uint64_t>(count);
    }
  }
  // A level no random pair reached counts as one pair of the sample.
  for (auto& levels : u) normalise(levels, 1.0);
  return u;
}

double estimate_prior(const RecordTable& table, const ModelSpec& spec,
                      const TrainingOptions& options, TrainingReport* report) {
  const uint64_t total = comparable_pairs(table, options.mode);
  uint64_t found = 0;
  if (!spec.deterministic.empty()) {
    found = generate_pairs(table, spec.deterministic,
                           {.mode = options.mode, .max_block_size = options.max_block_size})
                .pairs.size();
  }
  if (report) {
    report->deterministic_pairs = found;
    report->total_pairs = total;
  }
  if (total == 0) return 0.5;
  // Without deterministic matches, assume each record has one match somewhere.
  const double matches = found > 0 ? static_cast<double>(found) / spec.deterministic_recall
                                   : static_cast<double>(table.size()) / 2.0;
  return std::clamp(matches / static_cast<double>(total), 1e-12, 0.5);
}

EmResult expectation_maximisation(const PatternCounts& counts,
                                  const std::vector<Comparison>& comparisons, Levels m,
                                  const Levels& u, const std::vector<bool>& fixed,
                                  double match_share, int max_iterations, double tolerance) {
  struct Row {
    Pattern pattern;
    double count;
  };
  std::vector<Row> rows;
  rows.reserve(counts.size());
  for (const auto& [pattern, count] : counts) rows.push_back({pattern, static_cast<double>(count)});
  EmResult result;
  for (int iteration = 1; iteration <= max_iterations; ++iteration) {
    Levels sums = zeros(comparisons);
    double matched = 0;
    double all = 0;
    std::vector<std::vector<double>> log_m(comparisons.size());
    std::vector<std::vector<double>> log_u(comparisons.size());
    for (size_t c = 0; c < comparisons.size(); ++c) {
      for (size_t level = 0; level < m[c].size(); ++level) {
        log_m[c].push_back(std::log(std::max(m[c][level], 1e-300)));
        log_u[c].push_back(std::log(std::max(u[c][level], 1e-300)));
      }
    }
    const double log_share = std::log(match_share);
    const double log_other = std::log(1.0 - match_share);
    for (const Row& row : rows) {
      double match = log_share;
      double other = log_other;
      for (size_t c = 0; c < comparisons.size(); ++c) {
        const uint8_t level = pattern_level(row.pattern, c);
        if (fixed[c] || level == 0) continue;
        match += log_m[c][level];
        other += log_u[c][level];
      }
      const double posterior = 1.0 / (1.0 + std::exp(other - match));
      const double weight = posterior * row.count;
      matched += weight;
      all += row.count;
      for (size_t c = 0; c < comparisons.size(); ++c) {
        sums[c][pattern_level(row.pattern, c)] += weight;
      }
    }
    double moved = std::abs(matched / all - match_share);
    match_share = std::clamp(matched / all, 1e-9, 1.0 - 1e-9);
    for (size_t c = 0; c < comparisons.size(); ++c) {
      if (fixed[c]) continue;
      normalise(sums[c], 1e-6);
      for (size_t level = 1; level < m[c].size(); ++level) {
        moved = std::max(moved, std::abs(sums[c][level] - m[c][level]));
      }
      m[c] = std::move(sums[c]);
    }
    result.iterations = iteration;
    if (moved < tolerance) break;
  }
  result.m = std::move(m);
  result.match_share = match_share;
  return result;
}

Model train(const RecordTable& table, const ModelSpec& spec, const TrainingOptions& options,
            TrainingReport* report) {
  TrainingReport local;
  TrainingReport& out = report ? *report : local;
  const auto& comparisons = spec.comparisons;
  const Levels u = estimate_u(table, comparisons, options, &out.u_pairs);
  const double prior = estimate_prior(table, spec, options, &out);
  const Model levels_only(comparisons, zeros(comparisons), u, 0.5);

  const Levels start = initial_m(comparisons);
  Levels m_sum = zeros(comparisons);
  std::vector<int> sessions_per_comparison(comparisons.size(), 0);
  for (const BlockingRule& rule : spec.training) {
    EmSession session;
    session.rule = rule.label(table);
    const auto pairs = generate_pairs(table, {rule},
                                      {.mode = options.mode,
                                       .max_block_size = options.max_block_size,
                                       .max_pairs = options.max_training_pairs,
                                       .seed = options.seed})
                           .pairs;
    session.pairs = pairs.size();
    session.trained.assign(comparisons.size(), true);
    std::vector<bool> fixed(comparisons.size(), false);
    // A blocked field is no evidence in its own block; nor are the other locations when the
    // block is on one (neighbours and households agree on all of them).
    for (size_t c = 0; c < comparisons.size(); ++c) {
      for (const auto& key : rule.keys) {
        if (key.column == comparisons[c].column ||
            (is_location(table.column(key.column).spec.kind) &&
             is_location(table.column(comparisons[c].column).spec.kind))) {
          fixed[c] = true;
        }
      }
      session.trained[c] = !fixed[c];
    }
    if (!pairs.empty()) {
      const PatternCounts counts = count_patterns(table, levels_only, pairs, options.threads);
      auto em = expectation_maximisation(counts, comparisons, start, u, fixed, 0.3,
                                         options.max_iterations, options.tolerance);
      session.iterations = em.iterations;
      session.match_share = em.match_share;
      session.m = std::move(em.m);
      for (size_t c = 0; c < comparisons.size(); ++c) {
        if (fixed[c]) continue;
        ++sessions_per_comparison[c];
        for (size_t level = 1; level < m_sum[c].size(); ++level) {
          m_sum[c][level] += session.m[c][level];
        }
      }
    }
    out.sessions.push_back(std::move(session));
  }
  Levels m = start;
  for (size_t c = 0; c < comparisons.size(); ++c) {
    if (sessions_per_comparison[c] == 0) {
      out.untrained.push_back(comparisons[c].name);
      continue;
    }
    m[c] = m_sum[c];
    normalise(m[c], 1e-6);
  }
  return Model(comparisons, std::move(m), u, prior);
}

}  // namespace cdp::match
