#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "identity/identifier.h"

namespace cdp::identity {

// What one unmerge split: the identifiers on side 0 and those on side 1 may never again be in
// one profile, until the block is lifted (re-allowed). Its id is the raw log seq of the unmerge.
struct UnmergeBlock {
  uint64_t id = 0;
  std::vector<Identifier> sides[2];
};

// Every active block, indexed by identifier, for the resolver's check.
// Not thread-safe (owned by the processor's state).
//
// Rationale: a cannot-link constraint between the two sides (rather than a ban on one edge)
// is what keeps a split profile split: any later event joining the sides through a third
// identifier is refused too. Blocks are rare, so they live in memory.
class UnmergeBlocks {
 public:
  void add(const UnmergeBlock& block);
  void remove(uint64_t id);
  void clear();
  bool empty() const { return sides_.empty(); }

  // The first block (lowest id) that has identifiers on both of its sides among `keys`
  // (Identifier::key() values), or nullopt.
  template <typename Keys>
  std::optional<uint64_t> violated(const Keys& keys) const {
    if (sides_.empty()) return std::nullopt;
    std::vector<std::pair<uint64_t, uint8_t>> seen;
    for (const auto& key : keys) {
      auto it = sides_.find(key);
      if (it != sides_.end()) seen.insert(seen.end(), it->second.begin(), it->second.end());
    }
    return first_with_both_sides(seen);
  }

 private:
  static std::optional<uint64_t> first_with_both_sides(
      std::vector<std::pair<uint64_t, uint8_t>>& seen);

  // identifier key -> (block id, side) for each block it is in
  std::unordered_map<std::string, std::vector<std::pair<uint64_t, uint8_t>>> sides_;
};

}  // namespace cdp::identity
