#include "match/matcher.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <unordered_map>

#include "ingest/csv_reader.h"
#include "match/evaluation.h"

namespace cdp::match {
namespace {

// Splink's fake_1000 (1,000 people records with typos, nicknames, swapped and missing fields)
// from ../shared/datasets: the first `limit` records and their true clusters.
struct Fake1000 {
  RecordTable table{{{"first_name", FieldKind::kFirstName},
                     {"surname", FieldKind::kSurname},
                     {"dob", FieldKind::kDate},
                     {"city", FieldKind::kPlace},
                     {"email", FieldKind::kEmail}}};
  std::vector<uint32_t> truth;
};

std::filesystem::path fake_1000_path() {
  return std::filesystem::path(CDP_DATASETS_DIR) / "splink_fake_1000" / "fake_1000.csv";
}

Fake1000 load_fake_1000(size_t limit) {
  Fake1000 out;
  std::unordered_map<std::string, uint32_t> clusters;
  auto status = ingest::CsvReader::read_file(
      fake_1000_path().string(), {}, [&](uint64_t row, std::span<const std::string> fields) {
        if (row == 1) return true;  // unique_id,first_name,surname,dob,city,email,cluster
        if (out.truth.size() == limit) return false;
        const std::array<std::string_view, 5> values = {fields[1], fields[2], fields[3], fields[4],
                                                        fields[5]};
        out.table.add(values);
        out.truth.push_back(clusters.emplace(fields[6], clusters.size()).first->second);
        return true;
      });
  EXPECT_TRUE(status.is_ok()) << status.message();
  out.table.finish();
  return out;
}

#define SKIP_WITHOUT_FAKE_1000()                                                           \
  if (!std::filesystem::exists(fake_1000_path())) {                                        \
    GTEST_SKIP() << fake_1000_path() << " is absent: the shared datasets are not checked " \
                 << "out next to the repository";                                          \
  }

TEST(MatcherTest, Fake1000IsMatchedWellWithoutLabels) {
  SKIP_WITHOUT_FAKE_1000();
  const Fake1000 data = load_fake_1000(1000);
  const RecordTable& table = data.table;
  ASSERT_EQ(table.size(), 1000U);
  MatchOptions options;
  options.training.u_sample_pairs = 200'000;
  const auto run = run_matching(table, default_model_spec(table), options);
  const auto quality =
      evaluate_clusters(table, LinkMode::kDedupe, run.clusters.cluster_of, data.truth);
  // Measured 0.957 (precision 1.000, recall 0.918); Splink's published example reaches 0.871.
  EXPECT_GE(quality.f1, 0.93) << "precision " << quality.precision << " recall " << quality.recall;
  EXPECT_GE(quality.precision, 0.98);
  EXPECT_LE(quality.largest_cluster, 10U);
  EXPECT_TRUE(run.training.untrained.empty());
  const auto blocking = evaluate_blocking(run.candidates.pairs, data.truth, quality.true_pairs);
  EXPECT_GE(blocking.recall, 0.85);
}

// 800 records are matched; then 200 more arrive and are matched against their clusters. The
// result equals matching all 1,000 at once with the same model, within a tolerance, while
// comparing only pairs with a new record.
TEST(MatcherTest, NewRecordsMatchedIncrementallyAgreeWithMatchingEverything) {
  SKIP_WITHOUT_FAKE_1000();
  const Fake1000 before = load_fake_1000(800);
  MatchOptions options;
  options.training.u_sample_pairs = 200'000;
  const ModelSpec spec = default_model_spec(before.table);
  const auto first = run_matching(before.table, spec, options);

  const Fake1000 all = load_fake_1000(1000);
  const auto incremental =
      match_new_records(all.table, 800, first.clusters.cluster_of, spec, first.model, options);
  const auto at_once = run_matching(all.table, spec, first.model, options);
  for (const auto& [a, b] : incremental.candidates.pairs) ASSERT_GE(b, 800U);
  EXPECT_LT(incremental.candidates.pairs.size(), at_once.candidates.pairs.size() / 2);

  const auto incremental_quality =
      evaluate_clusters(all.table, LinkMode::kDedupe, incremental.clusters.cluster_of, all.truth);
  const auto at_once_quality =
      evaluate_clusters(all.table, LinkMode::kDedupe, at_once.clusters.cluster_of, all.truth);
  EXPECT_NEAR(incremental_quality.f1, at_once_quality.f1, 0.02);
  // The two clusterings agree with each other on nearly every pair.
  const auto agreement = evaluate_clusters(
      all.table, LinkMode::kDedupe, incremental.clusters.cluster_of, at_once.clusters.cluster_of);
  EXPECT_GE(agreement.f1, 0.97);
  // Existing clusters are never split.
  for (uint32_t a = 0; a < 800; ++a) {
    for (uint32_t b = a + 1; b < 800; ++b) {
      if (first.clusters.cluster_of[a] == first.clusters.cluster_of[b]) {
        ASSERT_EQ(incremental.clusters.cluster_of[a], incremental.clusters.cluster_of[b]);
      }
    }
  }
}

TEST(MatcherTest, AnExplanationAddsUpToThePairsWeight) {
  RecordTable table(
      {{"first", FieldKind::kFirstName}, {"last", FieldKind::kSurname}, {"dob", FieldKind::kDate}});
  const std::vector<std::array<std::string_view, 3>> rows = {
      {"robert", "smith", "1970-01-01"}, {"bob", "smith", "1970-01-02"},
      {"alice", "jones", "1980-05-05"},  {"alicia", "jones", "1980-05-05"},
      {"carl", "brown", "1990-09-09"},   {"dora", "white", "1960-06-06"}};
  for (const auto& row : rows) table.add(row);
  table.finish();
  const ModelSpec spec = default_model_spec(table);
  TrainingOptions options;
  options.u_sample_pairs = 1000;
  const Model model = train(table, spec, options, nullptr);
  const Explanation explanation = model.explain(table, 0, 1);
  ASSERT_EQ(explanation.fields.size(), 3U);
  EXPECT_EQ(explanation.fields[0].level, "nickname");
  EXPECT_EQ(explanation.fields[1].level, "exact");
  EXPECT_EQ(explanation.fields[2].level, "damerau_levenshtein <= 1");
  double sum = explanation.prior_weight;
  for (const auto& field : explanation.fields) {
    EXPECT_DOUBLE_EQ(field.counted, field.weight + field.frequency_adjustment);  // no locations
    sum += field.counted;
  }
  EXPECT_NEAR(sum, explanation.weight, 1e-9);
  EXPECT_NEAR(explanation.weight, model.weight(table, 0, 1), 1e-9);
  EXPECT_NEAR(explanation.probability, probability_from_weight(explanation.weight), 1e-12);
}

}  // namespace
}  // namespace cdp::match
