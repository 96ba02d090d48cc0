#include "audience/engine.h"

#include <algorithm>
#include <limits>

#include "audience/condition_text.h"
#include "audience/evaluator.h"
#include "common/check.h"

namespace cdp::audience {
namespace {

std::optional<Value> trait_value(const TraitSource& traits, const std::vector<std::string>& path) {
  const auto* json = traits.trait_json(path[0]);
  if (json == nullptr) return std::nullopt;
  thread_local ingest::JsonParser parser;
  // Stored trait values are compact JSON of any kind; an array root makes any of them parse.
  auto root = parser.parse("[" + *json + "]");
  if (!root || (*root)->elements.empty()) return std::nullopt;
  const auto* value = (*root)->elements[0];
  if (path.size() > 1) {
    value = find_path(value, std::vector<std::string>(path.begin() + 1, path.end()));
    if (value == nullptr) return std::nullopt;
  }
  return Value::from_json(*value);
}

// Calls found(position, value) for each entry of `state` whose key is at a position of
// `positions`: one walk over both, which are sorted by the same keys.
template <typename T, typename V, typename Found>
void match_positions(const std::vector<std::pair<std::string_view, T>>& positions,
                     const FlatMap<V>& state, Found&& found) {
  size_t i = 0;
  auto it = state.begin();
  while (i < positions.size() && it != state.end()) {
    const int order = positions[i].first.compare(it->first);
    if (order < 0) {
      ++i;
    } else if (order > 0) {
      ++it;
    } else {
      found(i++, *it++);
    }
  }
}

}  // namespace

// The facts of one profile, read from its audience state and traits. The state is laid out by
// the definitions' positions once, so that each lookup after that is an index.
class StateFacts final : public ProfileFacts {
 public:
  StateFacts(const Definitions& definitions, const ProfileAudienceState& state,
             const TraitSource& traits, int64_t now_ms)
      : definitions_(definitions),
        traits_(traits),
        now_ms_(now_ms),
        aggregates_(definitions.aggregate_positions().size()),
        funnels_(definitions.funnel_positions().size()),
        members_(definitions.audiences().size()) {
    match_positions(definitions.aggregate_positions(), state.aggregates,
                    [&](size_t i, const auto& entry) { aggregates_[i] = &entry.second; });
    match_positions(definitions.funnel_positions(), state.funnels,
                    [&](size_t i, const auto& entry) { funnels_[i] = &entry.second; });
    match_positions(definitions.audiences_by_name(), state.audiences, [&](size_t i, const auto&) {
      members_[definitions.audiences_by_name()[i].second] = 1;
    });
  }

  int64_t now_ms() const override { return now_ms_; }
  // A top-level trait is parsed once however many conditions read it.
  std::optional<Value> trait(const std::vector<std::string>& path) const override {
    if (path.size() > 1) return trait_value(traits_, path);
    for (const auto& [name, value] : traits_read_) {
      if (name == path[0]) return value;
    }
    return traits_read_.emplace_back(path[0], trait_value(traits_, path)).second;
  }
  std::optional<Value> computed(const Condition& comparison) const override {
    return aggregate_value(position_of(comparison));
  }
  uint64_t performed_count(const Condition& performed) const override {
    const auto value = aggregate_value(position_of(performed));
    return value ? static_cast<uint64_t>(value->number) : 0;
  }
  bool funnel_completed(const Condition& funnel) const override {
    const auto position = position_of(funnel);
    return funnels_[position] != nullptr &&
           definitions_.funnel_positions()[position].second->completed(*funnels_[position],
                                                                       now_ms_);
  }
  bool member_of(const Condition& member) const override {
    return members_[position_of(member)] != 0;
  }

  // Whether the profile is in the audience at `position` (as evaluation has found so far).
  bool member(size_t position) const { return members_[position] != 0; }
  void set_member(size_t position, bool in) { members_[position] = in ? 1 : 0; }
  const AggregateState* aggregate(size_t position) const { return aggregates_[position]; }
  const FunnelState* funnel(size_t position) const { return funnels_[position]; }

 private:
  std::optional<Value> aggregate_value(size_t position) const {
    static const AggregateState kEmpty;
    const auto* state = aggregates_[position];
    return definitions_.aggregate_positions()[position].second->value(
        state != nullptr ? *state : kEmpty, now_ms_);
  }

  // Every node read is one of the definitions' audiences' (a preview compiles its candidate in).
  size_t position_of(const Condition& node) const {
    const auto position = definitions_.position_of(node);
    CDP_CHECK(position != Definitions::kNoPosition);
    return position;
  }

  const Definitions& definitions_;
  const TraitSource& traits_;
  int64_t now_ms_;
  std::vector<const AggregateState*> aggregates_;
  std::vector<const FunnelState*> funnels_;
  std::vector<char> members_;
  mutable std::vector<std::pair<std::string_view, std::optional<Value>>> traits_read_;
};

std::vector<MembershipChange> Engine::on_event(ProfileAudienceState& state,
                                               const TraitSource& traits, const EventFacts& event,
                                               const std::vector<std::string>& changed_traits,
                                               int64_t now_ms) const {
  const auto& definitions = *definitions_;
  // Time may have changed things before this event (a tick was not applied yet): catch up as
  // on_time() would, or the due check would be lost with the rescheduling below.
  const bool overdue = state.next_check_ms != 0 && state.next_check_ms <= now_ms;
  if (overdue) expire_all(state, now_ms);
  const auto& audiences = definitions.audiences();
  std::vector<bool> dirty(audiences.size(), false);
  if (overdue) {
    for (size_t i = 0; i < audiences.size(); ++i) dirty[i] = audiences[i].uses_time;
  }
  if (event.type == "track") {
    // The state's entries and the definitions' positions are in the same key order: one walk
    // finds (or places) each fed entry.
    auto& aggregates = state.aggregates;
    size_t at = 0;  // the first entry of the state not before the position's key
    const auto& aggregate_positions = definitions.aggregate_positions();
    for (size_t i = 0; i < aggregate_positions.size(); ++i) {
      const auto& [key, aggregate] = aggregate_positions[i];
      while (at < aggregates.size() && std::string_view(aggregates.begin()[at].first) < key) ++at;
      if (!aggregate->matches(event.name, event.properties)) continue;
      const auto it = aggregates.try_emplace(aggregates.begin() + at, key).first;
      aggregate->add(it->second, event.time_ms, event.seq, event.properties);
      aggregate->expire(it->second, now_ms);
      if (it->second.empty()) aggregates.erase(it);
      for (const auto reader : definitions.readers_of_aggregate(i)) dirty[reader] = true;
    }
    auto& funnels = state.funnels;
    at = 0;
    const auto& funnel_positions = definitions.funnel_positions();
    for (size_t i = 0; i < funnel_positions.size(); ++i) {
      const auto& [key, funnel] = funnel_positions[i];
      while (at < funnels.size() && std::string_view(funnels.begin()[at].first) < key) ++at;
      if (!funnel->matches(event.name, event.properties)) continue;
      const auto it = funnels.try_emplace(funnels.begin() + at, key).first;
      funnel->add(it->second, event.name, event.properties, event.time_ms, event.seq);
      for (const auto reader : definitions.readers_of_funnel(i)) dirty[reader] = true;
    }
  }
  for (const auto& trait : changed_traits) {
    for (const auto i : definitions.readers_of_trait(trait)) dirty[i] = true;
  }
  StateFacts facts(definitions, state, traits, now_ms);
  auto changes = evaluate(facts, state, now_ms, std::move(dirty));
  state.next_check_ms = next_check(facts, now_ms);
  return changes;
}

void Engine::merge(ProfileAudienceState& survivor, const ProfileAudienceState& loser) const {
  const auto& definitions = *definitions_;
  for (const auto& [key, from] : loser.aggregates) {
    const auto aggregate = definitions.aggregates().find(std::string_view(key));
    if (aggregate == definitions.aggregates().end()) continue;
    aggregate->second.merge(survivor.aggregates[key], from);
  }
  for (const auto& [key, from] : loser.funnels) {
    const auto funnel = definitions.funnels().find(std::string_view(key));
    if (funnel == definitions.funnels().end()) continue;
    funnel->second.merge(survivor.funnels[key], from);
  }
}

void Engine::expire_all(ProfileAudienceState& state, int64_t now_ms) const {
  const auto& positions = definitions_->aggregate_positions();
  size_t i = 0;
  for (auto it = state.aggregates.begin(); it != state.aggregates.end();) {
    while (i < positions.size() && positions[i].first < std::string_view(it->first)) ++i;
    if (i < positions.size() && positions[i].first == it->first) {
      positions[i].second->expire(it->second, now_ms);
    }
    it = it->second.empty() ? state.aggregates.erase(it) : std::next(it);
  }
}

std::vector<MembershipChange> Engine::evaluate_all(ProfileAudienceState& state,
                                                   const TraitSource& traits,
                                                   int64_t now_ms) const {
  expire_all(state, now_ms);
  StateFacts facts(*definitions_, state, traits, now_ms);
  auto changes =
      evaluate(facts, state, now_ms, std::vector<bool>(definitions_->audiences().size(), true));
  state.next_check_ms = next_check(facts, now_ms);
  return changes;
}

std::vector<MembershipChange> Engine::reevaluate(ProfileAudienceState& state,
                                                 const TraitSource& traits, int64_t now_ms,
                                                 std::vector<bool> dirty) const {
  StateFacts facts(*definitions_, state, traits, now_ms);
  return evaluate(facts, state, now_ms, std::move(dirty));
}

std::vector<MembershipChange> Engine::on_time(ProfileAudienceState& state,
                                              const TraitSource& traits, int64_t now_ms) const {
  expire_all(state, now_ms);
  const auto& audiences = definitions_->audiences();
  std::vector<bool> dirty(audiences.size());
  for (size_t i = 0; i < audiences.size(); ++i) dirty[i] = audiences[i].uses_time;
  StateFacts facts(*definitions_, state, traits, now_ms);
  auto changes = evaluate(facts, state, now_ms, std::move(dirty));
  state.next_check_ms = next_check(facts, now_ms);
  return changes;
}

void Engine::add_history(ProfileAudienceState& state,
                         const std::set<std::string, std::less<>>& keys,
                         const EventFacts& event) const {
  if (event.type != "track") return;
  for (const auto& key : keys) {
    if (const auto aggregate = definitions_->aggregates().find(key);
        aggregate != definitions_->aggregates().end()) {
      if (aggregate->second.matches(event.name, event.properties)) {
        aggregate->second.add(state.aggregates[key], event.time_ms, event.seq, event.properties);
      }
    } else if (const auto funnel = definitions_->funnels().find(key);
               funnel != definitions_->funnels().end()) {
      if (funnel->second.matches(event.name, event.properties)) {
        funnel->second.add(state.funnels[key], event.name, event.properties, event.time_ms,
                           event.seq);
      }
    }
  }
}

void Engine::prune(ProfileAudienceState& state) const {
  const auto& definitions = *definitions_;
  state.aggregates.erase_if([&](const auto& entry) {
    return definitions.aggregates().count(std::string_view(entry.first)) == 0;
  });
  state.funnels.erase_if([&](const auto& entry) {
    return definitions.funnels().count(std::string_view(entry.first)) == 0;
  });
  state.audiences.erase_if(
      [&](const auto& entry) { return definitions.audience(entry.first) == nullptr; });
}

std::vector<MembershipChange> Engine::evaluate(StateFacts& facts, ProfileAudienceState& state,
                                               int64_t now_ms, std::vector<bool> dirty) const {
  std::vector<MembershipChange> changes;
  const auto& audiences = definitions_->audiences();
  std::vector<char> changed(audiences.size(), 0);
  for (size_t i = 0; i < audiences.size(); ++i) {
    const auto& audience = audiences[i];
    if (!dirty[i] &&
        (changes.empty() || std::none_of(audience.inputs.begin(), audience.inputs.end(),
                                         [&](size_t input) { return changed[input] != 0; }))) {
      continue;
    }
    const bool now_in = cdp::audience::evaluate(audience.definition.condition, facts);
    if (now_in == facts.member(i)) continue;
    facts.set_member(i, now_in);
    changed[i] = 1;
    changes.push_back({audience.definition.name, now_in});
  }
  for (const auto& change : changes) {
    if (change.entered) {
      state.audiences.emplace(change.audience, now_ms);
    } else {
      state.audiences.erase(change.audience);
    }
  }
  return changes;
}

template <typename Consider>
void Engine::in_last_times(const Definitions::CompiledAudience& audience, const StateFacts& facts,
                           Consider&& consider) const {
  for (const auto* comparison : audience.in_last) {
    const auto value = comparison->operand.scope == Operand::Scope::kComputed
                           ? facts.computed(*comparison)
                           : facts.trait(comparison->operand.path);
    const auto time = value ? value_time_ms(*value) : std::nullopt;
    if (!time) continue;
    consider(*time);                                // a future date arrives
    consider(*time + comparison->duration_ms + 1);  // a date leaves the window
  }
}

void Engine::expire(ProfileAudienceState& state, const std::set<std::string, std::less<>>& keys,
                    int64_t now_ms) const {
  for (const auto& key : keys) {
    const auto aggregate = definitions_->aggregates().find(key);
    const auto it = state.aggregates.find(key);
    if (aggregate == definitions_->aggregates().end() || it == state.aggregates.end()) continue;
    aggregate->second.expire(it->second, now_ms);
    if (it->second.empty()) state.aggregates.erase(it);
  }
}

int64_t Engine::next_in_last_ms(const ProfileAudienceState& state, const TraitSource& traits,
                                int64_t now_ms, const std::vector<bool>& audiences) const {
  int64_t next = std::numeric_limits<int64_t>::max();
  const auto consider = [&](int64_t at) {
    if (at > now_ms) next = std::min(next, at);
  };
  const StateFacts facts(*definitions_, state, traits, now_ms);
  for (size_t i = 0; i < audiences.size(); ++i) {
    if (audiences[i]) in_last_times(definitions_->audiences()[i], facts, consider);
  }
  return next == std::numeric_limits<int64_t>::max() ? 0 : next;
}

int64_t Engine::next_check_ms(const ProfileAudienceState& state, const TraitSource& traits,
                              int64_t now_ms) const {
  return next_check(StateFacts(*definitions_, state, traits, now_ms), now_ms);
}

int64_t Engine::next_check(const StateFacts& facts, int64_t now_ms) const {
  const auto& definitions = *definitions_;
  int64_t next = std::numeric_limits<int64_t>::max();
  const auto consider = [&](std::optional<int64_t> at) {
    if (at && *at > now_ms) next = std::min(next, *at);
  };
  for (const auto position : definitions.timed_aggregates()) {
    if (const auto* state = facts.aggregate(position)) {
      consider(definitions.aggregate_positions()[position].second->next_expiry_ms(*state));
    }
  }
  for (const auto position : definitions.timed_funnels()) {
    if (const auto* state = facts.funnel(position)) {
      consider(definitions.funnel_positions()[position].second->next_expiry_ms(*state));
    }
  }
  for (const auto& audience : definitions.audiences()) {
    if (!audience.in_last.empty()) in_last_times(audience, facts, consider);
  }
  return next == std::numeric_limits<int64_t>::max() ? 0 : next;
}

std::vector<std::pair<std::string, Value>> Engine::computed_values(
    const ProfileAudienceState& state, int64_t now_ms) const {
  std::vector<std::pair<std::string, Value>> out;
  for (const auto& trait : definitions_->computed_traits()) {
    const auto key = Definitions::trait_key(trait.name);
    const auto& aggregate = definitions_->aggregates().at(key);
    const auto it = state.aggregates.find(key);
    static const AggregateState kEmpty;
    auto value = aggregate.value(it != state.aggregates.end() ? it->second : kEmpty, now_ms);
    if (value) out.emplace_back(trait.name, std::move(*value));
  }
  return out;
}

bool Engine::holds(const Condition& condition, const ProfileAudienceState& state,
                   const TraitSource& traits, int64_t now_ms) const {
  StateFacts facts(*definitions_, state, traits, now_ms);
  return cdp::audience::evaluate(condition, facts);
}

}  // namespace cdp::audience
