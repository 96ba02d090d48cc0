#pragma once

#include <boost/container/small_vector.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "audience/condition.h"
#include "ingest/json_tree.h"

namespace cdp::audience {

// One profile's progress through a funnel: the recent occurrences of each step, and the time of
// the latest completion found (the last step's event time). Two steps of two occurrences each
// are held inline: a profile's state is decoded for almost every event, and this saves the
// allocations (and frees) of most funnels.
using FunnelOccurrences = boost::container::small_vector<std::pair<int64_t, uint64_t>, 2>;
struct FunnelState {
  boost::container::small_vector<FunnelOccurrences, 2> steps;  // (event time, log seq), sorted
  bool completed = false;
  int64_t completed_ms = 0;

  // Moves declared noexcept, as AggregateState's (see there).
  FunnelState() = default;
  FunnelState(const FunnelState&) = default;
  FunnelState(FunnelState&&) noexcept = default;
  FunnelState& operator=(const FunnelState&) = default;
  FunnelState& operator=(FunnelState&&) noexcept = default;

  bool operator==(const FunnelState&) const = default;
};

// Incremental evaluation of a kFunnel condition: "A then B ... within SPAN [in last LOOKBACK]"
// holds when there are events e1 < e2 < ... (ordered by event time, then log position), each
// matching its step, with time(last) - time(first) <= SPAN, and time(last) >= now - LOOKBACK.
//
// State stays small: occurrences older than the latest event time minus SPAN and LOOKBACK can
// no longer start a completion that counts, and are dropped, as are all but the latest
// kMaxOccurrences per step. An event that arrives later than that (by event time) may therefore
// miss a completion it would have made with the dropped ones.
// Immutable after construction; thread-safe.
class Funnel {
 public:
  static constexpr size_t kMaxOccurrences = 64;

  // REQUIRES: funnel.kind == Condition::Kind::kFunnel.
  explicit Funnel(const Condition& funnel);

  // Whether a track event with this name and properties is one of the funnel's steps.
  bool matches(std::string_view event, const ingest::JsonValue* properties) const;
  // Whether some step is an event of this name (whatever its filter).
  bool has_step(std::string_view event) const;
  const std::vector<EventMatch>& steps() const { return steps_; }
  // Whether some step filters on properties (else an event's name and time are enough).
  bool reads_properties() const {
    return std::any_of(steps_.begin(), steps_.end(),
                       [](const EventMatch& step) { return !step.filter.empty(); });
  }
  void add(FunnelState& state, std::string_view event, const ingest::JsonValue* properties,
           int64_t time_ms, uint64_t seq) const;
  void merge(FunnelState& into, const FunnelState& from) const;
  bool completed(const FunnelState& state, int64_t now_ms) const;
  // When a completion leaves the lookback window, or nullopt.
  std::optional<int64_t> next_expiry_ms(const FunnelState& state) const;

 private:
  void update(FunnelState& state) const;

  std::vector<EventMatch> steps_;
  int64_t span_ms_ = 0;
  int64_t lookback_ms_ = 0;
};

}  // namespace cdp::audience
