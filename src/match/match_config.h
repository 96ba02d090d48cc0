#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "match/field.h"
#include "match/matcher.h"
#include "match/model.h"

namespace cdp::match {

// A comparison that replaces a column's default: its levels as written ("exact",
// "jaro_winkler >= 0.9", ...) and whether exact matches use term frequencies.
struct ComparisonOverride {
  std::vector<std::string> levels;
  std::optional<bool> term_frequency;
};

using RuleText = std::vector<std::string>;  // blocking keys, ANDed: {"surname", "year(dob)"}

// The model specification a user writes (docs/matching.md, "Model specification file"): which
// column is what, the settings, and optional replacements for the default comparisons and
// rules. The default model needs only `columns`.
struct MatchConfig {
  std::vector<FieldSpec> columns;
  MatchOptions options;
  double deterministic_recall = 0.8;
  std::map<std::string, ComparisonOverride> comparisons;  // by column name
  std::optional<std::vector<RuleText>> blocking;
  std::optional<std::vector<RuleText>> training;
  std::optional<std::vector<RuleText>> deterministic;
};

// Parses a TOML specification; errors name the file, the key and what to write instead.
Result<MatchConfig> parse_match_config(std::string_view toml, std::string_view origin);
Result<MatchConfig> load_match_config(const std::string& path);

// Checks the settings' ranges (probabilities in (0, 1), review threshold not above the match
// threshold, counts positive); `origin` names where they came from in the error.
Status check_settings(const MatchConfig& config, std::string_view origin);

// The specification for `table` (built from config.columns): the defaults for its kinds, with
// the config's comparisons and rules in their place where given.
Result<ModelSpec> build_model_spec(const RecordTable& table, const MatchConfig& config);

// A config that states `spec` in full (every comparison and rule written out), so that a saved
// model rebuilds exactly the specification it was trained with.
MatchConfig explicit_config(const RecordTable& table, const ModelSpec& spec,
                            const MatchOptions& options);

}  // namespace cdp::match
