#include "match/string_distance.h"

#include <gtest/gtest.h>

namespace cdp::match {
namespace {

TEST(StringDistanceTest, JaroMatchesTheTextbookExamples) {
  EXPECT_NEAR(jaro("martha", "marhta"), 0.9444, 1e-4);
  EXPECT_NEAR(jaro("dixon", "dicksonx"), 0.7667, 1e-4);
  EXPECT_NEAR(jaro("jellyfish", "smellyfish"), 0.8963, 1e-4);
  EXPECT_DOUBLE_EQ(jaro("abc", "abc"), 1.0);
  EXPECT_DOUBLE_EQ(jaro("abc", "xyz"), 0.0);
  EXPECT_DOUBLE_EQ(jaro("", "abc"), 0.0);
}

TEST(StringDistanceTest, JaroWinklerRewardsASharedPrefix) {
  EXPECT_NEAR(jaro_winkler("martha", "marhta"), 0.9611, 1e-4);
  EXPECT_NEAR(jaro_winkler("dwayne", "duane"), 0.84, 1e-4);
  EXPECT_NEAR(jaro_winkler("dixon", "dicksonx"), 0.8133, 1e-4);
  EXPECT_GT(jaro_winkler("jonathan", "jonathon"), jaro("jonathan", "jonathon"));
  EXPECT_DOUBLE_EQ(jaro_winkler("same", "same"), 1.0);
}

TEST(StringDistanceTest, LevenshteinCountsInsertionsDeletionsAndSubstitutions) {
  EXPECT_EQ(levenshtein("kitten", "sitting"), 3);
  EXPECT_EQ(levenshtein("", "abc"), 3);
  EXPECT_EQ(levenshtein("abc", ""), 3);
  EXPECT_EQ(levenshtein("flaw", "lawn"), 2);
  EXPECT_EQ(levenshtein("1956", "1965"), 2);
  EXPECT_EQ(levenshtein("same", "same"), 0);
}

TEST(StringDistanceTest, DamerauLevenshteinCountsATranspositionAsOneEdit) {
  EXPECT_EQ(damerau_levenshtein("1956", "1965"), 1);
  EXPECT_EQ(damerau_levenshtein("ca", "ac"), 1);
  EXPECT_EQ(damerau_levenshtein("kitten", "sitting"), 3);
  EXPECT_EQ(damerau_levenshtein("abcdef", "abcdfe"), 1);
  EXPECT_EQ(damerau_levenshtein("", ""), 0);
  // Optimal string alignment: a substring is not edited twice.
  EXPECT_EQ(damerau_levenshtein("ca", "abc"), 3);
}

TEST(StringDistanceTest, LongStringsAreCutNotOverflowed) {
  const std::string a(500, 'a');
  const std::string b(500, 'b');
  EXPECT_EQ(levenshtein(a, b), 64);
  EXPECT_EQ(damerau_levenshtein(a, a), 0);
  EXPECT_DOUBLE_EQ(jaro_winkler(a, a), 1.0);
}

}  // namespace
}  // namespace cdp::match
