#include "match/clustering.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

namespace cdp::match {
namespace {

class Forest {
 public:
  explicit Forest(size_t n) : parent_(n), size_(n, 1) {
    std::iota(parent_.begin(), parent_.end(), 0U);
  }
  uint32_t find(uint32_t x) {
    while (parent_[x] != x) {
      parent_[x] = parent_[parent_[x]];
      x = parent_[x];
    }
    return x;
  }
  size_t size(uint32_t root) const { return size_[root]; }
  // Joins two roots; returns the new root (the larger tree's).
  uint32_t join(uint32_t a, uint32_t b) {
    if (size_[a] < size_[b]) std::swap(a, b);
    parent_[b] = a;
    size_[a] += size_[b];
    return a;
  }

 private:
  std::vector<uint32_t> parent_;
  std::vector<size_t> size_;
};

}  // namespace

Clusters cluster_records(size_t records, std::vector<ScoredPair> links,
                         const ClusterOptions& options, std::span<const uint32_t> initial) {
  std::erase_if(links, [&](const ScoredPair& link) { return link.weight < options.min_weight; });
  std::sort(links.begin(), links.end(), [](const ScoredPair& x, const ScoredPair& y) {
    return x.weight != y.weight ? x.weight > y.weight : (x.a != y.a ? x.a < y.a : x.b < y.b);
  });
  Forest forest(records);
  {
    std::unordered_map<uint32_t, uint32_t> first_of_cluster;
    for (uint32_t record = 0; record < initial.size(); ++record) {
      const auto [it, added] = first_of_cluster.emplace(initial[record], record);
      if (!added) {
        const uint32_t a = forest.find(it->second);
        const uint32_t b = forest.find(record);
        if (a != b) forest.join(a, b);
      }
    }
  }
  // Links seen so far between clusters that have not joined, by root, both directions.
  std::unordered_map<uint32_t, std::unordered_map<uint32_t, uint32_t>> pending;
  Clusters out;
  for (const ScoredPair& link : links) {
    uint32_t a = forest.find(link.a);
    uint32_t b = forest.find(link.b);
    if (a == b) continue;
    const size_t size_a = forest.size(a);
    const size_t size_b = forest.size(b);
    if (size_a + size_b > options.max_cluster_size) {
      ++out.refused_by_size;
      continue;
    }
    if (size_a > 1 && size_b > 1) {
      const uint32_t seen = ++pending[a][b];
      ++pending[b][a];
      const double needed =
          std::max(2.0, std::ceil(options.min_link_share * static_cast<double>(size_a * size_b)));
      if (seen < needed) continue;
    }
    const uint32_t root = forest.join(a, b);
    const uint32_t gone = root == a ? b : a;
    // The joined cluster inherits the links both had to third clusters.
    auto found = pending.find(gone);
    if (found != pending.end()) {
      auto moved = std::move(found->second);
      pending.erase(found);
      auto& into = pending[root];
      for (const auto& [other, count] : moved) {
        auto& back = pending[other];
        back.erase(gone);
        if (other == root) continue;
        into[other] += count;
        back[root] += count;
      }
      into.erase(gone);
    }
  }
  for (const auto& [root, others] : pending) {
    for (const auto& [other, count] : others) {
      if (root < other) out.refused_by_support += count;
    }
  }
  out.cluster_of.resize(records);
  std::vector<uint32_t> smallest(records, UINT32_MAX);
  for (uint32_t record = 0; record < records; ++record) {
    const uint32_t root = forest.find(record);
    smallest[root] = std::min(smallest[root], record);
  }
  for (uint32_t record = 0; record < records; ++record) {
    const uint32_t root = forest.find(record);
    out.cluster_of[record] = smallest[root];
    if (root == record) {
      ++out.count;
      out.largest = std::max(out.largest, forest.size(root));
      if (forest.size(root) >= options.max_cluster_size) ++out.at_cap;
    }
  }
  return out;
}

}  // namespace cdp::match
