#include "match/match_config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace cdp::match {
namespace {

Status error(std::string_view origin, const std::string& what) {
  return Status::invalid_argument(std::string(origin) + ": " + what);
}

Status check_keys(const toml::table& table, std::string_view origin, std::string_view section,
                  const std::set<std::string_view>& known) {
  for (const auto& [key, value] : table) {
    if (known.count(key.str()) == 0) {
      std::string list;
      for (auto name : known) list += (list.empty() ? "" : ", ") + std::string(name);
      return error(origin, "[" + std::string(section) + "] has an unknown key \"" +
                               std::string(key.str()) + "\" (known: " + list + ")");
    }
  }
  return Status::ok();
}

template <typename T, typename Out>
Status read(const toml::table& table, std::string_view origin, std::string_view key, Out& out) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return Status::ok();
  auto value = node->value<T>();
  if (!value) return error(origin, "[settings] " + std::string(key) + " has the wrong type");
  out = static_cast<Out>(*value);
  return Status::ok();
}

Result<std::vector<std::string>> strings(const toml::node& node, std::string_view origin,
                                         const std::string& what) {
  const auto* array = node.as_array();
  if (array == nullptr) return error(origin, what + " must be a list of strings");
  std::vector<std::string> out;
  for (const auto& item : *array) {
    auto text = item.value<std::string>();
    if (!text) return error(origin, what + " must be a list of strings");
    out.push_back(*text);
  }
  return out;
}

Result<std::optional<std::vector<RuleText>>> rules(const toml::table& table,
                                                   std::string_view origin, std::string_view key) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return std::optional<std::vector<RuleText>>();
  const auto* array = node->as_array();
  const std::string what = "[rules] " + std::string(key);
  if (array == nullptr) {
    return error(origin, what +
                             " must be a list of rules, each a list of keys: [[\"surname\", "
                             "\"year(dob)\"], [\"email\"]]");
  }
  std::vector<RuleText> out;
  for (const auto& rule : *array) {
    auto keys = strings(rule, origin, what + " (each rule)");
    if (!keys) return keys.status();
    if (keys->empty()) return error(origin, what + " has an empty rule");
    out.push_back(std::move(*keys));
  }
  return std::optional<std::vector<RuleText>>(std::move(out));
}

}  // namespace

Status check_settings(const MatchConfig& config, std::string_view origin) {
  const auto& o = config.options;
  auto probability = [&](double value, const char* name) -> Status {
    if (value > 0 && value < 1) return Status::ok();
    return error(origin, std::string("[settings] ") + name + " must be between 0 and 1");
  };
  CDP_RETURN_IF_ERROR(probability(o.match_threshold, "threshold"));
  CDP_RETURN_IF_ERROR(probability(o.review_threshold, "review_threshold"));
  CDP_RETURN_IF_ERROR(probability(config.deterministic_recall, "deterministic_recall"));
  if (o.review_threshold > o.match_threshold) {
    return error(origin, "[settings] review_threshold must not be above threshold");
  }
  if (o.min_link_share < 0 || o.min_link_share > 1) {
    return error(origin, "[settings] min_link_share must be between 0 and 1");
  }
  if (o.max_cluster_size < 2 || o.max_block_size < 2 || o.training.u_sample_pairs < 1) {
    return error(origin,
                 "[settings] max_cluster_size, max_block_size and u_sample_pairs must be "
                 "at least 2, 2 and 1");
  }
  return Status::ok();
}

namespace {

Result<std::vector<BlockingRule>> build_rules(const RecordTable& table,
                                              const std::vector<RuleText>& texts) {
  std::vector<BlockingRule> out;
  for (const auto& text : texts) {
    BlockingRule rule;
    for (const auto& key_text : text) {
      auto key = parse_blocking_key(table, key_text);
      if (!key) return key.status();
      rule.keys.push_back(*key);
    }
    out.push_back(std::move(rule));
  }
  return out;
}

std::vector<RuleText> rule_texts(const RecordTable& table, const std::vector<BlockingRule>& rules) {
  std::vector<RuleText> out;
  for (const auto& rule : rules) {
    RuleText text;
    for (const auto& key : rule.keys) text.push_back(key.label(table));
    out.push_back(std::move(text));
  }
  return out;
}

}  // namespace

Result<MatchConfig> parse_match_config(std::string_view text, std::string_view origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& failure) {
    std::ostringstream message;
    message << failure.description() << " (line " << failure.source().begin.line << ")";
    return error(origin, message.str());
  }
  CDP_RETURN_IF_ERROR(
      check_keys(root, origin, "top level", {"columns", "settings", "comparisons", "rules"}));
  MatchConfig config;
  const auto* columns = root.get_as<toml::table>("columns");
  if (columns == nullptr || columns->empty()) {
    return error(origin,
                 "[columns] is required: one line per column, NAME = \"KIND\", e.g. "
                 "given_name = \"first_name\"");
  }
  for (const auto& [name, kind_node] : *columns) {
    auto kind_text = kind_node.value<std::string>();
    auto kind = kind_text ? parse_field_kind(*kind_text) : std::nullopt;
    if (!kind) {
      return error(origin, "[columns] " + std::string(name.str()) +
                               ": the kind must be one of first_name, surname, full_name, date, "
                               "email, phone, postcode, place, address, number, identifier, "
                               "category, text");
    }
    config.columns.push_back({std::string(name.str()), *kind});
  }
  if (config.columns.size() > kMaxComparisons) {
    return error(origin, "[columns] declares " + std::to_string(config.columns.size()) +
                             " columns; at most " + std::to_string(kMaxComparisons) +
                             " can be compared");
  }
  if (const auto* settings = root.get_as<toml::table>("settings")) {
    CDP_RETURN_IF_ERROR(
        check_keys(*settings, origin, "settings",
                   {"threshold", "review_threshold", "min_link_share", "max_cluster_size",
                    "max_block_size", "deterministic_recall", "u_sample_pairs"}));
    auto& o = config.options;
    CDP_RETURN_IF_ERROR(read<double>(*settings, origin, "threshold", o.match_threshold));
    CDP_RETURN_IF_ERROR(read<double>(*settings, origin, "review_threshold", o.review_threshold));
    CDP_RETURN_IF_ERROR(read<double>(*settings, origin, "min_link_share", o.min_link_share));
    for (const char* key : {"max_cluster_size", "max_block_size", "u_sample_pairs"}) {
      if (auto value = settings->get(key);
          value && value->value<int64_t>() &&
          (*value->value<int64_t>() < 1 || *value->value<int64_t>() > int64_t{1} << 40)) {
        return error(origin, std::string("[settings] ") + key + " must be a positive count");
      }
    }
    CDP_RETURN_IF_ERROR(read<int64_t>(*settings, origin, "max_cluster_size", o.max_cluster_size));
    CDP_RETURN_IF_ERROR(read<int64_t>(*settings, origin, "max_block_size", o.max_block_size));
    CDP_RETURN_IF_ERROR(
        read<double>(*settings, origin, "deterministic_recall", config.deterministic_recall));
    CDP_RETURN_IF_ERROR(
        read<int64_t>(*settings, origin, "u_sample_pairs", o.training.u_sample_pairs));
  }
  CDP_RETURN_IF_ERROR(check_settings(config, origin));
  if (const auto* comparisons = root.get_as<toml::table>("comparisons")) {
    for (const auto& [name, node] : *comparisons) {
      const auto* table = node.as_table();
      const std::string section = "comparisons." + std::string(name.str());
      if (table == nullptr) return error(origin, "[" + section + "] must be a table");
      CDP_RETURN_IF_ERROR(check_keys(*table, origin, section, {"levels", "term_frequency"}));
      ComparisonOverride comparison;
      if (const auto* levels = table->get("levels")) {
        auto texts = strings(*levels, origin, "[" + section + "] levels");
        if (!texts) return texts.status();
        for (const auto& level : *texts) {
          if (auto parsed = parse_level(level); !parsed) {
            return error(origin, "[" + section + "] " + parsed.status().message());
          }
        }
        comparison.levels = std::move(*texts);
      }
      if (const auto* tf = table->get("term_frequency")) {
        if (!tf->value<bool>()) {
          return error(origin, "[" + section + "] term_frequency must be true or false");
        }
        comparison.term_frequency = *tf->value<bool>();
      }
      config.comparisons[std::string(name.str())] = std::move(comparison);
    }
  }
  if (const auto* rule_table = root.get_as<toml::table>("rules")) {
    CDP_RETURN_IF_ERROR(
        check_keys(*rule_table, origin, "rules", {"blocking", "training", "deterministic"}));
    auto blocking = rules(*rule_table, origin, "blocking");
    if (!blocking) return blocking.status();
    config.blocking = std::move(*blocking);
    auto training = rules(*rule_table, origin, "training");
    if (!training) return training.status();
    config.training = std::move(*training);
    auto deterministic = rules(*rule_table, origin, "deterministic");
    if (!deterministic) return deterministic.status();
    config.deterministic = std::move(*deterministic);
  }
  return config;
}

Result<MatchConfig> load_match_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::not_found("cannot open the model specification " + path);
  std::stringstream text;
  text << in.rdbuf();
  return parse_match_config(text.str(), path);
}

Result<ModelSpec> build_model_spec(const RecordTable& table, const MatchConfig& config) {
  ModelSpec spec = default_model_spec(table);
  spec.deterministic_recall = config.deterministic_recall;
  // Named members, not a structured binding: clang 14 cannot capture one in the lambda below.
  for (const auto& entry : config.comparisons) {
    const std::string& name = entry.first;
    const ComparisonOverride& comparison_override = entry.second;
    auto found = std::find_if(spec.comparisons.begin(), spec.comparisons.end(),
                              [&](const Comparison& c) { return c.name == name; });
    if (found == spec.comparisons.end()) {
      return Status::invalid_argument("[comparisons." + name + "]: no column \"" + name +
                                      "\" is declared in [columns]");
    }
    if (!comparison_override.levels.empty()) {
      if (comparison_override.levels.size() > kMaxLevels) {
        return Status::invalid_argument("[comparisons." + name + "] has more than " +
                                        std::to_string(kMaxLevels) + " levels");
      }
      found->levels.clear();
      for (const auto& text : comparison_override.levels) {
        auto level = parse_level(text);
        if (!level) {
          return Status::invalid_argument("[comparisons." + name + "] " + level.status().message());
        }
        found->levels.push_back(*level);
      }
    }
    if (comparison_override.term_frequency) {
      found->term_frequency = *comparison_override.term_frequency;
    }
  }
  auto replace = [&](const std::optional<std::vector<RuleText>>& texts,
                     std::vector<BlockingRule>& rules, const char* what) -> Status {
    if (!texts) return Status::ok();
    auto built = build_rules(table, *texts);
    if (!built) {
      return Status::invalid_argument(std::string("[rules] ") + what + ": " +
                                      built.status().message());
    }
    rules = std::move(*built);
    return Status::ok();
  };
  CDP_RETURN_IF_ERROR(replace(config.blocking, spec.blocking, "blocking"));
  CDP_RETURN_IF_ERROR(replace(config.training, spec.training, "training"));
  CDP_RETURN_IF_ERROR(replace(config.deterministic, spec.deterministic, "deterministic"));
  if (spec.blocking.empty()) {
    return Status::invalid_argument("[rules] blocking is empty: no pair would be compared");
  }
  return spec;
}

MatchConfig explicit_config(const RecordTable& table, const ModelSpec& spec,
                            const MatchOptions& options) {
  MatchConfig config;
  for (size_t column = 0; column < table.column_count(); ++column) {
    config.columns.push_back(table.column(column).spec);
  }
  config.options = options;
  config.deterministic_recall = spec.deterministic_recall;
  for (const auto& comparison : spec.comparisons) {
    ComparisonOverride written;
    for (const auto& level : comparison.levels) written.levels.push_back(level.label());
    written.term_frequency = comparison.term_frequency;
    config.comparisons[comparison.name] = std::move(written);
  }
  config.blocking = rule_texts(table, spec.blocking);
  config.training = rule_texts(table, spec.training);
  config.deterministic = rule_texts(table, spec.deterministic);
  return config;
}

}  // namespace cdp::match
