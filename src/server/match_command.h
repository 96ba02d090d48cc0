#pragma once

#include <string>
#include <vector>

namespace cdp::server {

// `cdp match ...`: probabilistic matching of CSV files (docs/matching.md).
//   eval     match files with known truth; print precision, recall, F1, pairs and costs
//   train    train a model without labels and save it (--out model.json)
//   run      match files with a saved model; write every record's cluster (--out clusters.csv)
//   explain  show how a saved model scores one pair of records (--pair ROW,ROW)
// The columns come from --column NAME=KIND, a specification file (--spec) or the saved model.
struct MatchCommandOptions {
  std::vector<std::string> files;    // one file: dedupe it; several: link them to each other
  std::vector<std::string> columns;  // "column=kind", e.g. "given_name=first_name"
  std::string spec;                  // TOML model specification
  std::string model;                 // saved model (train's output)
  std::string truth;                 // eval: "column" or "column:regex" (group 1 = the entity)
  std::string mode;                  // dedupe | link | link_and_dedupe (default by file count)
  std::string encoding = "utf-8";    // or latin-1
  std::string out;                   // train: the model; run and eval: clusters CSV
  std::string pair;                  // explain: "ROW,ROW" or "FILE:ROW,FILE:ROW"
  double threshold = -1;             // overrides the specification's; -1: not given
  double min_link_share = -1;        // the same
  int threads = 2;
  bool json = false;
};

// Each returns the process exit code (2 for bad input); errors are printed to stderr.
int run_match_eval(const MatchCommandOptions& options);
int run_match_train(const MatchCommandOptions& options);
int run_match_run(const MatchCommandOptions& options);
int run_match_explain(const MatchCommandOptions& options);

}  // namespace cdp::server
