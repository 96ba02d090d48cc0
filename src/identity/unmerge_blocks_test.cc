#include "identity/unmerge_blocks.h"

#include <gtest/gtest.h>

namespace cdp::identity {
namespace {

std::vector<std::string> keys(std::initializer_list<Identifier> identifiers) {
  std::vector<std::string> out;
  for (const auto& identifier : identifiers) out.push_back(identifier.key());
  return out;
}

const Identifier kA{"email", "a@example.com"};
const Identifier kB{"user_id", "b"};
const Identifier kC{"anonymous_id", "c"};
const Identifier kD{"anonymous_id", "d"};

TEST(UnmergeBlocksTest, ViolatedOnlyWhenBothSidesOfOneBlockArePresent) {
  UnmergeBlocks blocks;
  EXPECT_FALSE(blocks.violated(keys({kA, kB})));
  blocks.add({5, {{kA}, {kB, kC}}});
  blocks.add({3, {{kC}, {kD}}});
  EXPECT_FALSE(blocks.violated(keys({kB, kC})));
  EXPECT_FALSE(blocks.violated(keys({kA})));
  EXPECT_EQ(blocks.violated(keys({kA, kC})), 5u);
  EXPECT_EQ(blocks.violated(keys({kA, kB, kC, kD})), 3u) << "the lowest id is named";
  blocks.remove(3);
  EXPECT_EQ(blocks.violated(keys({kA, kB, kC, kD})), 5u);
  blocks.remove(5);
  EXPECT_TRUE(blocks.empty());
}

}  // namespace
}  // namespace cdp::identity
