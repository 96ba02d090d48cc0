#include "match/model_file.h"

#include <fstream>
#include <sstream>

#include "common/json_writer.h"
#include "ingest/json_tree.h"

namespace cdp::match {
namespace {

constexpr std::string_view kFormat = "cdp-match-model";
constexpr int64_t kVersion = 1;

void write_rules(JsonWriter& out, std::string_view name, const std::vector<RuleText>& rules) {
  out.key(name).begin_array();
  for (const auto& rule : rules) {
    out.begin_array();
    for (const auto& key : rule) out.string(key);
    out.end_array();
  }
  out.end_array();
}

Status invalid(const std::string& what) {
  return Status::invalid_argument("saved model: " + what + "; train it again with cdp match train");
}

Result<double> number(const ingest::JsonValue* value, const std::string& what) {
  if (value == nullptr || value->kind != ingest::JsonKind::kNumber) {
    return invalid(what + " must be a number");
  }
  return std::strtod(std::string(value->text).c_str(), nullptr);
}

Result<std::string> text(const ingest::JsonValue* value, const std::string& what) {
  if (value == nullptr || !value->is_string()) return invalid(what + " must be a string");
  return std::string(value->text);
}

Result<std::vector<double>> numbers(const ingest::JsonValue* value, const std::string& what) {
  if (value == nullptr || value->kind != ingest::JsonKind::kArray) {
    return invalid(what + " must be a list of numbers");
  }
  std::vector<double> out;
  for (const auto* element : value->elements) {
    auto parsed = number(element, what);
    if (!parsed) return parsed.status();
    out.push_back(*parsed);
  }
  return out;
}

Result<std::vector<std::string>> texts(const ingest::JsonValue* value, const std::string& what) {
  if (value == nullptr || value->kind != ingest::JsonKind::kArray) {
    return invalid(what + " must be a list of strings");
  }
  std::vector<std::string> out;
  for (const auto* element : value->elements) {
    auto parsed = text(element, what);
    if (!parsed) return parsed.status();
    out.push_back(std::move(*parsed));
  }
  return out;
}

Result<std::vector<RuleText>> rules(const ingest::JsonValue* value, const std::string& what) {
  if (value == nullptr || value->kind != ingest::JsonKind::kArray) {
    return invalid(what + " must be a list of rules");
  }
  std::vector<RuleText> out;
  for (const auto* rule : value->elements) {
    auto keys = texts(rule, what);
    if (!keys) return keys.status();
    out.push_back(std::move(*keys));
  }
  return out;
}

}  // namespace

std::string save_model(const RecordTable& table, const ModelSpec& spec, const Model& model,
                       const MatchOptions& options, const TrainingReport& report) {
  const MatchConfig config = explicit_config(table, spec, options);
  JsonWriter out;
  out.begin_object();
  out.key("format").string(kFormat);
  out.key("version").number(kVersion);
  out.key("columns").begin_array();
  for (const auto& column : config.columns) {
    out.begin_object();
    out.key("column").string(column.column);
    out.key("kind").string(field_kind_name(column.kind));
    out.end_object();
  }
  out.end_array();
  out.key("settings").begin_object();
  out.key("threshold").number(options.match_threshold);
  out.key("review_threshold").number(options.review_threshold);
  out.key("min_link_share").number(options.min_link_share);
  out.key("max_cluster_size").number(static_cast<int64_t>(options.max_cluster_size));
  out.key("max_block_size").number(static_cast<int64_t>(options.max_block_size));
  out.key("deterministic_recall").number(spec.deterministic_recall);
  out.end_object();
  out.key("prior").number(model.prior());
  out.key("comparisons").begin_array();
  for (size_t c = 0; c < spec.comparisons.size(); ++c) {
    const auto& comparison = spec.comparisons[c];
    out.begin_object();
    out.key("column").string(comparison.name);
    out.key("term_frequency").boolean(comparison.term_frequency);
    out.key("levels").begin_array();
    for (const auto& level : comparison.levels) out.string(level.label());
    out.string("else");
    out.end_array();
    out.key("m").begin_array();
    for (size_t level = 1; level < comparison.level_count(); ++level) {
      out.number(model.m()[c][level]);
    }
    out.end_array();
    out.key("u").begin_array();
    for (size_t level = 1; level < comparison.level_count(); ++level) {
      out.number(model.u()[c][level]);
    }
    out.end_array();
    out.end_object();
  }
  out.end_array();
  out.key("rules").begin_object();
  write_rules(out, "blocking", *config.blocking);
  write_rules(out, "training", *config.training);
  write_rules(out, "deterministic", *config.deterministic);
  out.end_object();
  out.key("trained_on").begin_object();
  out.key("records").number(static_cast<int64_t>(table.size()));
  out.key("u_pairs").number(static_cast<int64_t>(report.u_pairs));
  out.key("deterministic_pairs").number(static_cast<int64_t>(report.deterministic_pairs));
  out.key("sessions").begin_array();
  for (const auto& session : report.sessions) {
    out.begin_object();
    out.key("rule").string(session.rule);
    out.key("pairs").number(static_cast<int64_t>(session.pairs));
    out.key("iterations").number(static_cast<int64_t>(session.iterations));
    out.key("match_share").number(session.match_share);
    out.end_object();
  }
  out.end_array();
  out.end_object();
  out.end_object();
  return out.take() + "\n";
}

Result<SavedModel> parse_saved_model(std::string_view json) {
  ingest::JsonParser parser;
  auto root = parser.parse(json);
  if (!root) return invalid("not JSON (" + root.status().message() + ")");
  const ingest::JsonValue& model = **root;
  if (!model.is_object()) return invalid("not a cdp match model (not an object)");
  auto format = text(model.find("format"), "format");
  if (!format || *format != kFormat) return invalid("not a cdp match model (format)");
  auto version = number(model.find("version"), "version");
  if (!version || *version != static_cast<double>(kVersion)) {
    return invalid("version " +
                   std::string(model.find("version") ? model.find("version")->text : "?") +
                   " is not one this build reads (" + std::to_string(kVersion) + ")");
  }
  SavedModel saved;
  const auto* columns = model.find("columns");
  if (columns == nullptr || columns->kind != ingest::JsonKind::kArray) {
    return invalid("columns must be a list");
  }
  for (const auto* column : columns->elements) {
    if (!column->is_object()) return invalid("columns[] must be objects");
    auto name = text(column->find("column"), "columns[].column");
    auto kind_name = text(column->find("kind"), "columns[].kind");
    if (!name) return name.status();
    if (!kind_name) return kind_name.status();
    auto kind = parse_field_kind(*kind_name);
    if (!kind) return invalid("unknown column kind \"" + *kind_name + "\"");
    saved.config.columns.push_back({*name, *kind});
  }
  const auto* settings = model.find("settings");
  if (settings == nullptr || !settings->is_object()) return invalid("settings must be an object");
  auto& o = saved.config.options;
  for (auto [key, target] : {std::pair<const char*, double*>{"threshold", &o.match_threshold},
                             {"review_threshold", &o.review_threshold},
                             {"min_link_share", &o.min_link_share},
                             {"deterministic_recall", &saved.config.deterministic_recall}}) {
    auto value = number(settings->find(key), std::string("settings.") + key);
    if (!value) return value.status();
    *target = *value;
  }
  for (auto [key, target] :
       {std::pair<const char*, size_t*>{"max_cluster_size", &o.max_cluster_size},
        {"max_block_size", &o.max_block_size}}) {
    auto value = number(settings->find(key), std::string("settings.") + key);
    if (!value) return value.status();
    if (!(*value >= 1 && *value <= 1e12)) return invalid(std::string(key) + " is out of range");
    *target = static_cast<size_t>(*value);
  }
  if (auto status = check_settings(saved.config, "saved model"); !status.is_ok()) {
    return invalid(status.message());
  }
  auto prior = number(model.find("prior"), "prior");
  if (!prior) return prior.status();
  if (!(*prior > 0 && *prior < 1)) return invalid("prior must be between 0 and 1");
  saved.prior = *prior;
  const auto* comparisons = model.find("comparisons");
  if (comparisons == nullptr || comparisons->kind != ingest::JsonKind::kArray) {
    return invalid("comparisons must be a list");
  }
  for (size_t c = 0; c < comparisons->elements.size(); ++c) {
    const auto* comparison = comparisons->elements[c];
    const std::string where = "comparison " + std::to_string(c + 1);
    if (!comparison->is_object()) return invalid(where + " must be an object");
    auto name = text(comparison->find("column"), where + " column");
    auto levels = texts(comparison->find("levels"), where + " levels");
    auto m = numbers(comparison->find("m"), where + " m");
    auto u = numbers(comparison->find("u"), where + " u");
    if (!name) return name.status();
    if (!levels) return levels.status();
    if (!m) return m.status();
    if (!u) return u.status();
    if (levels->empty() || levels->back() != "else") return invalid(where + " must end in else");
    levels->pop_back();
    if (m->size() != levels->size() + 1 || u->size() != levels->size() + 1) {
      return invalid(where + " has " + std::to_string(m->size()) + " m and " +
                     std::to_string(u->size()) + " u values for " +
                     std::to_string(levels->size() + 1) + " levels");
    }
    for (double p : *m) {
      if (!(p >= 0 && p <= 1)) return invalid(where + " has an m outside [0, 1]");
    }
    for (double p : *u) {
      if (!(p >= 0 && p <= 1)) return invalid(where + " has a u outside [0, 1]");
    }
    const auto* tf = comparison->find("term_frequency");
    ComparisonOverride written;
    written.levels = std::move(*levels);
    written.term_frequency = tf != nullptr && tf->kind == ingest::JsonKind::kBool && tf->boolean;
    saved.config.comparisons[*name] = std::move(written);
    m->insert(m->begin(), 0.0);  // level 0, missing
    u->insert(u->begin(), 0.0);
    saved.m.push_back(std::move(*m));
    saved.u.push_back(std::move(*u));
  }
  const auto* rule_table = model.find("rules");
  if (rule_table == nullptr || !rule_table->is_object()) return invalid("rules must be an object");
  auto blocking = rules(rule_table->find("blocking"), "rules.blocking");
  auto training = rules(rule_table->find("training"), "rules.training");
  auto deterministic = rules(rule_table->find("deterministic"), "rules.deterministic");
  if (!blocking) return blocking.status();
  if (!training) return training.status();
  if (!deterministic) return deterministic.status();
  saved.config.blocking = std::move(*blocking);
  saved.config.training = std::move(*training);
  saved.config.deterministic = std::move(*deterministic);
  return saved;
}

Result<SavedModel> load_saved_model(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::not_found("cannot open the saved model " + path);
  std::stringstream text;
  text << in.rdbuf();
  auto saved = parse_saved_model(text.str());
  if (!saved) return Status(saved.status().code(), path + ": " + saved.status().message());
  return saved;
}

Result<RestoredModel> restore_model(const RecordTable& table, const SavedModel& saved) {
  auto spec = build_model_spec(table, saved.config);
  if (!spec) return spec.status();
  if (spec->comparisons.size() != saved.m.size()) {
    return invalid("it has " + std::to_string(saved.m.size()) + " comparisons for " +
                   std::to_string(spec->comparisons.size()) + " columns");
  }
  for (size_t c = 0; c < spec->comparisons.size(); ++c) {
    if (spec->comparisons[c].level_count() != saved.m[c].size()) {
      return invalid("comparison " + spec->comparisons[c].name + " does not match its levels");
    }
  }
  Model model(spec->comparisons, saved.m, saved.u, saved.prior);
  return RestoredModel{std::move(*spec), std::move(model)};
}

}  // namespace cdp::match
