#include "match/model_file.h"

#include <gtest/gtest.h>

#include <array>

#include "match/match_config.h"

namespace cdp::match {
namespace {

constexpr std::string_view kSpec = R"toml(
[columns]
first = "first_name"
last = "surname"
dob = "date"
zip = "postcode"

[settings]
threshold = 0.95
min_link_share = 0.5

[comparisons.zip]
levels = ["exact", "prefix = 2"]
term_frequency = false

[rules]
blocking = [["last"], ["zip", "year(dob)"]]
training = [["dob"], ["first", "last"]]
)toml";

RecordTable table_for(const MatchConfig& config) {
  RecordTable table(config.columns);
  const std::vector<std::array<std::string_view, 4>> rows = {
      {"ann", "lee", "1980-01-01", "ab1"}, {"anne", "lee", "1980-01-01", "ab1"},
      {"bob", "kim", "1970-05-05", "cd2"}, {"robert", "kim", "1970-05-06", "cd9"},
      {"cara", "ng", "1990-09-09", "ef3"}, {"dan", "oh", "1960-06-06", "gh4"}};
  // The TOML table orders columns by name: dob, first, last, zip.
  for (const auto& row : rows) {
    table.add(std::array<std::string_view, 4>{row[2], row[0], row[1], row[3]});
  }
  table.finish();
  return table;
}

TEST(MatchConfigTest, ASpecificationReplacesTheDefaultsItNames) {
  auto config = parse_match_config(kSpec, "spec.toml");
  ASSERT_TRUE(config.has_value()) << config.status().message();
  EXPECT_EQ(config->columns.size(), 4U);
  EXPECT_EQ(config->options.match_threshold, 0.95);
  EXPECT_EQ(config->options.min_link_share, 0.5);
  const RecordTable table = table_for(*config);
  auto spec = build_model_spec(table, *config);
  ASSERT_TRUE(spec.has_value()) << spec.status().message();
  const auto& zip = spec->comparisons[3];
  EXPECT_EQ(zip.name, "zip");
  ASSERT_EQ(zip.levels.size(), 2U);
  EXPECT_EQ(zip.levels[1].label(), "prefix = 2");
  EXPECT_FALSE(zip.term_frequency);
  EXPECT_TRUE(zip.location);  // what the kind implies stays
  ASSERT_EQ(spec->blocking.size(), 2U);
  EXPECT_EQ(spec->blocking[1].label(table), "zip & year(dob)");
  EXPECT_EQ(spec->training[1].label(table), "first & last");
  EXPECT_FALSE(spec->deterministic.empty());  // not given: the default
}

TEST(MatchConfigTest, MistakesAreNamedWithWhatToWrite) {
  auto expect_error = [](std::string_view text, std::string_view part) {
    auto config = parse_match_config(text, "spec.toml");
    ASSERT_FALSE(config.has_value()) << text;
    EXPECT_NE(config.status().message().find(part), std::string::npos) << config.status().message();
  };
  expect_error("[settings]\nthreshold = 0.9\n", "[columns] is required");
  expect_error("[columns]\na = \"shoe_size\"\n", "the kind must be one of");
  expect_error("[columns]\na = \"text\"\n[settings]\nthreshold = 1.5\n", "between 0 and 1");
  expect_error("[columns]\na = \"text\"\n[settings]\nspeed = 1\n", "unknown key \"speed\"");
  expect_error("[columns]\na = \"text\"\n[comparisons.a]\nlevels = [\"soundex\"]\n",
               "unknown comparison level");
  expect_error("[columns]\na = \"text\"\n[rules]\nblocking = [\"a\"]\n", "list of strings");
  expect_error("[columns\n", "spec.toml");

  auto config =
      parse_match_config("[columns]\na = \"text\"\n[rules]\nblocking = [[\"b\"]]\n", "spec.toml");
  ASSERT_TRUE(config.has_value());
  RecordTable table(config->columns);
  table.add(std::array<std::string_view, 1>{"x"});
  table.finish();
  auto spec = build_model_spec(table, *config);
  ASSERT_FALSE(spec.has_value());
  EXPECT_NE(spec.status().message().find("no column \"b\""), std::string::npos);
}

TEST(ModelFileTest, ASavedModelScoresEveryPairAsTheTrainedOne) {
  auto config = parse_match_config(kSpec, "spec.toml");
  ASSERT_TRUE(config.has_value());
  const RecordTable table = table_for(*config);
  auto spec = build_model_spec(table, *config);
  ASSERT_TRUE(spec.has_value());
  TrainingOptions options;
  options.u_sample_pairs = 1000;
  TrainingReport report;
  const Model trained = train(table, *spec, options, &report);

  const std::string json = save_model(table, *spec, trained, config->options, report);
  auto saved = parse_saved_model(json);
  ASSERT_TRUE(saved.has_value()) << saved.status().message();
  EXPECT_EQ(saved->config.options.match_threshold, 0.95);
  auto restored = restore_model(table, *saved);
  ASSERT_TRUE(restored.has_value()) << restored.status().message();
  ASSERT_EQ(restored->spec.blocking.size(), spec->blocking.size());
  for (uint32_t a = 0; a < table.size(); ++a) {
    for (uint32_t b = a + 1; b < table.size(); ++b) {
      EXPECT_NEAR(restored->model.weight(table, a, b), trained.weight(table, a, b), 1e-9);
    }
  }
  // Saving the restored model gives the same file.
  EXPECT_EQ(save_model(table, restored->spec, restored->model, saved->config.options, report),
            json);
}

TEST(ModelFileTest, DamagedModelsAreRefusedWithTheReason) {
  EXPECT_FALSE(parse_saved_model("not json").has_value());
  EXPECT_FALSE(parse_saved_model(R"({"format":"other"})").has_value());
  auto config = parse_match_config(kSpec, "spec.toml");
  const RecordTable table = table_for(*config);
  auto spec = build_model_spec(table, *config);
  TrainingOptions options;
  options.u_sample_pairs = 1000;
  TrainingReport report;
  const Model trained = train(table, *spec, options, &report);
  std::string json = save_model(table, *spec, trained, config->options, report);
  const size_t m = json.find("\"m\":[");
  json.insert(m + 5, "0.5,");  // one m value too many
  auto damaged = parse_saved_model(json);
  ASSERT_FALSE(damaged.has_value());
  EXPECT_NE(damaged.status().message().find("m and"), std::string::npos)
      << damaged.status().message();

  // An unknown level is refused when the model is restored, not a crash.
  std::string relabelled = save_model(table, *spec, trained, config->options, report);
  const size_t exact = relabelled.find("\"exact\"");
  relabelled.replace(exact, 7, "\"bogus\"");
  auto parsed = parse_saved_model(relabelled);
  ASSERT_TRUE(parsed.has_value());
  auto restored = restore_model(table, *parsed);
  ASSERT_FALSE(restored.has_value());
  EXPECT_NE(restored.status().message().find("unknown comparison level"), std::string::npos);

  // Settings out of range are refused.
  std::string threshold = save_model(table, *spec, trained, config->options, report);
  const size_t at = threshold.find("\"threshold\":") + 12;
  threshold.replace(at, threshold.find(',', at) - at, "7");
  auto out_of_range = parse_saved_model(threshold);
  ASSERT_FALSE(out_of_range.has_value());
  EXPECT_NE(out_of_range.status().message().find("threshold must be between 0 and 1"),
            std::string::npos)
      << out_of_range.status().message();
}

}  // namespace
}  // namespace cdp::match
