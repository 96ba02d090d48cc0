#include "match/evaluation.h"

#include <algorithm>
#include <unordered_map>

#include "common/check.h"

namespace cdp::match {
namespace {

// Pairs and size of each group of records with equal keys.
struct GroupCounts {
  uint64_t pairs = 0;
  size_t largest = 0;
};

template <typename Key, typename KeyOf>
GroupCounts count_groups(const RecordTable& table, LinkMode mode, KeyOf key_of) {
  std::unordered_map<Key, std::vector<uint64_t>> groups;  // records per source
  for (uint32_t record = 0; record < table.size(); ++record) {
    auto& per_source = groups[key_of(record)];
    per_source.resize(table.source_count(), 0);
    ++per_source[table.source(record)];
  }
  GroupCounts out;
  for (const auto& [key, per_source] : groups) {
    out.pairs += comparable_pairs(per_source, mode);
    size_t size = 0;
    for (uint64_t count : per_source) size += count;
    out.largest = std::max(out.largest, size);
  }
  return out;
}

}  // namespace

Evaluation evaluate_clusters(const RecordTable& table, LinkMode mode,
                             const std::vector<uint32_t>& predicted,
                             const std::vector<uint32_t>& truth) {
  CDP_CHECK(predicted.size() == table.size() && truth.size() == table.size());
  Evaluation out;
  const auto predicted_groups =
      count_groups<uint32_t>(table, mode, [&](uint32_t record) { return predicted[record]; });
  const auto true_groups =
      count_groups<uint32_t>(table, mode, [&](uint32_t record) { return truth[record]; });
  const auto both = count_groups<uint64_t>(table, mode, [&](uint32_t record) {
    return (static_cast<uint64_t>(predicted[record]) << 32) | truth[record];
  });
  out.predicted_pairs = predicted_groups.pairs;
  out.true_pairs = true_groups.pairs;
  out.correct_pairs = both.pairs;
  out.largest_cluster = predicted_groups.largest;
  out.true_largest_cluster = true_groups.largest;
  out.precision = out.predicted_pairs == 0 ? 1.0
                                           : static_cast<double>(out.correct_pairs) /
                                                 static_cast<double>(out.predicted_pairs);
  out.recall = out.true_pairs == 0
                   ? 1.0
                   : static_cast<double>(out.correct_pairs) / static_cast<double>(out.true_pairs);
  out.f1 = out.precision + out.recall == 0
               ? 0
               : 2 * out.precision * out.recall / (out.precision + out.recall);

  // B-cubed: per record, the share of its predicted cluster that is truly its entity, and the
  // share of its entity that is in its predicted cluster; averaged over records.
  std::unordered_map<uint32_t, uint64_t> predicted_size;
  std::unordered_map<uint32_t, uint64_t> true_size;
  std::unordered_map<uint64_t, uint64_t> overlap;
  for (uint32_t record = 0; record < table.size(); ++record) {
    ++predicted_size[predicted[record]];
    ++true_size[truth[record]];
    ++overlap[(static_cast<uint64_t>(predicted[record]) << 32) | truth[record]];
  }
  double precision_sum = 0;
  double recall_sum = 0;
  for (uint32_t record = 0; record < table.size(); ++record) {
    const double common = static_cast<double>(
        overlap[(static_cast<uint64_t>(predicted[record]) << 32) | truth[record]]);
    precision_sum += common / static_cast<double>(predicted_size[predicted[record]]);
    recall_sum += common / static_cast<double>(true_size[truth[record]]);
  }
  if (table.size() > 0) {
    out.bcubed_precision = precision_sum / static_cast<double>(table.size());
    out.bcubed_recall = recall_sum / static_cast<double>(table.size());
  }
  return out;
}

BlockingEvaluation evaluate_blocking(const std::vector<RecordPair>& candidates,
                                     const std::vector<uint32_t>& truth, uint64_t true_pairs) {
  BlockingEvaluation out;
  for (const auto& [a, b] : candidates) {
    if (truth[a] == truth[b]) ++out.true_pairs_found;
  }
  out.recall = true_pairs == 0
                   ? 1.0
                   : static_cast<double>(out.true_pairs_found) / static_cast<double>(true_pairs);
  return out;
}

}  // namespace cdp::match
