#pragma once

#include <string>
#include <vector>

namespace cdp::server {

// `cdp match eval`: runs the probabilistic matcher on CSV files with known truth and prints
// how good its clusters are (pairwise precision, recall and F1, B-cubed, largest cluster,
// blocking recall and pair count) and what each stage cost (wall time, peak memory). Training
// is unsupervised; the truth column is read only to measure.
struct MatchEvalOptions {
  std::vector<std::string> files;    // one file: dedupe it; several: link them to each other
  std::vector<std::string> columns;  // "column=kind", e.g. "given_name=first_name"
  std::string truth;                 // "column" or "column:regex" (first group = the entity)
  std::string mode;                  // dedupe | link | link_and_dedupe (default by file count)
  std::string encoding = "utf-8";    // or latin-1
  double threshold = 0.9;
  double min_link_share = 0.25;
  int threads = 2;
  bool json = false;
  std::string clusters_out;  // optional CSV of file,row,cluster per record
};

// Returns the process exit code; errors are printed to stderr.
int run_match_eval(const MatchEvalOptions& options);

}  // namespace cdp::server
