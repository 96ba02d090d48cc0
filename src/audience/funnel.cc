#include "audience/funnel.h"

#include <algorithm>
#include <limits>

#include "audience/evaluator.h"

namespace cdp::audience {
namespace {

bool step_matches(const EventMatch& step, std::string_view event,
                  const ingest::JsonValue* properties) {
  return step.event == event &&
         (step.filter.empty() || matches_properties(step.filter[0], properties));
}

}  // namespace

Funnel::Funnel(const Condition& funnel)
    : steps_(funnel.events), span_ms_(funnel.span_ms), lookback_ms_(funnel.lookback_ms) {}

bool Funnel::matches(std::string_view event, const ingest::JsonValue* properties) const {
  return std::any_of(steps_.begin(), steps_.end(),
                     [&](const EventMatch& step) { return step_matches(step, event, properties); });
}

bool Funnel::has_step(std::string_view event) const {
  return std::any_of(steps_.begin(), steps_.end(),
                     [&](const EventMatch& step) { return step.event == event; });
}

void Funnel::add(FunnelState& state, std::string_view event, const ingest::JsonValue* properties,
                 int64_t time_ms, uint64_t seq) const {
  state.steps.resize(steps_.size());
  bool added = false;
  for (size_t i = 0; i < steps_.size(); ++i) {
    if (!step_matches(steps_[i], event, properties)) continue;
    auto& times = state.steps[i];
    const auto occurrence = std::make_pair(time_ms, seq);
    auto it = std::lower_bound(times.begin(), times.end(), occurrence);
    if (it != times.end() && *it == occurrence) continue;
    times.insert(it, occurrence);
    added = true;
  }
  if (added) update(state);
}

void Funnel::merge(FunnelState& into, const FunnelState& from) const {
  into.steps.resize(steps_.size());
  for (size_t i = 0; i < from.steps.size() && i < steps_.size(); ++i) {
    auto& times = into.steps[i];
    FunnelOccurrences merged;
    std::set_union(times.begin(), times.end(), from.steps[i].begin(), from.steps[i].end(),
                   std::back_inserter(merged));
    times = std::move(merged);
  }
  if (from.completed && (!into.completed || from.completed_ms > into.completed_ms)) {
    into.completed = true;
    into.completed_ms = from.completed_ms;
  }
  update(into);
}

// Finds the latest completion, then drops what can no longer matter.
void Funnel::update(FunnelState& state) const {
  const auto& last_step = state.steps.back();
  // For each occurrence of the last step, latest first: the latest occurrence of each earlier
  // step before the next one gives the chain with the latest start, the best chance to fit
  // within the span.
  for (auto last = last_step.rbegin(); last != last_step.rend(); ++last) {
    if (state.completed && last->first <= state.completed_ms) break;
    auto bound = *last;
    bool chained = true;
    for (size_t k = steps_.size() - 1; k-- > 0;) {
      const auto& times = state.steps[k];
      auto it = std::lower_bound(times.begin(), times.end(), bound);
      if (it == times.begin()) {
        chained = false;
        break;
      }
      bound = *std::prev(it);
    }
    if (chained && last->first - bound.first <= span_ms_) {
      state.completed = true;
      state.completed_ms = last->first;
      break;
    }
  }

  int64_t latest = std::numeric_limits<int64_t>::min();
  for (const auto& times : state.steps) {
    if (!times.empty()) latest = std::max(latest, times.back().first);
  }
  if (latest == std::numeric_limits<int64_t>::min()) return;
  if (state.completed && lookback_ms_ == 0) {
    // Complete for good: nothing else can change the answer.
    for (auto& times : state.steps) times.clear();
    return;
  }
  const int64_t horizon = latest - span_ms_ - lookback_ms_;
  for (auto& times : state.steps) {
    auto keep = std::lower_bound(times.begin(), times.end(), std::make_pair(horizon, uint64_t{0}));
    if (times.end() - keep > static_cast<std::ptrdiff_t>(kMaxOccurrences)) {
      keep = times.end() - static_cast<std::ptrdiff_t>(kMaxOccurrences);
    }
    times.erase(times.begin(), keep);
  }
}

bool Funnel::completed(const FunnelState& state, int64_t now_ms) const {
  return state.completed && (lookback_ms_ == 0 || state.completed_ms >= now_ms - lookback_ms_);
}

std::optional<int64_t> Funnel::next_expiry_ms(const FunnelState& state) const {
  if (!state.completed || lookback_ms_ == 0) return std::nullopt;
  return state.completed_ms + lookback_ms_ + 1;
}

}  // namespace cdp::audience
