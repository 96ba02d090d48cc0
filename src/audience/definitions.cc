#include "audience/definitions.h"

#include <algorithm>
#include <functional>

#include "audience/condition_json.h"
#include "audience/condition_text.h"
#include "audience/evaluator.h"

namespace cdp::audience {
namespace {

using ingest::JsonKind;
using ingest::JsonValue;

Status only_members(const JsonValue& body, std::initializer_list<std::string_view> allowed) {
  if (!body.is_object()) return Status::invalid_argument("expected a JSON object");
  for (const auto& member : body.members) {
    if (std::find(allowed.begin(), allowed.end(), member.key) == allowed.end()) {
      std::string list;
      for (auto name : allowed) list += (list.empty() ? "" : ", ") + std::string(name);
      return Status::invalid_argument("unknown member '" + to_valid_utf8(member.key) +
                                      "'; a definition takes " + list);
    }
  }
  return Status::ok();
}

// A body may repeat its name (what GET returned can be sent back), but not another one.
Status same_name(const JsonValue& body, std::string_view name) {
  const auto* stated = body.find("name");
  if (stated == nullptr || (stated->is_string() && stated->text == name)) return Status::ok();
  return Status::invalid_argument(
      "the body names '" + to_valid_utf8(stated->is_string() ? stated->text : "?") +
      "' but the URL '" + to_valid_utf8(name) + "'; leave 'name' out or make them the same");
}

Result<std::string> optional_string(const JsonValue& body, std::string_view key) {
  const auto* value = body.find(key);
  if (value == nullptr) return std::string();
  if (!value->is_string()) {
    return Status::invalid_argument("'" + std::string(key) + "' must be a string");
  }
  return std::string(value->text);
}

}  // namespace

Status check_definition_name(std::string_view name, std::string_view what) {
  if (name.empty() || name.size() > 200) {
    return Status::invalid_argument("a " + std::string(what) + " name must be 1 to 200 bytes");
  }
  if (to_valid_utf8(name) != name) {
    return Status::invalid_argument("a " + std::string(what) + " name must be UTF-8");
  }
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F || c == '/') {
      return Status::invalid_argument("a " + std::string(what) +
                                      " name cannot hold '/' or control characters");
    }
  }
  return Status::ok();
}

Result<ComputedTraitDefinition> parse_computed_trait(std::string name, const JsonValue& body) {
  CDP_RETURN_IF_ERROR(check_definition_name(name, "computed trait"));
  CDP_RETURN_IF_ERROR(
      only_members(body, {"name", "kind", "event", "where", "property", "window", "description"}));
  CDP_RETURN_IF_ERROR(same_name(body, name));
  ComputedTraitDefinition definition;
  definition.name = std::move(name);
  auto kind_text = optional_string(body, "kind");
  if (!kind_text) return kind_text.status();
  const auto kind = parse_aggregate_kind(*kind_text);
  if (!kind) {
    return Status::invalid_argument(
        "'kind' must be one of count, sum, average, min, max, most_frequent, first, last, "
        "unique_list, unique_count; got '" +
        to_valid_utf8(*kind_text) + "'");
  }
  definition.spec.kind = *kind;
  auto event = optional_string(body, "event");
  if (!event) return event.status();
  definition.spec.event = std::move(*event);
  auto description = optional_string(body, "description");
  if (!description) return description.status();
  definition.description = std::move(*description);
  if (const auto* where = body.find("where")) {
    Result<Condition> filter = Status::invalid_argument("");
    if (where->is_string()) {
      ConditionParser parser;
      filter = parser.parse_filter(where->text);
    } else if (where->is_object()) {
      filter = filter_from_json(*where);
    } else {
      return Status::invalid_argument(
          "'where' must be a filter in text (\"property.total > 10\") or in JSON form");
    }
    if (!filter) return Status::invalid_argument("where: " + filter.status().message());
    definition.spec.filter.push_back(std::move(*filter));
  }
  if (const auto* property = body.find("property")) {
    auto path = path_from_json(*property);
    if (!path) return Status::invalid_argument("property: " + path.status().message());
    definition.spec.property = std::move(*path);
  } else if (definition.spec.kind != AggregateKind::kCount) {
    return Status::invalid_argument("'property' is required: which property's values to " +
                                    std::string(*kind_text));
  }
  if (definition.spec.kind == AggregateKind::kCount && !definition.spec.property.empty()) {
    return Status::invalid_argument(
        "'property' is for the other kinds: count counts events (use 'where' to count only "
        "events that have it: property.NAME exists)");
  }
  if (const auto* window = body.find("window")) {
    if (!window->is_string()) return Status::invalid_argument("'window' must be like \"30 days\"");
    auto ms = parse_duration(window->text);
    if (!ms) return Status::invalid_argument("window: " + ms.status().message());
    definition.spec.window_ms = *ms;
  }
  return definition;
}

void write_computed_trait(JsonWriter& out, const ComputedTraitDefinition& definition) {
  const auto& spec = definition.spec;
  out.begin_object();
  out.key("name").string(definition.name);
  out.key("kind").string(aggregate_kind_name(spec.kind));
  if (!spec.event.empty()) out.key("event").string(spec.event);
  if (!spec.property.empty()) write_path(out.key("property"), spec.property);
  if (!spec.filter.empty()) {
    // The text form, as `performed ... where` prints it.
    Condition performed;
    performed.kind = Condition::Kind::kPerformed;
    performed.events.push_back({"x", spec.filter});
    const auto text = to_text(performed);
    out.key("where").string(text.substr(text.find(" where ") + 7));
  }
  if (spec.window_ms > 0) out.key("window").string(duration_text(spec.window_ms));
  if (!definition.description.empty()) out.key("description").string(definition.description);
  out.end_object();
}

Result<AudienceDefinition> parse_audience(std::string name, const JsonValue& body) {
  CDP_RETURN_IF_ERROR(check_definition_name(name, "audience"));
  // "size" too: what GET answers can be sent back as it is.
  CDP_RETURN_IF_ERROR(
      only_members(body, {"name", "condition", "condition_json", "description", "size"}));
  CDP_RETURN_IF_ERROR(same_name(body, name));
  AudienceDefinition definition;
  definition.name = std::move(name);
  const auto* condition = body.find("condition");
  if (condition == nullptr) condition = body.find("condition_json");
  Result<Condition> parsed = Status::invalid_argument("");
  if (condition != nullptr && condition->is_string()) {
    ConditionParser parser;
    parsed = parser.parse(condition->text);
  } else if (condition != nullptr && condition->is_object()) {
    parsed = condition_from_json(*condition);
  } else {
    return Status::invalid_argument(
        "'condition' is required: the condition's text, or its JSON form (docs/audiences.md)");
  }
  if (!parsed) return Status::invalid_argument("condition: " + parsed.status().message());
  definition.condition = std::move(*parsed);
  auto description = optional_string(body, "description");
  if (!description) return description.status();
  definition.description = std::move(*description);
  return definition;
}

void write_audience(JsonWriter& out, const AudienceDefinition& definition, bool with_json) {
  out.begin_object();
  out.key("name").string(definition.name);
  out.key("condition").string(to_text(definition.condition));
  if (with_json) {
    out.key("condition_json");
    write_condition(out, definition.condition);
  }
  if (!definition.description.empty()) out.key("description").string(definition.description);
  out.end_object();
}

namespace {

// Keys name state inside every profile record and are looked up for every event: a 64-bit
// FNV-1a hash of the canonical text keeps them short, stable across builds and versions of the
// same definition, and quick to compare.
std::string hashed_key(char kind, std::string_view canonical) {
  uint64_t hash = 14695981039346656037ULL;
  for (const char c : canonical) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string key = {kind, ':'};
  for (int shift = 60; shift >= 0; shift -= 4) key.push_back(kHex[(hash >> shift) & 0xF]);
  return key;
}

}  // namespace

std::string Definitions::counter_key(const Condition& performed) {
  Condition counter = performed;
  counter.count_op = CountOp::kAtLeast;
  counter.count = 1;
  return hashed_key('c', to_text(counter));
}

std::string Definitions::funnel_key(const Condition& funnel) {
  return hashed_key('f', to_text(funnel));
}

std::shared_ptr<const Definitions> Definitions::empty() {
  static const auto empty = std::make_shared<const Definitions>();
  return empty;
}

const ComputedTraitDefinition* Definitions::computed_trait(std::string_view name) const {
  for (const auto& trait : traits_) {
    if (trait.name == name) return &trait;
  }
  return nullptr;
}

const AudienceDefinition* Definitions::audience(std::string_view name) const {
  for (const auto& audience : audiences_) {
    if (audience.definition.name == name) return &audience.definition;
  }
  return nullptr;
}

Result<std::shared_ptr<const Definitions>> Definitions::compile(
    std::vector<ComputedTraitDefinition> traits, std::vector<AudienceDefinition> audiences) {
  auto out = std::make_shared<Definitions>();
  std::set<std::string, std::less<>> windowed_traits;
  for (const auto& trait : traits) {
    if (!out->aggregates_.emplace(trait_key(trait.name), Aggregate(trait.spec)).second) {
      return Status::invalid_argument("computed trait '" + trait.name + "' is defined twice");
    }
    if (trait.spec.window_ms > 0) windowed_traits.insert(trait.name);
  }
  out->traits_ = std::move(traits);

  std::map<std::string, CompiledAudience, std::less<>> by_name;
  for (auto& definition : audiences) {
    CompiledAudience compiled;
    Status status;
    std::function<void(const Condition&)> walk = [&](const Condition& c) {
      switch (c.kind) {
        case Condition::Kind::kCompare:
          if (c.operand.scope == Operand::Scope::kComputed) {
            const auto& name = c.operand.path[0];
            if (out->computed_trait(name) == nullptr && status.is_ok()) {
              status = Status::invalid_argument("computed." + name +
                                                ": there is no computed trait named '" + name +
                                                "'; define it first");
            }
            compiled.aggregates.insert(trait_key(name));
            if (windowed_traits.count(name) > 0) compiled.uses_time = true;
          } else {
            compiled.traits.insert(c.operand.path[0]);
          }
          if (c.op == CompareOp::kInLast) compiled.uses_time = true;
          break;
        case Condition::Kind::kPerformed: {
          auto key = counter_key(c);
          out->aggregates_.try_emplace(key, Aggregate(counter_spec(c)));
          compiled.aggregates.insert(std::move(key));
          if (c.lookback_ms > 0) compiled.uses_time = true;
          break;
        }
        case Condition::Kind::kFunnel: {
          auto key = funnel_key(c);
          out->funnels_.try_emplace(key, Funnel(c));
          compiled.funnels.insert(std::move(key));
          if (c.lookback_ms > 0) compiled.uses_time = true;
          break;
        }
        case Condition::Kind::kMember: compiled.audiences.insert(c.name); break;
        default: break;
      }
      for (const auto& child : c.children) walk(child);
    };
    walk(definition.condition);
    CDP_RETURN_IF_ERROR(status);
    const auto name = definition.name;
    compiled.definition = std::move(definition);
    if (!by_name.emplace(name, std::move(compiled)).second) {
      return Status::invalid_argument("audience '" + name + "' is defined twice");
    }
  }

  // Dependency order (depth first), refusing unknown audiences and cycles.
  std::map<std::string, int, std::less<>> state;  // 1: visiting, 2: done
  std::vector<std::string> path;
  std::function<Status(const std::string&)> visit = [&](const std::string& name) -> Status {
    auto& mark = state[name];
    if (mark == 2) return Status::ok();
    if (mark == 1) {
      std::string cycle;
      for (auto it = std::find(path.begin(), path.end(), name); it != path.end(); ++it) {
        cycle += "'" + *it + "' -> ";
      }
      return Status::invalid_argument("audiences cannot depend on themselves: " + cycle + "'" +
                                      name + "'");
    }
    mark = 1;
    path.push_back(name);
    auto& audience = by_name.at(name);
    for (const auto& dependency : audience.audiences) {
      if (by_name.count(dependency) == 0) {
        return Status::invalid_argument("in audience \"" + dependency + "\" (in '" + name +
                                        "'): there is no audience named '" + dependency + "'");
      }
      CDP_RETURN_IF_ERROR(visit(dependency));
      if (by_name.at(dependency).uses_time) audience.uses_time = true;
    }
    path.pop_back();
    state[name] = 2;
    out->audiences_.push_back(audience);
    return Status::ok();
  };
  for (const auto& [name, audience] : by_name) CDP_RETURN_IF_ERROR(visit(name));
  out->index();
  return std::shared_ptr<const Definitions>(std::move(out));
}

// Pointers into audiences_, aggregates_ and funnels_, which no longer change.
void Definitions::index() {
  std::map<std::string_view, size_t> aggregate_at;
  std::map<std::string_view, size_t> funnel_at;
  for (const auto& [key, aggregate] : aggregates_) {
    aggregate_at.emplace(key, aggregate_positions_.size());
    aggregate_positions_.emplace_back(key, &aggregate);
  }
  for (const auto& [key, funnel] : funnels_) {
    funnel_at.emplace(key, funnel_positions_.size());
    funnel_positions_.emplace_back(key, &funnel);
  }
  aggregate_readers_.resize(aggregate_positions_.size());
  funnel_readers_.resize(funnel_positions_.size());
  std::map<std::string_view, size_t> audience_at;
  for (size_t i = 0; i < audiences_.size(); ++i)
    audience_at.emplace(audiences_[i].definition.name, i);
  audiences_by_name_.assign(audience_at.begin(), audience_at.end());
  std::set<size_t> timed_aggregates;
  std::set<size_t> timed_funnels;
  for (size_t i = 0; i < audiences_.size(); ++i) {
    auto& audience = audiences_[i];
    for (const auto& key : audience.aggregates) {
      readers_[key].push_back(i);
      aggregate_readers_[aggregate_at.at(key)].push_back(i);
    }
    for (const auto& key : audience.funnels) {
      readers_[key].push_back(i);
      funnel_readers_[funnel_at.at(key)].push_back(i);
    }
    for (const auto& trait : audience.traits) trait_readers_[trait].push_back(i);
    for (const auto& name : audience.audiences) audience.inputs.push_back(audience_at.at(name));
    std::function<void(const Condition&)> walk = [&](const Condition& c) {
      size_t aggregate = kNoPosition;
      if (c.kind == Condition::Kind::kPerformed) {
        aggregate = aggregate_at.at(counter_key(c));
      } else if (c.kind == Condition::Kind::kCompare &&
                 c.operand.scope == Operand::Scope::kComputed) {
        aggregate = aggregate_at.at(trait_key(c.operand.path[0]));
      } else if (c.kind == Condition::Kind::kFunnel) {
        const auto funnel = funnel_at.at(funnel_key(c));
        positions_.emplace(&c, funnel);
        if (audience.uses_time) timed_funnels.insert(funnel);
      } else if (c.kind == Condition::Kind::kMember) {
        positions_.emplace(&c, audience_at.at(c.name));
      }
      if (aggregate != kNoPosition) {
        positions_.emplace(&c, aggregate);
        if (audience.uses_time) timed_aggregates.insert(aggregate);
      }
      if (c.kind == Condition::Kind::kCompare && c.op == CompareOp::kInLast) {
        audience.in_last.push_back(&c);
      }
      for (const auto& child : c.children) walk(child);
    };
    walk(audience.definition.condition);
  }
  timed_aggregates_.assign(timed_aggregates.begin(), timed_aggregates.end());
  timed_funnels_.assign(timed_funnels.begin(), timed_funnels.end());
}

}  // namespace cdp::audience
