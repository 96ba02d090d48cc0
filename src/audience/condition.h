#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "audience/value.h"

namespace cdp::audience {

// What a comparison reads: a profile trait, a computed trait, or (inside an event filter) a
// property of the event. `path` names nested members: trait.address.city is {"address", "city"}.
struct Operand {
  enum class Scope : uint8_t { kTrait, kComputed, kProperty };
  Scope scope = Scope::kTrait;
  std::vector<std::string> path;

  bool operator==(const Operand&) const = default;
};

enum class CompareOp : uint8_t {
  kEqual,
  kNotEqual,
  kLess,
  kLessEqual,
  kGreater,
  kGreaterEqual,
  kContains,  // a string holds the text, or an array holds the value
  kExists,    // present and not null
  kBetween,   // values[0] <= x <= values[1]
  kIn,        // equal to one of values
  kInLast,    // a date or timestamp within the last `duration_ms`
};

enum class CountOp : uint8_t { kAtLeast, kAtMost, kExactly };

// One step of a funnel, or the event of a `performed` condition: track events with this name
// whose properties match `filter` (a condition over property operands; none when empty).
struct EventMatch;

// A parsed audience condition (docs/audiences.md has the grammar). A tree of value types; the
// text form and the JSON form both parse to it and print from it.
struct Condition {
  enum class Kind : uint8_t {
    kAnd,        // children, all true
    kOr,         // children, any true
    kNot,        // children[0] false
    kCompare,    // operand op values
    kPerformed,  // events[0] seen `count_op count` times within the last `lookback_ms` (0: ever)
    kFunnel,     // events in order, first to last within `span_ms`, last within `lookback_ms`
    kMember,     // member of the audience `name`
  };

  Kind kind = Kind::kAnd;
  size_t offset = 0;  // where it starts in the source text (for errors about references)
  std::vector<Condition> children;

  // kCompare
  Operand operand;
  CompareOp op = CompareOp::kEqual;
  std::vector<Value> values;
  int64_t duration_ms = 0;  // kInLast

  // kPerformed, kFunnel
  std::vector<EventMatch> events;
  CountOp count_op = CountOp::kAtLeast;
  uint64_t count = 1;
  int64_t lookback_ms = 0;
  int64_t span_ms = 0;

  // kMember
  std::string name;

  bool operator==(const Condition& other) const;
};

struct EventMatch {
  std::string event;
  std::vector<Condition> filter;  // empty or exactly one condition over property operands

  bool operator==(const EventMatch&) const = default;
};

inline bool Condition::operator==(const Condition& other) const {
  // `offset` is where the text said it, not what it means.
  return kind == other.kind && children == other.children && operand == other.operand &&
         op == other.op && values == other.values && duration_ms == other.duration_ms &&
         events == other.events && count_op == other.count_op && count == other.count &&
         lookback_ms == other.lookback_ms && span_ms == other.span_ms && name == other.name;
}

// Whether `condition` or anything inside it is a kCompare with this op.
inline bool uses_op(const Condition& condition, CompareOp op) {
  if (condition.kind == Condition::Kind::kCompare && condition.op == op) return true;
  for (const auto& child : condition.children) {
    if (uses_op(child, op)) return true;
  }
  return false;
}

}  // namespace cdp::audience
