#include "server/match_command.h"

#include <re2/re2.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <unordered_map>

#include "common/json_writer.h"
#include "ingest/csv_reader.h"
#include "match/evaluation.h"
#include "match/matcher.h"
#include "match/record_table.h"

namespace cdp::server {
namespace {

struct Input {
  std::vector<match::FieldSpec> fields;
  std::unique_ptr<match::RecordTable> table;
  std::vector<uint32_t> truth;
  std::vector<uint64_t> rows;  // each record's row in its file (the header is row 1)
};

Status parse_columns(const std::vector<std::string>& columns,
                     std::vector<match::FieldSpec>* fields) {
  for (const auto& column : columns) {
    const auto equals = column.find('=');
    if (equals == std::string::npos) {
      return Status::invalid_argument("--column " + column +
                                      ": expected COLUMN=KIND, e.g. given_name=first_name");
    }
    auto kind = match::parse_field_kind(std::string_view(column).substr(equals + 1));
    if (!kind) {
      return Status::invalid_argument(
          "--column " + column +
          ": unknown kind; use first_name, surname, full_name, date, email, phone, postcode, "
          "place, address, number, identifier, category or text");
    }
    fields->push_back({column.substr(0, equals), *kind});
  }
  if (fields->empty()) return Status::invalid_argument("declare at least one --column");
  return Status::ok();
}

Result<Input> load(const MatchEvalOptions& options) {
  Input input;
  CDP_RETURN_IF_ERROR(parse_columns(options.columns, &input.fields));
  std::string truth_column = options.truth;
  std::unique_ptr<RE2> truth_pattern;
  if (const auto colon = options.truth.find(':'); colon != std::string::npos) {
    truth_column = options.truth.substr(0, colon);
    truth_pattern = std::make_unique<RE2>(options.truth.substr(colon + 1));
    if (!truth_pattern->ok() || truth_pattern->NumberOfCapturingGroups() < 1) {
      return Status::invalid_argument("--truth " + options.truth +
                                      ": the regex needs a capturing group for the entity");
    }
  }
  input.table = std::make_unique<match::RecordTable>(input.fields);
  std::unordered_map<std::string, uint32_t> entities;
  ingest::CsvReader::Options csv;
  csv.encoding = options.encoding == "latin-1" ? ingest::CsvReader::Encoding::kLatin1
                                               : ingest::CsvReader::Encoding::kUtf8;
  for (uint32_t source = 0; source < options.files.size(); ++source) {
    const std::string& path = options.files[source];
    std::vector<int> positions;
    int truth_position = -1;
    std::string error;
    std::vector<std::string_view> values(input.fields.size());
    auto status = ingest::CsvReader::read_file(
        path, csv, [&](uint64_t row, std::span<const std::string> cells) {
          if (row == 1) {
            for (const auto& field : input.fields) {
              const auto found = std::find(cells.begin(), cells.end(), field.column);
              if (found == cells.end()) {
                error = path + ": no column \"" + field.column + "\" in the header";
                return false;
              }
              positions.push_back(static_cast<int>(found - cells.begin()));
            }
            const auto found = std::find(cells.begin(), cells.end(), truth_column);
            if (found == cells.end()) {
              error = path + ": no truth column \"" + truth_column + "\" in the header";
              return false;
            }
            truth_position = static_cast<int>(found - cells.begin());
            return true;
          }
          for (size_t i = 0; i < positions.size(); ++i) {
            values[i] = static_cast<size_t>(positions[i]) < cells.size()
                            ? std::string_view(cells[static_cast<size_t>(positions[i])])
                            : std::string_view();
          }
          input.table->add(values, source);
          input.rows.push_back(row);
          std::string entity = static_cast<size_t>(truth_position) < cells.size()
                                   ? cells[static_cast<size_t>(truth_position)]
                                   : std::string();
          if (truth_pattern) {
            std::string group;
            if (RE2::PartialMatch(entity, *truth_pattern, &group)) entity = group;
          }
          const auto [it, added] = entities.emplace(entity, static_cast<uint32_t>(entities.size()));
          input.truth.push_back(it->second);
          return true;
        });
    if (!error.empty()) return Status::invalid_argument(error);
    if (!status.is_ok()) return Status(status.code(), path + ": " + status.message());
  }
  input.table->finish();
  return input;
}

Result<match::LinkMode> link_mode(const MatchEvalOptions& options) {
  if (options.mode.empty()) {
    return options.files.size() > 1 ? match::LinkMode::kLink : match::LinkMode::kDedupe;
  }
  if (options.mode == "dedupe") return match::LinkMode::kDedupe;
  if (options.mode == "link") return match::LinkMode::kLink;
  if (options.mode == "link_and_dedupe") return match::LinkMode::kLinkAndDedupe;
  return Status::invalid_argument("--mode " + options.mode +
                                  ": use dedupe, link or link_and_dedupe");
}

std::string megabytes(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.0f MB", static_cast<double>(bytes) / 1e6);
  return text;
}

void print_text(const match::RecordTable& table, const match::MatchRun& run,
                const match::Evaluation& quality, const match::BlockingEvaluation& blocking,
                const std::vector<match::StageReport>& stages) {
  std::printf("records: %zu from %u file(s)\n\n", table.size(), table.source_count());
  std::printf("blocking: %zu candidate pairs, recall %.4f (%llu of %llu true pairs)\n",
              run.candidates.pairs.size(), blocking.recall,
              static_cast<unsigned long long>(blocking.true_pairs_found),
              static_cast<unsigned long long>(quality.true_pairs));
  for (size_t i = 0; i < run.rule_labels.size(); ++i) {
    std::printf("  %-50s %10llu new pairs", run.rule_labels[i].c_str(),
                static_cast<unsigned long long>(run.candidates.per_rule[i]));
    if (run.candidates.skipped_blocks[i] > 0) {
      std::printf("  (%llu blocks over the size cap skipped: %llu pairs)",
                  static_cast<unsigned long long>(run.candidates.skipped_blocks[i]),
                  static_cast<unsigned long long>(run.candidates.skipped_pairs[i]));
    }
    std::printf("\n");
  }
  std::printf("\ntraining: u from %llu random pairs; prior %.3g from %llu deterministic pairs\n",
              static_cast<unsigned long long>(run.training.u_pairs), run.model.prior(),
              static_cast<unsigned long long>(run.training.deterministic_pairs));
  for (const auto& session : run.training.sessions) {
    std::printf("  EM on %-40s %9llu pairs, %2d iterations, match share %.3f\n",
                session.rule.c_str(), static_cast<unsigned long long>(session.pairs),
                session.iterations, session.match_share);
  }
  for (const auto& name : run.training.untrained) {
    std::printf("  warning: no training rule could estimate m for %s (defaults kept)\n",
                name.c_str());
  }
  std::printf("\nmodel (match weight per level):\n");
  const auto& model = run.model;
  for (size_t c = 0; c < model.comparisons().size(); ++c) {
    const auto& comparison = model.comparisons()[c];
    std::printf("  %s:", comparison.name.c_str());
    for (size_t level = 1; level < comparison.level_count(); ++level) {
      std::printf("  %s %+.1f", comparison.level_label(level).c_str(),
                  std::log2(model.m()[c][level] / model.u()[c][level]));
    }
    std::printf("\n");
  }
  std::printf(
      "\nclusters: %zu, largest %zu (truth: largest %zu); links refused: %llu by size, "
      "%llu for lack of support\n",
      run.clusters.count, quality.largest_cluster, quality.true_largest_cluster,
      static_cast<unsigned long long>(run.clusters.refused_by_size),
      static_cast<unsigned long long>(run.clusters.refused_by_support));
  std::printf(
      "pairwise: precision %.4f, recall %.4f, F1 %.4f (%llu predicted, %llu correct, "
      "%llu true)\n",
      quality.precision, quality.recall, quality.f1,
      static_cast<unsigned long long>(quality.predicted_pairs),
      static_cast<unsigned long long>(quality.correct_pairs),
      static_cast<unsigned long long>(quality.true_pairs));
  std::printf("B-cubed: precision %.4f, recall %.4f\n\n", quality.bcubed_precision,
              quality.bcubed_recall);
  double total = 0;
  for (const auto& stage : stages) {
    std::printf("  %-8s %8.3f s  peak %s\n", stage.name.c_str(), stage.seconds,
                megabytes(stage.peak_rss_bytes).c_str());
    total += stage.seconds;
  }
  std::printf("  %-8s %8.3f s\n", "total", total);
}

void print_json(const match::RecordTable& table, const match::MatchRun& run,
                const match::Evaluation& quality, const match::BlockingEvaluation& blocking,
                const std::vector<match::StageReport>& stages) {
  JsonWriter out;
  out.begin_object();
  out.key("records").number(static_cast<int64_t>(table.size()));
  out.key("candidate_pairs").number(static_cast<int64_t>(run.candidates.pairs.size()));
  out.key("blocking_recall").number(blocking.recall);
  out.key("pairs_per_rule").begin_array();
  for (size_t i = 0; i < run.rule_labels.size(); ++i) {
    out.begin_object();
    out.key("rule").string(run.rule_labels[i]);
    out.key("pairs").number(static_cast<int64_t>(run.candidates.per_rule[i]));
    out.key("skipped_pairs").number(static_cast<int64_t>(run.candidates.skipped_pairs[i]));
    out.end_object();
  }
  out.end_array();
  out.key("prior").number(run.model.prior());
  out.key("precision").number(quality.precision);
  out.key("recall").number(quality.recall);
  out.key("f1").number(quality.f1);
  out.key("bcubed_precision").number(quality.bcubed_precision);
  out.key("bcubed_recall").number(quality.bcubed_recall);
  out.key("clusters").number(static_cast<int64_t>(run.clusters.count));
  out.key("largest_cluster").number(static_cast<int64_t>(quality.largest_cluster));
  out.key("stages").begin_array();
  double total = 0;
  for (const auto& stage : stages) {
    out.begin_object();
    out.key("name").string(stage.name);
    out.key("seconds").number(stage.seconds);
    out.key("peak_rss_bytes").number(static_cast<int64_t>(stage.peak_rss_bytes));
    out.end_object();
    total += stage.seconds;
  }
  out.end_array();
  out.key("seconds").number(total);
  out.end_object();
  std::cout << out.take() << "\n";
}

}  // namespace

int run_match_eval(const MatchEvalOptions& options) {
  auto mode = link_mode(options);
  if (!mode) {
    std::cerr << "cdp: " << mode.status().message() << "\n";
    return 2;
  }
  match::StageTimer timer;
  auto input = load(options);
  if (!input) {
    std::cerr << "cdp: " << input.status().message() << "\n";
    return 2;
  }
  std::vector<match::StageReport> stages{timer.end("load")};
  const match::RecordTable& table = *input->table;
  match::MatchOptions match_options;
  match_options.training.mode = *mode;
  match_options.training.threads = options.threads;
  match_options.match_threshold = options.threshold;
  match_options.min_link_share = options.min_link_share;
  const match::ModelSpec spec = match::default_model_spec(table);
  const match::MatchRun run = match::run_matching(table, spec, match_options);
  stages.insert(stages.end(), run.stages.begin(), run.stages.end());
  const auto quality =
      match::evaluate_clusters(table, *mode, run.clusters.cluster_of, input->truth);
  const auto blocking =
      match::evaluate_blocking(run.candidates.pairs, input->truth, quality.true_pairs);
  if (!options.clusters_out.empty()) {
    std::ofstream out(options.clusters_out);
    out << "file,row,cluster\n";
    for (size_t record = 0; record < table.size(); ++record) {
      out << table.source(record) << "," << input->rows[record] << ","
          << run.clusters.cluster_of[record] << "\n";
    }
    if (!out) {
      std::cerr << "cdp: cannot write " << options.clusters_out << "\n";
      return 1;
    }
  }
  if (options.json) {
    print_json(table, run, quality, blocking, stages);
  } else {
    print_text(table, run, quality, blocking, stages);
  }
  return 0;
}

}  // namespace cdp::server
