#include "audience/condition_json.h"

#include <charconv>

#include "audience/condition_text.h"

namespace cdp::audience {
namespace {

using ingest::JsonKind;
using ingest::JsonValue;

constexpr std::pair<std::string_view, CompareOp> kOps[] = {{"=", CompareOp::kEqual},
                                                           {"!=", CompareOp::kNotEqual},
                                                           {"<", CompareOp::kLess},
                                                           {"<=", CompareOp::kLessEqual},
                                                           {">", CompareOp::kGreater},
                                                           {">=", CompareOp::kGreaterEqual},
                                                           {"contains", CompareOp::kContains},
                                                           {"exists", CompareOp::kExists},
                                                           {"between", CompareOp::kBetween},
                                                           {"in", CompareOp::kIn},
                                                           {"in_last", CompareOp::kInLast}};

constexpr std::pair<std::string_view, Operand::Scope> kScopes[] = {
    {"trait", Operand::Scope::kTrait},
    {"computed", Operand::Scope::kComputed},
    {"property", Operand::Scope::kProperty}};

constexpr std::pair<std::string_view, CountOp> kCounts[] = {
    {"at_least", CountOp::kAtLeast}, {"at_most", CountOp::kAtMost}, {"exactly", CountOp::kExactly}};

Status error(const std::string& pointer, const std::string& message) {
  return Status::invalid_argument((pointer.empty() ? "/" : pointer) + ": " + message);
}

std::string child(const std::string& pointer, std::string_view key) {
  return pointer + "/" + std::string(key);
}

// Each member must be one this form knows: a typo is an error, not an ignored condition.
Status only_members(const JsonValue& json, const std::string& pointer,
                    std::initializer_list<std::string_view> allowed) {
  for (const auto& member : json.members) {
    if (std::find(allowed.begin(), allowed.end(), member.key) == allowed.end()) {
      std::string list;
      for (auto name : allowed) list += (list.empty() ? "" : ", ") + std::string(name);
      return error(child(pointer, member.key), "unknown member here; this form takes " + list);
    }
  }
  return Status::ok();
}

Result<std::string> string_member(const JsonValue& json, std::string_view key,
                                  const std::string& pointer) {
  const auto* value = json.find(key);
  if (value == nullptr || !value->is_string()) {
    return error(child(pointer, key), "expected a string");
  }
  return std::string(value->text);
}

Result<int64_t> duration_member(const JsonValue& json, std::string_view key,
                                const std::string& pointer) {
  auto text = string_member(json, key, pointer);
  if (!text) return text.status();
  auto ms = parse_duration(*text);
  if (!ms) return error(child(pointer, key), ms.status().message());
  return *ms;
}

Result<Condition> parse(const JsonValue& json, const std::string& pointer, bool filter,
                        size_t depth);

Result<std::vector<Condition>> parse_list(const JsonValue& json, const std::string& pointer,
                                          bool filter, size_t depth) {
  if (json.kind != JsonKind::kArray || json.elements.empty()) {
    return error(pointer, "expected a non-empty array of conditions");
  }
  std::vector<Condition> out;
  for (size_t i = 0; i < json.elements.size(); ++i) {
    auto item = parse(*json.elements[i], pointer + "/" + std::to_string(i), filter, depth + 1);
    if (!item) return item.status();
    out.push_back(std::move(*item));
  }
  return out;
}

Result<EventMatch> parse_event(const JsonValue& json, std::string_view name_key,
                               const std::string& pointer, size_t depth) {
  EventMatch match;
  auto name = string_member(json, name_key, pointer);
  if (!name) return name.status();
  match.event = std::move(*name);
  if (const auto* where = json.find("where")) {
    auto filter = parse(*where, child(pointer, "where"), true, depth + 1);
    if (!filter) return filter.status();
    if (uses_op(*filter, CompareOp::kInLast)) {
      return error(child(pointer, "where"),
                   "in_last compares with the current time, so a where clause cannot use it; "
                   "put the window on the event (\"in_last\")");
    }
    match.filter.push_back(std::move(*filter));
  }
  return match;
}

Result<Condition> parse_compare(const JsonValue& json, const std::string& pointer, bool filter,
                                std::string_view scope_key, Operand::Scope scope) {
  Condition node;
  node.kind = Condition::Kind::kCompare;
  node.operand.scope = scope;
  if (filter != (scope == Operand::Scope::kProperty)) {
    return error(child(pointer, scope_key),
                 filter ? "an event's where clause compares properties ({\"property\": ...})"
                        : "\"property\" can only be used in the where clause of an event");
  }
  auto path = path_from_json(*json.find(scope_key));
  if (!path) return error(child(pointer, scope_key), path.status().message());
  node.operand.path = std::move(*path);
  if (scope == Operand::Scope::kComputed && node.operand.path.size() != 1) {
    return error(child(pointer, scope_key), "a computed trait is named by one name, not a path");
  }
  auto op_text = string_member(json, "op", pointer);
  if (!op_text) return op_text.status();
  const auto op = std::find_if(std::begin(kOps), std::end(kOps),
                               [&](const auto& entry) { return entry.first == *op_text; });
  if (op == std::end(kOps)) {
    return error(child(pointer, "op"),
                 "unknown op '" + to_valid_utf8(*op_text) +
                     "'; use =, !=, <, <=, >, >=, contains, exists, between, in or in_last");
  }
  node.op = op->second;
  switch (node.op) {
    case CompareOp::kExists:
      CDP_RETURN_IF_ERROR(only_members(json, pointer, {scope_key, "op"}));
      return node;
    case CompareOp::kInLast: {
      CDP_RETURN_IF_ERROR(only_members(json, pointer, {scope_key, "op", "duration"}));
      auto ms = duration_member(json, "duration", pointer);
      if (!ms) return ms.status();
      node.duration_ms = *ms;
      return node;
    }
    case CompareOp::kBetween:
    case CompareOp::kIn: {
      CDP_RETURN_IF_ERROR(only_members(json, pointer, {scope_key, "op", "values"}));
      const auto* values = json.find("values");
      const bool between = node.op == CompareOp::kBetween;
      if (values == nullptr || values->kind != JsonKind::kArray || values->elements.empty() ||
          (between && values->elements.size() != 2)) {
        return error(child(pointer, "values"),
                     between ? "expected an array of two bounds" : "expected a non-empty array");
      }
      for (size_t i = 0; i < values->elements.size(); ++i) {
        const auto* value = values->elements[i];
        if (value->kind == JsonKind::kArray || value->kind == JsonKind::kObject) {
          return error(child(pointer, "values/" + std::to_string(i)),
                       "expected a string, number, boolean or null");
        }
        node.values.push_back(Value::from_json(*value));
      }
      return node;
    }
    default: {
      CDP_RETURN_IF_ERROR(only_members(json, pointer, {scope_key, "op", "value"}));
      const auto* value = json.find("value");
      if (value == nullptr || value->kind == JsonKind::kArray || value->kind == JsonKind::kObject) {
        return error(child(pointer, "value"), "expected a string, number, boolean or null");
      }
      node.values.push_back(Value::from_json(*value));
      return node;
    }
  }
}

Result<Condition> parse(const JsonValue& json, const std::string& pointer, bool filter,
                        size_t depth) {
  if (depth >= ConditionParser::kMaxDepth) {
    return error(pointer, "the condition nests deeper than " +
                              std::to_string(ConditionParser::kMaxDepth) + " levels");
  }
  if (!json.is_object()) return error(pointer, "expected a condition (a JSON object)");
  Condition node;
  for (const auto kind : {Condition::Kind::kAnd, Condition::Kind::kOr}) {
    const std::string_view key = kind == Condition::Kind::kAnd ? "and" : "or";
    if (const auto* list = json.find(key)) {
      CDP_RETURN_IF_ERROR(only_members(json, pointer, {key}));
      auto children = parse_list(*list, child(pointer, key), filter, depth);
      if (!children) return children.status();
      // One condition joined with nothing is that condition (as the text form reads it).
      if (children->size() == 1) return std::move(children->front());
      node.kind = kind;
      node.children = std::move(*children);
      return node;
    }
  }
  if (const auto* inner = json.find("not")) {
    CDP_RETURN_IF_ERROR(only_members(json, pointer, {"not"}));
    auto parsed = parse(*inner, child(pointer, "not"), filter, depth + 1);
    if (!parsed) return parsed;
    node.kind = Condition::Kind::kNot;
    node.children.push_back(std::move(*parsed));
    return node;
  }
  for (const auto& [key, scope] : kScopes) {
    if (json.find(key) != nullptr) return parse_compare(json, pointer, filter, key, scope);
  }
  if (filter) {
    return error(pointer, "expected a condition on properties: {\"property\": ...}, and, or, not");
  }
  if (json.find("performed") != nullptr) {
    CDP_RETURN_IF_ERROR(only_members(
        json, pointer, {"performed", "where", "at_least", "at_most", "exactly", "in_last"}));
    node.kind = Condition::Kind::kPerformed;
    auto event = parse_event(json, "performed", pointer, depth);
    if (!event) return event.status();
    node.events.push_back(std::move(*event));
    bool counted = false;
    for (const auto& [key, count_op] : kCounts) {
      const auto* count = json.find(key);
      if (count == nullptr) continue;
      uint64_t n = 0;
      auto [end, ec] =
          std::from_chars(count->text.data(), count->text.data() + count->text.size(), n);
      if (counted || count->kind != JsonKind::kNumber || ec != std::errc() ||
          end != count->text.data() + count->text.size()) {
        return error(child(pointer, key), counted ? "give one of at_least, at_most and exactly"
                                                  : "expected a whole number of times");
      }
      counted = true;
      node.count_op = count_op;
      node.count = n;
    }
    if (json.find("in_last") != nullptr) {
      auto ms = duration_member(json, "in_last", pointer);
      if (!ms) return ms.status();
      node.lookback_ms = *ms;
    }
    return node;
  }
  if (const auto* steps = json.find("funnel")) {
    CDP_RETURN_IF_ERROR(only_members(json, pointer, {"funnel", "within", "in_last"}));
    node.kind = Condition::Kind::kFunnel;
    const auto step_pointer = child(pointer, "funnel");
    if (steps->kind != JsonKind::kArray || steps->elements.size() < 2) {
      return error(step_pointer, "expected an array of at least two steps");
    }
    for (size_t i = 0; i < steps->elements.size(); ++i) {
      const auto& step = *steps->elements[i];
      const auto at = step_pointer + "/" + std::to_string(i);
      if (!step.is_object()) return error(at, "expected {\"event\": NAME, \"where\": ...}");
      CDP_RETURN_IF_ERROR(only_members(step, at, {"event", "where"}));
      auto event = parse_event(step, "event", at, depth);
      if (!event) return event.status();
      node.events.push_back(std::move(*event));
    }
    auto span = duration_member(json, "within", pointer);
    if (!span) return span.status();
    node.span_ms = *span;
    if (json.find("in_last") != nullptr) {
      auto ms = duration_member(json, "in_last", pointer);
      if (!ms) return ms.status();
      node.lookback_ms = *ms;
    }
    return node;
  }
  if (json.find("in_audience") != nullptr) {
    CDP_RETURN_IF_ERROR(only_members(json, pointer, {"in_audience"}));
    auto name = string_member(json, "in_audience", pointer);
    if (!name) return name.status();
    node.kind = Condition::Kind::kMember;
    node.name = std::move(*name);
    return node;
  }
  return error(pointer,
               "expected one of and, or, not, trait, computed, performed, funnel, in_audience");
}

void write_event(JsonWriter& out, const EventMatch& match) {
  if (match.filter.empty()) return;
  out.key("where");
  write_condition(out, match.filter[0]);
}

std::string_view op_name(CompareOp op) {
  for (const auto& [name, value] : kOps) {
    if (value == op) return name;
  }
  return "=";
}

}  // namespace

Result<std::vector<std::string>> path_from_json(const JsonValue& json) {
  std::vector<std::string> path;
  if (json.is_string() && !json.text.empty()) {
    size_t start = 0;
    while (true) {
      const auto dot = json.text.find('.', start);
      path.emplace_back(json.text.substr(start, dot - start));
      if (path.back().empty()) {
        return Status::invalid_argument("a path has an empty name between dots");
      }
      if (dot == std::string_view::npos) return path;
      start = dot + 1;
    }
  }
  if (json.kind == JsonKind::kArray && !json.elements.empty()) {
    for (const auto* segment : json.elements) {
      if (!segment->is_string() || segment->text.empty()) {
        return Status::invalid_argument("expected an array of non-empty names");
      }
      path.emplace_back(segment->text);
    }
    return path;
  }
  return Status::invalid_argument(
      "expected a name (\"plan\", \"address.city\") or an array of names");
}

void write_path(JsonWriter& out, const std::vector<std::string>& path) {
  const bool dotted =
      std::any_of(path.begin(), path.end(), [](const auto& s) { return s.find('.') != s.npos; });
  if (dotted) {
    out.begin_array();
    for (const auto& segment : path) out.string(segment);
    out.end_array();
    return;
  }
  std::string joined;
  for (const auto& segment : path) joined += (joined.empty() ? "" : ".") + segment;
  out.string(joined);
}

Result<Condition> condition_from_json(const JsonValue& json) { return parse(json, "", false, 0); }

Result<Condition> filter_from_json(const JsonValue& json) {
  auto filter = parse(json, "", true, 0);
  if (filter && uses_op(*filter, CompareOp::kInLast)) {
    return error("", "in_last compares with the current time, so a filter cannot use it");
  }
  return filter;
}

void write_condition(JsonWriter& out, const Condition& c) {
  out.begin_object();
  switch (c.kind) {
    case Condition::Kind::kAnd:
    case Condition::Kind::kOr:
      out.key(c.kind == Condition::Kind::kAnd ? "and" : "or").begin_array();
      for (const auto& item : c.children) write_condition(out, item);
      out.end_array();
      break;
    case Condition::Kind::kNot:
      out.key("not");
      write_condition(out, c.children[0]);
      break;
    case Condition::Kind::kCompare: {
      out.key(kScopes[static_cast<size_t>(c.operand.scope)].first);
      write_path(out, c.operand.path);
      out.key("op").string(op_name(c.op));
      if (c.op == CompareOp::kInLast) {
        out.key("duration").string(duration_text(c.duration_ms));
      } else if (c.op == CompareOp::kBetween || c.op == CompareOp::kIn) {
        out.key("values").begin_array();
        for (const auto& value : c.values) value.write(out);
        out.end_array();
      } else if (c.op != CompareOp::kExists) {
        out.key("value");
        c.values[0].write(out);
      }
      break;
    }
    case Condition::Kind::kPerformed:
      out.key("performed").string(c.events[0].event);
      write_event(out, c.events[0]);
      out.key(kCounts[static_cast<size_t>(c.count_op)].first).number(static_cast<int64_t>(c.count));
      if (c.lookback_ms > 0) out.key("in_last").string(duration_text(c.lookback_ms));
      break;
    case Condition::Kind::kFunnel:
      out.key("funnel").begin_array();
      for (const auto& step : c.events) {
        out.begin_object().key("event").string(step.event);
        write_event(out, step);
        out.end_object();
      }
      out.end_array();
      out.key("within").string(duration_text(c.span_ms));
      if (c.lookback_ms > 0) out.key("in_last").string(duration_text(c.lookback_ms));
      break;
    case Condition::Kind::kMember: out.key("in_audience").string(c.name); break;
  }
  out.end_object();
}

std::string condition_to_json(const Condition& condition) {
  JsonWriter out;
  write_condition(out, condition);
  return out.take();
}

}  // namespace cdp::audience
