#include "server/match_command.h"

#include <re2/re2.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <unordered_map>

#include "common/json_writer.h"
#include "ingest/csv_reader.h"
#include "match/evaluation.h"
#include "match/match_config.h"
#include "match/matcher.h"
#include "match/model_file.h"
#include "match/record_table.h"

namespace cdp::server {
namespace {

// The records of the input files, with where each came from and (for eval) its true entity.
struct Input {
  std::unique_ptr<match::RecordTable> table;
  std::vector<uint64_t> rows;   // each record's row in its file (the header is row 1)
  std::vector<uint32_t> truth;  // empty unless a truth column was given
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
  return Status::ok();
}

// The configuration: a saved model's, else the specification file's, else the defaults for the
// --column declarations; command-line settings override it.
Result<match::MatchConfig> configuration(const MatchCommandOptions& options,
                                         std::optional<match::SavedModel>* saved) {
  match::MatchConfig config;
  if (!options.model.empty()) {
    auto loaded = match::load_saved_model(options.model);
    if (!loaded) return loaded.status();
    config = loaded->config;
    *saved = std::move(*loaded);
  } else if (!options.spec.empty()) {
    auto loaded = match::load_match_config(options.spec);
    if (!loaded) return loaded.status();
    config = std::move(*loaded);
  }
  if (!options.columns.empty()) {
    if (!config.columns.empty()) {
      return Status::invalid_argument(
          "--column cannot be combined with --spec or --model, which declare the columns");
    }
    CDP_RETURN_IF_ERROR(parse_columns(options.columns, &config.columns));
  }
  if (config.columns.empty()) {
    return Status::invalid_argument(
        "declare the columns: --column NAME=KIND for each, or --spec FILE");
  }
  if (config.columns.size() > match::kMaxComparisons) {
    return Status::invalid_argument("at most " + std::to_string(match::kMaxComparisons) +
                                    " columns can be compared; " +
                                    std::to_string(config.columns.size()) + " are declared");
  }
  if (options.threshold != -1) config.options.match_threshold = options.threshold;
  if (options.min_link_share != -1) config.options.min_link_share = options.min_link_share;
  CDP_RETURN_IF_ERROR(match::check_settings(config, "command line"));
  if (options.encoding != "utf-8" && options.encoding != "latin-1") {
    return Status::invalid_argument("--encoding " + options.encoding + ": use utf-8 or latin-1");
  }
  config.options.training.threads = options.threads;
  if (options.mode.empty()) {
    config.options.training.mode =
        options.files.size() > 1 ? match::LinkMode::kLink : match::LinkMode::kDedupe;
  } else if (options.mode == "dedupe") {
    config.options.training.mode = match::LinkMode::kDedupe;
  } else if (options.mode == "link") {
    config.options.training.mode = match::LinkMode::kLink;
  } else if (options.mode == "link_and_dedupe") {
    config.options.training.mode = match::LinkMode::kLinkAndDedupe;
  } else {
    return Status::invalid_argument("--mode " + options.mode +
                                    ": use dedupe, link or link_and_dedupe");
  }
  return config;
}

Result<Input> load(const MatchCommandOptions& options, const match::MatchConfig& config) {
  Input input;
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
  const auto& fields = config.columns;
  input.table = std::make_unique<match::RecordTable>(fields);
  std::unordered_map<std::string, uint32_t> entities;
  ingest::CsvReader::Options csv;
  csv.encoding = options.encoding == "latin-1" ? ingest::CsvReader::Encoding::kLatin1
                                               : ingest::CsvReader::Encoding::kUtf8;
  for (uint32_t source = 0; source < options.files.size(); ++source) {
    const std::string& path = options.files[source];
    std::vector<size_t> positions;
    std::optional<size_t> truth_position;
    std::string error;
    std::vector<std::string_view> values(fields.size());
    auto status = ingest::CsvReader::read_file(
        path, csv, [&](uint64_t row, std::span<const std::string> cells) {
          if (row == 1) {
            for (const auto& field : fields) {
              const auto found = std::find(cells.begin(), cells.end(), field.column);
              if (found == cells.end()) {
                error = path + ": no column \"" + field.column + "\" in the header";
                return false;
              }
              positions.push_back(static_cast<size_t>(found - cells.begin()));
            }
            if (!truth_column.empty()) {
              const auto found = std::find(cells.begin(), cells.end(), truth_column);
              if (found == cells.end()) {
                error = path + ": no truth column \"" + truth_column + "\" in the header";
                return false;
              }
              truth_position = static_cast<size_t>(found - cells.begin());
            }
            return true;
          }
          for (size_t i = 0; i < positions.size(); ++i) {
            values[i] = positions[i] < cells.size() ? std::string_view(cells[positions[i]])
                                                    : std::string_view();
          }
          input.table->add(values, source);
          input.rows.push_back(row);
          if (truth_position) {
            std::string entity = *truth_position < cells.size() ? cells[*truth_position] : "";
            if (truth_pattern) {
              std::string group;
              if (RE2::PartialMatch(entity, *truth_pattern, &group)) entity = group;
            }
            // A record without a truth value is an entity of its own.
            if (entity.empty())
              entity = "\x01row " + std::to_string(source) + ":" + std::to_string(row);
            input.truth.push_back(
                entities.emplace(entity, static_cast<uint32_t>(entities.size())).first->second);
          }
          return true;
        });
    if (!error.empty()) return Status::invalid_argument(error);
    if (!status.is_ok()) return Status(status.code(), path + ": " + status.message());
  }
  if (input.table->size() == 0) return Status::invalid_argument("the files hold no records");
  input.table->finish();
  return input;
}

// Everything a command needs before it does its own part.
struct Prepared {
  match::MatchConfig config;
  std::optional<match::SavedModel> saved;
  Input input;
  match::ModelSpec spec;
  std::optional<match::Model> model;  // restored from --model
  std::vector<match::StageReport> stages;
};

Result<Prepared> prepare(const MatchCommandOptions& options) {
  Prepared prepared;
  match::StageTimer timer;
  auto config = configuration(options, &prepared.saved);
  if (!config) return config.status();
  prepared.config = std::move(*config);
  auto input = load(options, prepared.config);
  if (!input) return input.status();
  prepared.input = std::move(*input);
  prepared.stages.push_back(timer.end("load"));
  const auto& table = *prepared.input.table;
  if (prepared.saved) {
    auto restored = match::restore_model(table, *prepared.saved);
    if (!restored) return restored.status();
    prepared.spec = std::move(restored->spec);
    prepared.model = std::move(restored->model);
  } else {
    auto spec = match::build_model_spec(table, prepared.config);
    if (!spec) {
      const std::string origin = options.spec.empty() ? "" : options.spec + ": ";
      return Status(spec.status().code(), origin + spec.status().message());
    }
    prepared.spec = std::move(*spec);
  }
  return prepared;
}

int fail(const Status& status) {
  std::cerr << "cdp: " << status.message() << "\n";
  return status.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

std::optional<uint64_t> whole_number(std::string_view text) {
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return {};
  return value;
}

// Parses "ROW" (one file) or "FILE:ROW" (file numbered from 1, in --file order).
Result<uint32_t> find_record(const Input& input, std::string_view text, size_t files) {
  std::optional<uint64_t> file = 1;
  if (const auto colon = text.find(':'); colon != std::string_view::npos) {
    file = whole_number(text.substr(0, colon));
    text.remove_prefix(colon + 1);
  }
  const std::optional<uint64_t> parsed_row = whole_number(text);
  if (!file || !parsed_row) {
    return Status::invalid_argument("--pair: write ROW,ROW or FILE:ROW,FILE:ROW with numbers");
  }
  const uint64_t row = *parsed_row;
  if (*file < 1 || *file > files) {
    return Status::invalid_argument("--pair: file " + std::to_string(*file) +
                                    " is not one of the " + std::to_string(files) +
                                    " --file arguments");
  }
  for (uint32_t record = 0; record < input.table->size(); ++record) {
    if (input.rows[record] == row && input.table->source(record) == *file - 1) return record;
  }
  return Status::invalid_argument("--pair: there is no record at row " + std::to_string(row) +
                                  " of file " + std::to_string(*file) +
                                  " (rows count the header as row 1)");
}

Status write_clusters(const std::string& path, const Input& input, const match::MatchRun& run) {
  std::ofstream out(path);
  out << "file,row,cluster\n";
  for (size_t record = 0; record < input.table->size(); ++record) {
    out << input.table->source(record) + 1 << "," << input.rows[record] << ","
        << run.clusters.cluster_of[record] << "\n";
  }
  if (!out) return Status::unavailable("cannot write " + path);
  return Status::ok();
}

void print_training(const match::TrainingReport& report, double prior) {
  std::printf("training: u from %llu random pairs; prior %.3g from %llu deterministic pairs\n",
              static_cast<unsigned long long>(report.u_pairs), prior,
              static_cast<unsigned long long>(report.deterministic_pairs));
  for (const auto& session : report.sessions) {
    std::printf("  EM on %-40s %9llu pairs, %2d iterations, match share %.3f\n",
                session.rule.c_str(), static_cast<unsigned long long>(session.pairs),
                session.iterations, session.match_share);
  }
  for (const auto& name : report.untrained) {
    std::printf("  warning: no training rule could estimate m for %s (defaults kept)\n",
                name.c_str());
  }
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
  std::printf("\n");
  if (run.training.u_pairs > 0) {
    print_training(run.training, run.model.prior());
  } else {
    std::printf("model: the saved one (prior %.3g)\n", run.model.prior());
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

int run_match_eval(const MatchCommandOptions& options) {
  if (options.truth.empty()) return fail(Status::invalid_argument("eval needs --truth"));
  auto prepared = prepare(options);
  if (!prepared) return fail(prepared.status());
  const auto& table = *prepared->input.table;
  const auto& match_options = prepared->config.options;
  const match::MatchRun run =
      prepared->model ? match::run_matching(table, prepared->spec, *prepared->model, match_options)
                      : match::run_matching(table, prepared->spec, match_options);
  auto stages = prepared->stages;
  stages.insert(stages.end(), run.stages.begin(), run.stages.end());
  const auto mode = match_options.training.mode;
  const auto quality =
      match::evaluate_clusters(table, mode, run.clusters.cluster_of, prepared->input.truth);
  const auto blocking =
      match::evaluate_blocking(run.candidates.pairs, prepared->input.truth, quality.true_pairs);
  if (!options.out.empty()) {
    if (auto status = write_clusters(options.out, prepared->input, run); !status.is_ok()) {
      return fail(status);
    }
  }
  if (options.json) {
    print_json(table, run, quality, blocking, stages);
  } else {
    print_text(table, run, quality, blocking, stages);
  }
  return 0;
}

int run_match_train(const MatchCommandOptions& options) {
  auto prepared = prepare(options);
  if (!prepared) return fail(prepared.status());
  const auto& table = *prepared->input.table;
  match::TrainingOptions training = prepared->config.options.training;
  training.max_block_size = prepared->config.options.max_block_size;
  match::TrainingReport report;
  const match::Model model = match::train(table, prepared->spec, training, &report);
  std::ofstream out(options.out);
  out << match::save_model(table, prepared->spec, model, prepared->config.options, report);
  if (!out) return fail(Status::unavailable("cannot write " + options.out));
  std::printf("trained on %zu records\n", table.size());
  print_training(report, model.prior());
  std::printf("model saved to %s\n", options.out.c_str());
  return 0;
}

int run_match_run(const MatchCommandOptions& options) {
  auto prepared = prepare(options);
  if (!prepared) return fail(prepared.status());
  const auto& table = *prepared->input.table;
  const match::MatchRun run =
      match::run_matching(table, prepared->spec, *prepared->model, prepared->config.options);
  if (auto status = write_clusters(options.out, prepared->input, run); !status.is_ok()) {
    return fail(status);
  }
  const double threshold_weight =
      match::weight_from_probability(prepared->config.options.match_threshold);
  size_t review = 0;
  for (const auto& link : run.links) review += link.weight < threshold_weight ? 1 : 0;
  std::printf(
      "%zu records, %zu candidate pairs, %zu links at or above the threshold, %zu for "
      "review; %zu clusters, largest %zu; clusters written to %s\n",
      table.size(), run.candidates.pairs.size(), run.links.size() - review, review,
      run.clusters.count, run.clusters.largest, options.out.c_str());
  return 0;
}

int run_match_explain(const MatchCommandOptions& options) {
  auto prepared = prepare(options);
  if (!prepared) return fail(prepared.status());
  const auto comma = options.pair.find(',');
  if (comma == std::string::npos) {
    return fail(Status::invalid_argument("--pair: write ROW,ROW (or FILE:ROW,FILE:ROW)"));
  }
  const auto& input = prepared->input;
  auto a =
      find_record(input, std::string_view(options.pair).substr(0, comma), options.files.size());
  auto b =
      find_record(input, std::string_view(options.pair).substr(comma + 1), options.files.size());
  if (!a) return fail(a.status());
  if (!b) return fail(b.status());
  const auto explanation = prepared->model->explain(*input.table, *a, *b);
  if (options.json) {
    std::cout << match::explanation_json(explanation) << "\n";
    return 0;
  }
  const auto& table = *input.table;
  std::printf("%-20s %-28s %-28s %-30s %8s %8s\n", "comparison", "record a", "record b", "level",
              "weight", "counted");
  for (size_t c = 0; c < explanation.fields.size(); ++c) {
    const auto& field = explanation.fields[c];
    const auto& column = table.column(prepared->spec.comparisons[c].column);
    std::printf("%-20s %-28.28s %-28.28s %-30s %+8.2f %+8.2f\n", field.comparison.c_str(),
                std::string(column.value(*a)).c_str(), std::string(column.value(*b)).c_str(),
                field.level.c_str(), field.weight + field.frequency_adjustment, field.counted);
  }
  std::printf("%-20s %88s %+8.2f\n", "prior", "", explanation.prior_weight);
  std::printf("match weight %+.2f, probability %.6f (threshold %.2f)\n", explanation.weight,
              explanation.probability, prepared->config.options.match_threshold);
  return 0;
}

}  // namespace cdp::server
