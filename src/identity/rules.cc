#include "identity/rules.h"

#include <re2/re2.h>

#include <algorithm>

#include "common/json_writer.h"

namespace cdp::identity {
namespace {

bool equals_ignoring_ascii_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) {
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

Result<std::vector<std::unique_ptr<re2::RE2>>> compile_patterns(std::string_view type,
                                                                const TypeRule& rule) {
  std::vector<std::unique_ptr<re2::RE2>> compiled;
  re2::RE2::Options options;
  options.set_log_errors(false);
  for (const auto& pattern : rule.blocked_patterns) {
    auto re = std::make_unique<re2::RE2>(pattern, options);
    if (!re->ok()) {
      return Status::invalid_argument("identity rule for \"" + std::string(type) +
                                      "\": blocked pattern \"" + pattern +
                                      "\" is not a valid regular expression: " + re->error());
    }
    compiled.push_back(std::move(re));
  }
  return compiled;
}

void write_rule(JsonWriter& out, const TypeRule& rule) {
  out.begin_object();
  out.key("limit").number(static_cast<int64_t>(rule.limit));
  out.key("window_ms").number(rule.window_ms);
  out.key("blocked_values").begin_array();
  for (const auto& value : rule.blocked_values) out.string(value);
  out.end_array();
  out.key("blocked_patterns").begin_array();
  for (const auto& value : rule.blocked_patterns) out.string(value);
  out.end_array();
  out.end_object();
}

}  // namespace

IdentityRules IdentityRules::defaults() {
  IdentityRules rules;
  rules.default_rule.limit = 5;
  rules.default_rule.blocked_values = {"-1", "null", "anonymous", "undefined", "none", ""};
  rules.default_rule.blocked_patterns = {"^[0-]*$"};
  TypeRule user_id = rules.default_rule;
  user_id.limit = 1;
  rules.types.emplace("user_id", std::move(user_id));
  return rules;
}

CompiledRules::~CompiledRules() = default;

Result<std::shared_ptr<const CompiledRules>> CompiledRules::compile(IdentityRules rules) {
  std::shared_ptr<CompiledRules> compiled(new CompiledRules());
  auto check_limit = [](std::string_view type, const TypeRule& rule) -> Status {
    if (rule.limit == 0) {
      return Status::invalid_argument("identity rule for \"" + std::string(type) +
                                      "\": limit must be at least 1");
    }
    if (rule.window_ms < 0) {
      return Status::invalid_argument("identity rule for \"" + std::string(type) +
                                      "\": the window must not be negative");
    }
    return Status::ok();
  };
  CDP_RETURN_IF_ERROR(check_limit("(default)", rules.default_rule));
  auto defaults = compile_patterns("(default)", rules.default_rule);
  if (!defaults) return defaults.status();
  compiled->default_patterns_ = std::move(*defaults);
  for (const auto& [type, rule] : rules.types) {
    CDP_RETURN_IF_ERROR(check_limit(type, rule));
    auto patterns = compile_patterns(type, rule);
    if (!patterns) return patterns.status();
    compiled->patterns_.emplace(type, std::move(*patterns));
  }
  if (rules.max_identifiers_per_profile == 0 || rules.max_merges_per_profile == 0 ||
      rules.quarantine_after_profiles == 0) {
    return Status::invalid_argument(
        "identity guards (max identifiers, max merges, quarantine threshold) must be at least 1");
  }

  JsonWriter out;
  out.begin_object();
  out.key("default");
  write_rule(out, rules.default_rule);
  out.key("types").begin_object();
  for (const auto& [type, rule] : rules.types) {
    out.key(type);
    write_rule(out, rule);
  }
  out.end_object();
  out.key("priority").begin_array();
  for (const auto& type : rules.priority) out.string(type);
  out.end_array();
  out.key("max_identifiers").number(static_cast<int64_t>(rules.max_identifiers_per_profile));
  out.key("max_merges").number(static_cast<int64_t>(rules.max_merges_per_profile));
  out.key("quarantine_after").number(static_cast<int64_t>(rules.quarantine_after_profiles));
  out.key("quarantine_window_ms").number(rules.quarantine_window_ms);
  out.key("custom").begin_array();
  for (const auto& custom : rules.custom_identifiers) {
    std::string path;
    for (const auto& segment : custom.path) path += (path.empty() ? "" : ".") + segment;
    out.string(custom.type + "=" + path);
  }
  out.end_array();
  out.key("phone_region").string(rules.phone_default_region);
  // How the engine applies the rules, apart from the rules themselves: raised whenever the same
  // log would build other profiles (2: at most 50 identifiers per event, trait ties by log order
  // across merges, unmerge blocks).
  out.key("engine").number(int64_t{kEngineVersion});
  out.end_object();
  compiled->fingerprint_ = out.take();
  compiled->rules_ = std::move(rules);
  return std::shared_ptr<const CompiledRules>(std::move(compiled));
}

const TypeRule& CompiledRules::rule(std::string_view type) const {
  if (auto it = rules_.types.find(type); it != rules_.types.end()) return it->second;
  return rules_.default_rule;
}

bool CompiledRules::is_blocked(std::string_view type, std::string_view value) const {
  const auto& type_rule = rule(type);
  for (const auto& blocked : type_rule.blocked_values) {
    if (equals_ignoring_ascii_case(blocked, value)) return true;
  }
  const auto it = patterns_.find(type);
  const auto& patterns = it != patterns_.end() ? it->second : default_patterns_;
  for (const auto& pattern : patterns) {
    if (re2::RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *pattern)) return true;
  }
  return false;
}

std::pair<size_t, std::string_view> CompiledRules::rank(std::string_view type) const {
  const auto& order = rules_.priority;
  const auto it = std::find(order.begin(), order.end(), type);
  if (it != order.end()) return {static_cast<size_t>(it - order.begin()), std::string_view()};
  return {order.size(), type};
}

bool CompiledRules::before(const Identifier& a, const Identifier& b) const {
  const auto rank_a = rank(a.type);
  const auto rank_b = rank(b.type);
  if (rank_a != rank_b) return rank_a < rank_b;
  if (a.type != b.type) return a.type < b.type;
  return a.value < b.value;
}

}  // namespace cdp::identity
