#pragma once

#include <boost/container/small_vector.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audience/condition.h"
#include "audience/value.h"
#include "ingest/json_tree.h"

namespace cdp::audience {

// What a computed trait computes over a profile's matching events.
enum class AggregateKind : uint8_t {
  kCount,         // number of events
  kSum,           // of a numeric property
  kAverage,       //   "
  kMin,           //   "
  kMax,           //   "
  kMostFrequent,  // the property's most frequent value (ties: the smallest in JSON text order)
  kFirst,         // the property's value on the earliest event (by event time, then log order)
  kLast,          // ... on the latest event
  kUniqueList,    // the distinct values, in JSON text order, at most kMaxUnique
  kUniqueCount,   // how many distinct values (counted up to kMaxUnique)
};

std::string_view aggregate_kind_name(AggregateKind kind);
std::optional<AggregateKind> parse_aggregate_kind(std::string_view name);

// A computed trait's definition, or the counter behind an audience's `performed` condition.
struct AggregateSpec {
  AggregateKind kind = AggregateKind::kCount;
  std::string event;                  // track events of this name; empty: every track event
  std::vector<Condition> filter;      // none, or one condition over the event's properties
  std::vector<std::string> property;  // the aggregated property's path (every kind but kCount)
  int64_t window_ms = 0;              // only events of the last window_ms; 0: all time

  bool operator==(const AggregateSpec&) const = default;
};

// One step of a window: what the matching events whose time falls in [start, start + width)
// contributed. A spec without a window has a single bucket.
struct AggregateBucket {
  int64_t start_ms = 0;
  uint64_t count = 0;  // events (kCount) or numeric values (sum, average, min, max)
  double sum = 0;
  double min = 0;
  double max = 0;
  // kFirst / kLast: the value with its event time and log position.
  int64_t first_ms = 0;
  uint64_t first_seq = 0;
  std::string first_json;
  int64_t last_ms = 0;
  uint64_t last_seq = 0;
  std::string last_json;
  // kMostFrequent, kUniqueList, kUniqueCount: value (compact JSON) -> events.
  std::map<std::string, uint64_t> values;

  bool operator==(const AggregateBucket&) const = default;
};

// A computed trait's state for one profile: buckets in time order. The first is held inline:
// an aggregate without a window has one bucket, and a profile's state is decoded for almost
// every event, so this saves an allocation (and its free) per aggregate.
using AggregateBuckets = boost::container::small_vector<AggregateBucket, 1>;
struct AggregateState {
  AggregateBuckets buckets;

  // Boost does not declare small_vector's move noexcept (moving inline elements could throw
  // for other element types; these do not). Declared here, so that the vectors of entries that
  // hold states move them when they grow, instead of copying.
  AggregateState() = default;
  AggregateState(const AggregateState&) = default;
  AggregateState(AggregateState&&) noexcept = default;
  AggregateState& operator=(const AggregateState&) = default;
  AggregateState& operator=(AggregateState&&) noexcept = default;

  bool empty() const { return buckets.empty(); }
  bool operator==(const AggregateState&) const = default;
};

// Incremental computation of one AggregateSpec.
//
// Windows: an event's time falls in a bucket of width resolution_ms() (the window / 1024, in
// whole seconds, at least one second); the bucket counts while its end is within the window.
// So an event at time t counts until bucket_end(t) + window: on time, or up to one resolution
// (under 0.1% of the window) late. This bounds a profile's state to about 1,024 buckets (up to
// 2,048 for windows under 35 minutes, whose steps round down to whole seconds) however many
// events it has, and lets windows slide without keeping each event. Sums saturate at the
// largest double instead of overflowing.
//
// Every state is mergeable (two profiles merge: their states merge), and the result depends
// only on the set of events added, not their order.
// Immutable after construction; thread-safe.
class Aggregate {
 public:
  static constexpr size_t kMaxUnique = 1000;
  static constexpr int64_t kBuckets = 1024;

  explicit Aggregate(AggregateSpec spec);

  const AggregateSpec& spec() const { return spec_; }
  int64_t resolution_ms() const { return resolution_ms_; }
  // Whether adding an event reads its properties (a filter, or a value to aggregate): else the
  // name and time alone are enough.
  bool reads_properties() const {
    return !spec_.filter.empty() || spec_.kind != AggregateKind::kCount;
  }

  // Whether a track event named `event` with these properties (nullptr: none) counts.
  bool matches(std::string_view event, const ingest::JsonValue* properties) const;

  // Adds one matching event. Events without the aggregated property, or with a non-numeric
  // one for sum/average/min/max, add nothing (kCount counts every matching event).
  void add(AggregateState& state, int64_t time_ms, uint64_t seq,
           const ingest::JsonValue* properties) const;

  // The computed value at `now_ms`: count, sum and unique_count are 0 and unique_list is [] with
  // no events; the others are absent (nullopt).
  std::optional<Value> value(const AggregateState& state, int64_t now_ms) const;

  void merge(AggregateState& into, const AggregateState& from) const;

  // Drops buckets that have left the window by `now_ms`.
  void expire(AggregateState& state, int64_t now_ms) const;

  // When the value next changes without a new event (the oldest bucket leaves the window), or
  // nullopt (no window, or no events).
  std::optional<int64_t> next_expiry_ms(const AggregateState& state) const;

  // Whether an event at `time_ms` still counts at `now_ms`: the documented window rule.
  bool in_window(int64_t time_ms, int64_t now_ms) const;

 private:
  int64_t bucket_start(int64_t time_ms) const;
  bool live(const AggregateBucket& bucket, int64_t now_ms) const;
  void cap_values(AggregateBucket& bucket) const;
  void merge_bucket(AggregateBucket& into, const AggregateBucket& from) const;

  AggregateSpec spec_;
  int64_t resolution_ms_ = 1000;
};

// The value at `path` inside a JSON object (nested objects), or nullptr.
const ingest::JsonValue* find_path(const ingest::JsonValue* root,
                                   const std::vector<std::string>& path);

}  // namespace cdp::audience
