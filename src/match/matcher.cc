#include "match/matcher.h"

#include <chrono>
#include <cmath>
#include <fstream>
#include <string>

#include "common/check.h"
#include "match/internal/parallel.h"

namespace cdp::match {
namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Linux keeps the process's peak RSS in VmHWM; writing 5 to clear_refs resets it, so each stage
// reports its own peak.
void reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  if (clear) clear << "5";
}

uint64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

}  // namespace

double weight_from_probability(double probability) {
  return std::log2(probability / (1.0 - probability));
}

StageTimer::StageTimer() : started_(now_seconds()) { reset_peak_rss(); }

StageReport StageTimer::end(std::string name) {
  StageReport report{std::move(name), now_seconds() - started_, peak_rss_bytes()};
  started_ = now_seconds();
  reset_peak_rss();
  return report;
}

MatchRun run_matching(const RecordTable& table, const ModelSpec& spec,
                      const MatchOptions& options) {
  StageTimer timer;
  TrainingOptions training = options.training;
  training.max_block_size = options.max_block_size;
  TrainingReport report;
  const Model model = train(table, spec, training, &report);
  StageReport train_stage = timer.end("train");
  MatchRun run = run_matching(table, spec, model, options);
  run.training = std::move(report);
  run.stages.insert(run.stages.begin(), std::move(train_stage));
  return run;
}

MatchRun run_matching(const RecordTable& table, const ModelSpec& spec, const Model& model,
                      const MatchOptions& options) {
  return match_new_records(table, 0, {}, spec, model, options);
}

MatchRun match_new_records(const RecordTable& table, uint32_t first_new,
                           std::span<const uint32_t> existing_clusters, const ModelSpec& spec,
                           const Model& model, const MatchOptions& options) {
  CDP_CHECK(existing_clusters.size() == first_new && first_new <= table.size());
  MatchRun run;
  run.model = model;
  StageTimer timer;
  run.candidates = generate_pairs(table, spec.blocking,
                                  {.mode = options.training.mode,
                                   .max_block_size = options.max_block_size,
                                   .first_new = first_new});
  for (const auto& rule : spec.blocking) run.rule_labels.push_back(rule.label(table));
  run.stages.push_back(timer.end("block"));

  const double review_weight = weight_from_probability(options.review_threshold);
  const int threads = options.training.threads;
  const auto& pairs = run.candidates.pairs;
  std::vector<std::vector<ScoredPair>> partial(static_cast<size_t>(std::max(threads, 1)));
  internal::parallel_for(pairs.size(), threads, [&](size_t begin, size_t end, size_t worker) {
    auto& kept = partial[worker];
    for (size_t i = begin; i < end; ++i) {
      const auto [a, b] = pairs[i];
      const double weight = model.weight(table, a, b);
      if (weight >= review_weight) kept.push_back({a, b, static_cast<float>(weight)});
    }
  });
  for (auto& kept : partial) run.links.insert(run.links.end(), kept.begin(), kept.end());
  run.stages.push_back(timer.end("score"));

  ClusterOptions cluster_options;
  cluster_options.min_weight = weight_from_probability(options.match_threshold);
  cluster_options.min_link_share = options.min_link_share;
  cluster_options.max_cluster_size = options.max_cluster_size;
  run.clusters = cluster_records(table.size(), run.links, cluster_options, existing_clusters);
  run.stages.push_back(timer.end("cluster"));
  return run;
}

}  // namespace cdp::match
