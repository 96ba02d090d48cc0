#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "match/match_config.h"
#include "match/model.h"
#include "match/training.h"

namespace cdp::match {

// A trained model as saved by `cdp match train` and reused by `match run` and `match explain`:
// the full specification (columns, settings, every comparison and rule written out) and the
// trained parameters (m and u per level, the prior). Format: docs/matching.md, "Saved models".
struct SavedModel {
  MatchConfig config;                  // explicit: rebuilds the exact specification
  std::vector<std::vector<double>> m;  // per comparison, levels 1.. (level 0, missing, omitted)
  std::vector<std::vector<double>> u;
  double prior = 0;
};

std::string save_model(const RecordTable& table, const ModelSpec& spec, const Model& model,
                       const MatchOptions& options, const TrainingReport& report);

// Errors say what is missing or inconsistent ("comparison 2 has 5 m values for 6 levels").
Result<SavedModel> parse_saved_model(std::string_view json);
Result<SavedModel> load_saved_model(const std::string& path);

// The spec and model for `table` (built from saved.config.columns, holding the data to match).
struct RestoredModel {
  ModelSpec spec;
  Model model;
};
Result<RestoredModel> restore_model(const RecordTable& table, const SavedModel& saved);

}  // namespace cdp::match
