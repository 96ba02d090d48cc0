#include "match/clustering.h"

#include <gtest/gtest.h>

namespace cdp::match {
namespace {

TEST(ClusteringTest, LinksAboveTheThresholdFormClusters) {
  const auto clusters =
      cluster_records(5, {{0, 1, 10}, {1, 2, 8}, {3, 4, 1}}, ClusterOptions{.min_weight = 3.17});
  EXPECT_EQ(clusters.cluster_of, (std::vector<uint32_t>{0, 0, 0, 3, 4}));
  EXPECT_EQ(clusters.count, 3U);
  EXPECT_EQ(clusters.largest, 3U);
}

TEST(ClusteringTest, OneWeakLinkDoesNotJoinTwoClusters) {
  // Two dense triangles joined by a single link between records 2 and 3.
  std::vector<ScoredPair> links = {{0, 1, 12}, {0, 2, 12}, {1, 2, 12}, {3, 4, 12},
                                   {3, 5, 12}, {4, 5, 12}, {2, 3, 5}};
  const auto clusters = cluster_records(6, links, ClusterOptions{.min_weight = 3.17});
  EXPECT_EQ(clusters.count, 2U);
  EXPECT_EQ(clusters.cluster_of[2], 0U);
  EXPECT_EQ(clusters.cluster_of[3], 3U);
  EXPECT_EQ(clusters.refused_by_support, 1U);

  // With enough links between them (3 of 9 possible, share 0.25) they do join.
  links.push_back({1, 4, 5});
  links.push_back({0, 5, 5});
  const auto joined = cluster_records(6, links, ClusterOptions{.min_weight = 3.17});
  EXPECT_EQ(joined.count, 1U);
}

TEST(ClusteringTest, ClustersStopGrowingAtTheCap) {
  std::vector<ScoredPair> chain;
  for (uint32_t i = 0; i + 1 < 10; ++i) chain.push_back({i, i + 1, 10});
  const auto clusters =
      cluster_records(10, chain, ClusterOptions{.min_weight = 3.17, .max_cluster_size = 4});
  EXPECT_EQ(clusters.largest, 4U);
  EXPECT_GT(clusters.refused_by_size, 0U);
  EXPECT_GE(clusters.at_cap, 1U);
}

TEST(ClusteringTest, BestLinksAreFollowedFirst) {
  // Record 1 links to both 0 and 2; 0 and 2 are each in a pair already. It joins its best.
  const auto clusters = cluster_records(5, {{0, 3, 20}, {2, 4, 20}, {1, 2, 9}, {0, 1, 5}},
                                        ClusterOptions{.min_weight = 3.17});
  EXPECT_EQ(clusters.cluster_of[1], clusters.cluster_of[2]);
  EXPECT_NE(clusters.cluster_of[1], clusters.cluster_of[0]);
}

}  // namespace
}  // namespace cdp::match
