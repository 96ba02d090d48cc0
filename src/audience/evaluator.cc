#include "audience/evaluator.h"

#include <algorithm>

namespace cdp::audience {

bool compare(const Condition& c, const std::optional<Value>& operand, int64_t now_ms) {
  if (c.op == CompareOp::kNotEqual) {
    return !operand || !values_equal(*operand, c.values[0]);
  }
  if (!operand || operand->is_null()) return false;
  const Value& x = *operand;
  switch (c.op) {
    case CompareOp::kExists: return true;
    case CompareOp::kEqual: return values_equal(x, c.values[0]);
    case CompareOp::kNotEqual: return false;  // handled above
    case CompareOp::kLess:
    case CompareOp::kLessEqual:
    case CompareOp::kGreater:
    case CompareOp::kGreaterEqual: {
      const auto order = compare_values(x, c.values[0]);
      if (!order) return false;
      switch (c.op) {
        case CompareOp::kLess: return *order < 0;
        case CompareOp::kLessEqual: return *order <= 0;
        case CompareOp::kGreater: return *order > 0;
        default: return *order >= 0;
      }
    }
    case CompareOp::kContains:
      if (x.kind == Value::Kind::kString && c.values[0].kind == Value::Kind::kString) {
        return x.text.find(c.values[0].text) != std::string::npos;
      }
      if (x.kind == Value::Kind::kArray) {
        return std::any_of(x.elements.begin(), x.elements.end(), [&](const Value& element) {
          return values_equal(element, c.values[0]);
        });
      }
      return false;
    case CompareOp::kBetween: {
      const auto low = compare_values(x, c.values[0]);
      const auto high = compare_values(x, c.values[1]);
      return low && high && *low >= 0 && *high <= 0;
    }
    case CompareOp::kIn:
      return std::any_of(c.values.begin(), c.values.end(),
                         [&](const Value& value) { return values_equal(x, value); });
    case CompareOp::kInLast: {
      const auto time = value_time_ms(x);
      return time && *time <= now_ms && *time >= now_ms - c.duration_ms;
    }
  }
  return false;
}

bool matches_properties(const Condition& filter, const ingest::JsonValue* properties) {
  switch (filter.kind) {
    case Condition::Kind::kAnd:
      return std::all_of(filter.children.begin(), filter.children.end(),
                         [&](const Condition& c) { return matches_properties(c, properties); });
    case Condition::Kind::kOr:
      return std::any_of(filter.children.begin(), filter.children.end(),
                         [&](const Condition& c) { return matches_properties(c, properties); });
    case Condition::Kind::kNot: return !matches_properties(filter.children[0], properties);
    case Condition::Kind::kCompare: {
      const auto* json = find_path(properties, filter.operand.path);
      std::optional<Value> operand;
      if (json != nullptr) operand = Value::from_json(*json);
      // Property filters have no clock; the parsers refuse "in last" in them.
      return compare(filter, operand, 0);
    }
    default: return false;
  }
}

bool evaluate(const Condition& c, const ProfileFacts& facts) {
  switch (c.kind) {
    case Condition::Kind::kAnd:
      return std::all_of(c.children.begin(), c.children.end(),
                         [&](const Condition& child) { return evaluate(child, facts); });
    case Condition::Kind::kOr:
      return std::any_of(c.children.begin(), c.children.end(),
                         [&](const Condition& child) { return evaluate(child, facts); });
    case Condition::Kind::kNot: return !evaluate(c.children[0], facts);
    case Condition::Kind::kCompare:
      return compare(c,
                     c.operand.scope == Operand::Scope::kComputed ? facts.computed(c)
                                                                  : facts.trait(c.operand.path),
                     facts.now_ms());
    case Condition::Kind::kPerformed: {
      const auto n = facts.performed_count(c);
      switch (c.count_op) {
        case CountOp::kAtLeast: return n >= c.count;
        case CountOp::kAtMost: return n <= c.count;
        case CountOp::kExactly: return n == c.count;
      }
      return false;
    }
    case Condition::Kind::kFunnel: return facts.funnel_completed(c);
    case Condition::Kind::kMember: return facts.member_of(c);
  }
  return false;
}

AggregateSpec counter_spec(const Condition& performed) {
  AggregateSpec spec;
  spec.kind = AggregateKind::kCount;
  spec.event = performed.events[0].event;
  spec.filter = performed.events[0].filter;
  spec.window_ms = performed.lookback_ms;
  return spec;
}

}  // namespace cdp::audience
