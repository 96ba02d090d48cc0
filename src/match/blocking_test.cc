#include "match/blocking.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>

#include "match/evaluation.h"

namespace cdp::match {
namespace {

RecordTable names(std::initializer_list<std::array<std::string_view, 2>> rows,
                  std::vector<uint32_t> sources = {}) {
  RecordTable table({{"first", FieldKind::kFirstName}, {"last", FieldKind::kSurname}});
  size_t i = 0;
  for (const auto& row : rows) {
    table.add(row, sources.empty() ? 0 : sources[i]);
    ++i;
  }
  table.finish();
  return table;
}

TEST(BlockingTest, RulesAreUnionedWithoutDuplicates) {
  const auto table = names({{"ann", "lee"}, {"ann", "lee"}, {"ann", "kim"}, {"bob", "lee"}});
  const std::vector<BlockingRule> rules = {{{{0}}}, {{{1}}}};
  const auto pairs =
      generate_pairs(table, rules, {.mode = LinkMode::kDedupe, .max_block_size = 100});
  // first name: (0,1) (0,2) (1,2); surname: (0,1) again, (0,3) (1,3).
  EXPECT_EQ(pairs.per_rule, (std::vector<uint64_t>{3, 2}));
  auto sorted = pairs.pairs;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<RecordPair>{{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}}));
}

TEST(BlockingTest, MissingValuesNeverBlockTogether) {
  const auto table = names({{"", "lee"}, {"", "lee"}, {"ann", ""}});
  const auto pairs =
      generate_pairs(table, {{{{0}}}}, {.mode = LinkMode::kDedupe, .max_block_size = 100});
  EXPECT_TRUE(pairs.pairs.empty());
}

TEST(BlockingTest, LinkModeComparesOnlyAcrossSources) {
  const auto table = names({{"ann", "lee"}, {"ann", "lee"}, {"ann", "lee"}}, {0, 0, 1});
  const auto pairs =
      generate_pairs(table, {{{{0}}}}, {.mode = LinkMode::kLink, .max_block_size = 100});
  EXPECT_EQ(pairs.pairs, (std::vector<RecordPair>{{0, 2}, {1, 2}}));
}

TEST(BlockingTest, OversizedBlocksAreSkippedAndCounted) {
  const auto table = names({{"ann", "a"}, {"ann", "b"}, {"ann", "c"}, {"bob", "d"}, {"bob", "e"}});
  const auto pairs =
      generate_pairs(table, {{{{0}}}}, {.mode = LinkMode::kDedupe, .max_block_size = 2});
  EXPECT_EQ(pairs.pairs, (std::vector<RecordPair>{{3, 4}}));
  EXPECT_EQ(pairs.skipped_blocks[0], 1U);
  EXPECT_EQ(pairs.skipped_pairs[0], 3U);
}

TEST(BlockingTest, PairsOfASkippedBlockAreLeftToLaterRules) {
  const auto table = names({{"ann", "lee"}, {"ann", "lee"}, {"ann", "kim"}});
  // The first-name block (3 records) is over the cap; the surname rule still finds (0, 1).
  const auto pairs =
      generate_pairs(table, {{{{0}}}, {{{1}}}}, {.mode = LinkMode::kDedupe, .max_block_size = 2});
  EXPECT_EQ(pairs.pairs, (std::vector<RecordPair>{{0, 1}}));
  EXPECT_EQ(pairs.per_rule, (std::vector<uint64_t>{0, 1}));
}

TEST(BlockingTest, PrefixKeysBlockOnTheFirstCharacters) {
  const auto table = names({{"jonathan", "x"}, {"jon", "y"}, {"jo", "z"}});
  BlockingRule rule;
  rule.keys = {{0, BlockingKey::Transform::kPrefix, 3}};
  const auto pairs =
      generate_pairs(table, {rule}, {.mode = LinkMode::kDedupe, .max_block_size = 100});
  EXPECT_EQ(pairs.pairs, (std::vector<RecordPair>{{0, 1}}));
  EXPECT_EQ(rule.label(table), "prefix(first, 3)");
}

TEST(BlockingTest, KeyLabelsParseBack) {
  const auto table = names({{"ann", "lee"}});
  for (std::string_view text : {"first", "prefix(last, 2)"}) {
    auto key = parse_blocking_key(table, text);
    ASSERT_TRUE(key.has_value()) << key.status().message();
    EXPECT_EQ(key->label(table), text);
  }
  EXPECT_FALSE(parse_blocking_key(table, "middle").has_value());
  EXPECT_FALSE(parse_blocking_key(table, "prefix(first)").has_value());
  EXPECT_FALSE(parse_blocking_key(table, "prefix(first, 0)").has_value());
  auto year = parse_blocking_key(table, "year(first)");
  ASSERT_FALSE(year.has_value());
  EXPECT_NE(year.status().message().find("kind date"), std::string::npos);
}

TEST(EvaluationTest, PairwiseAndBCubedScoresCountThePairsOfTheMode) {
  const auto table = names({{"a", "a"}, {"b", "b"}, {"c", "c"}, {"d", "d"}});
  // Truth: {0,1,2} {3}. Predicted: {0,1} {2,3}.
  const auto result = evaluate_clusters(table, LinkMode::kDedupe, {0, 0, 2, 2}, {7, 7, 7, 9});
  EXPECT_EQ(result.true_pairs, 3U);
  EXPECT_EQ(result.predicted_pairs, 2U);
  EXPECT_EQ(result.correct_pairs, 1U);
  EXPECT_DOUBLE_EQ(result.precision, 0.5);
  EXPECT_NEAR(result.recall, 1.0 / 3, 1e-12);
  EXPECT_NEAR(result.f1, 0.4, 1e-12);
  // B-cubed precision: (1 + 1 + 1/2 + 1/2) / 4; recall: (2/3 + 2/3 + 1/3 + 1) / 4.
  EXPECT_NEAR(result.bcubed_precision, 0.75, 1e-12);
  EXPECT_NEAR(result.bcubed_recall, (2.0 / 3 + 2.0 / 3 + 1.0 / 3 + 1) / 4, 1e-12);
  EXPECT_EQ(result.largest_cluster, 2U);

  const auto blocking = evaluate_blocking({{0, 1}, {0, 3}}, {7, 7, 7, 9}, result.true_pairs);
  EXPECT_EQ(blocking.true_pairs_found, 1U);
}

TEST(EvaluationTest, LinkModeCountsOnlyPairsAcrossSources) {
  const auto table = names({{"a", "a"}, {"b", "b"}, {"c", "c"}}, {0, 0, 1});
  const auto result = evaluate_clusters(table, LinkMode::kLink, {0, 0, 0}, {1, 1, 1});
  EXPECT_EQ(result.true_pairs, 2U);  // (0,2) and (1,2); (0,1) is within source 0
  EXPECT_DOUBLE_EQ(result.f1, 1.0);
}

}  // namespace
}  // namespace cdp::match
