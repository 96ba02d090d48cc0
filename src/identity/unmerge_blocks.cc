#include "identity/unmerge_blocks.h"

#include <algorithm>

namespace cdp::identity {

void UnmergeBlocks::add(const UnmergeBlock& block) {
  for (uint8_t side = 0; side < 2; ++side) {
    for (const auto& identifier : block.sides[side]) {
      sides_[identifier.key()].emplace_back(block.id, side);
    }
  }
}

void UnmergeBlocks::remove(uint64_t id) {
  for (auto it = sides_.begin(); it != sides_.end();) {
    std::erase_if(it->second, [&](const auto& entry) { return entry.first == id; });
    it = it->second.empty() ? sides_.erase(it) : std::next(it);
  }
}

void UnmergeBlocks::clear() { sides_.clear(); }

std::optional<uint64_t> UnmergeBlocks::first_with_both_sides(
    std::vector<std::pair<uint64_t, uint8_t>>& seen) {
  std::sort(seen.begin(), seen.end());
  for (size_t i = 1; i < seen.size(); ++i) {
    if (seen[i].first == seen[i - 1].first && seen[i].second != seen[i - 1].second) {
      return seen[i].first;
    }
  }
  return std::nullopt;
}

}  // namespace cdp::identity
