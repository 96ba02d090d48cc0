#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audience/aggregate.h"
#include "audience/condition.h"
#include "audience/value.h"
#include "ingest/json_tree.h"

namespace cdp::audience {

// What evaluating a condition reads about one profile. The processor implements it over stored
// state; tests implement it over a plain list of events (the brute-force reference).
class ProfileFacts {
 public:
  virtual ~ProfileFacts() = default;
  // The time the condition is evaluated at (windows end here).
  virtual int64_t now_ms() const = 0;
  // The trait at `path` (path[0] is the trait's name; more names walk into an object), or
  // nullopt when the profile has no such trait.
  virtual std::optional<Value> trait(const std::vector<std::string>& path) const = 0;
  // The computed trait that a kCompare node on a computed trait reads (operand.path[0]).
  virtual std::optional<Value> computed(const Condition& comparison) const = 0;
  // How many events count for the kPerformed condition (its counter_spec()) at now_ms().
  virtual uint64_t performed_count(const Condition& performed) const = 0;
  // Whether the kFunnel condition has completed (within its lookback, if any) at now_ms().
  virtual bool funnel_completed(const Condition& funnel) const = 0;
  // Whether the profile is in the audience that a kMember node names.
  virtual bool member_of(const Condition& member) const = 0;
};

bool evaluate(const Condition& condition, const ProfileFacts& facts);

// Whether an event's properties (nullptr: none) satisfy a where clause.
bool matches_properties(const Condition& filter, const ingest::JsonValue* properties);

// The comparison of a kCompare node against the operand's value (nullopt: absent). `!=` is
// exactly `not =`: a profile without the trait is not equal to any value.
bool compare(const Condition& comparison, const std::optional<Value>& operand, int64_t now_ms);

// The counter that answers a kPerformed condition: count of its event (with its filter) over its
// lookback window.
AggregateSpec counter_spec(const Condition& performed);

}  // namespace cdp::audience
