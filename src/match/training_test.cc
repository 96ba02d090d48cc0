#include "match/training.h"

#include <gtest/gtest.h>

#include <array>
#include <random>

namespace cdp::match {
namespace {

Comparison three_levels(std::string name) {
  Comparison comparison;
  comparison.name = std::move(name);
  comparison.levels = {{LevelKind::kExact}, {LevelKind::kJaroWinkler, 0.9}};
  return comparison;  // levels: 0 missing, 1 exact, 2 similar, 3 else
}

// Pairs drawn from a known mixture: EM with u fixed must give back the m that made them.
TEST(ExpectationMaximisationTest, RecoversTheMOfAKnownMixture) {
  const std::vector<Comparison> comparisons = {three_levels("a"), three_levels("b"),
                                               three_levels("c")};
  const std::vector<std::vector<double>> true_m = {
      {0, 0.85, 0.10, 0.05}, {0, 0.70, 0.20, 0.10}, {0, 0.60, 0.30, 0.10}};
  const std::vector<std::vector<double>> u = {
      {0, 0.01, 0.04, 0.95}, {0, 0.02, 0.08, 0.90}, {0, 0.05, 0.15, 0.80}};
  const double true_share = 0.2;
  std::mt19937_64 random(7);
  std::uniform_real_distribution<double> unit(0, 1);
  auto draw = [&](const std::vector<double>& levels) {
    double x = unit(random);
    for (size_t level = 1; level < levels.size(); ++level) {
      x -= levels[level];
      if (x <= 0) return static_cast<Pattern>(level);
    }
    return static_cast<Pattern>(levels.size() - 1);
  };
  PatternCounts counts;
  for (int i = 0; i < 200'000; ++i) {
    const bool match = unit(random) < true_share;
    Pattern pattern = 0;
    for (size_t c = 0; c < comparisons.size(); ++c) {
      pattern |= draw(match ? true_m[c] : u[c]) << (4 * c);
    }
    ++counts[pattern];
  }
  const auto result = expectation_maximisation(counts, comparisons, initial_m(comparisons), u,
                                               {false, false, false}, 0.5, 200, 1e-7);
  EXPECT_NEAR(result.match_share, true_share, 0.01);
  for (size_t c = 0; c < comparisons.size(); ++c) {
    for (size_t level = 1; level < 4; ++level) {
      EXPECT_NEAR(result.m[c][level], true_m[c][level], 0.02)
          << "comparison " << c << " level " << level;
    }
  }
  EXPECT_LT(result.iterations, 200);
}

TEST(ExpectationMaximisationTest, FixedComparisonsKeepTheirM) {
  const std::vector<Comparison> comparisons = {three_levels("a"), three_levels("b")};
  const std::vector<std::vector<double>> u = {{0, 0.01, 0.04, 0.95}, {0, 0.02, 0.08, 0.90}};
  PatternCounts counts = {{1 | (1 << 4), 100}, {3 | (3 << 4), 900}, {1 | (3 << 4), 50}};
  const auto start = initial_m(comparisons);
  const auto result =
      expectation_maximisation(counts, comparisons, start, u, {true, false}, 0.5, 50, 1e-7);
  EXPECT_EQ(result.m[0], start[0]);
  EXPECT_NE(result.m[1], start[1]);
}

TEST(TrainingTest, TheRandomSampleForUDoesNotDependOnTheThreadCount) {
  RecordTable table({{"first", FieldKind::kFirstName}, {"last", FieldKind::kSurname}});
  const std::array<std::string_view, 5> names = {"ann", "bob", "cy", "dee", "ed"};
  for (size_t i = 0; i < 300; ++i) {
    table.add(std::array<std::string_view, 2>{names[i % 5], names[(i / 5) % 5]});
  }
  table.finish();
  const auto comparisons = default_model_spec(table).comparisons;
  TrainingOptions options;
  options.u_sample_pairs = 20'000;
  uint64_t one_sampled = 0;
  uint64_t three_sampled = 0;
  options.threads = 1;
  const auto one = estimate_u(table, comparisons, options, &one_sampled);
  options.threads = 3;
  const auto three = estimate_u(table, comparisons, options, &three_sampled);
  EXPECT_EQ(one, three);
  EXPECT_EQ(one_sampled, 20'000U);
  EXPECT_EQ(three_sampled, 20'000U);
}

TEST(TrainingTest, UnsupervisedTrainingSeparatesDuplicatesFromStrangers) {
  // 400 people, each twice, the copy with a typo in one field; names drawn from small pools so
  // that strangers share values too.
  const std::array<std::string_view, 12> firsts = {"anna", "ben",  "carl", "dora", "emil",  "fay",
                                                   "gus",  "hana", "ivan", "jill", "kevin", "lara"};
  const std::array<std::string_view, 10> surnames = {"adams", "brown", "clark", "davis", "evans",
                                                     "ford",  "green", "hill",  "irwin", "jones"};
  RecordTable table({{"first", FieldKind::kFirstName},
                     {"last", FieldKind::kSurname},
                     {"dob", FieldKind::kDate},
                     {"zip", FieldKind::kPostcode}});
  std::mt19937_64 random(3);
  std::vector<std::array<std::string, 4>> people;
  for (int person = 0; person < 400; ++person) {
    char dob[16];
    std::snprintf(dob, sizeof(dob), "19%02d-%02d-%02d", static_cast<int>(random() % 60 + 30),
                  static_cast<int>(random() % 12 + 1), static_cast<int>(random() % 28 + 1));
    people.push_back({std::string(firsts[random() % firsts.size()]),
                      std::string(surnames[random() % surnames.size()]), dob,
                      std::to_string(1000 + random() % 300)});
  }
  for (int copy = 0; copy < 2; ++copy) {
    for (auto person : people) {
      if (copy == 1) person[random() % 4].append("x");
      table.add(std::array<std::string_view, 4>{person[0], person[1], person[2], person[3]});
    }
  }
  table.finish();
  const ModelSpec spec = default_model_spec(table);
  TrainingOptions options;
  options.u_sample_pairs = 100'000;
  TrainingReport report;
  const Model model = train(table, spec, options, &report);
  EXPECT_TRUE(report.untrained.empty());
  size_t duplicates_found = 0;
  for (uint32_t person = 0; person < 400; ++person) {
    if (probability_from_weight(model.weight(table, person, person + 400)) >= 0.9) {
      ++duplicates_found;
    }
  }
  size_t strangers_matched = 0;
  for (uint32_t person = 0; person + 1 < 400; ++person) {
    if (probability_from_weight(model.weight(table, person, person + 1)) >= 0.9) {
      ++strangers_matched;
    }
  }
  EXPECT_GE(duplicates_found, 380U);
  EXPECT_LE(strangers_matched, 2U);
}

}  // namespace
}  // namespace cdp::match
