#include "audience/engine.h"

#include <algorithm>
#include <limits>

#include "audience/condition_text.h"
#include "audience/evaluator.h"

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

// The facts of one profile, read from its audience state and traits.
class StateFacts final : public ProfileFacts {
 public:
  StateFacts(const Definitions& definitions, const ProfileAudienceState& state,
             const TraitSource& traits, int64_t now_ms)
      : definitions_(definitions), state_(state), traits_(traits), now_ms_(now_ms) {}

  int64_t now_ms() const override { return now_ms_; }
  std::optional<Value> trait(const std::vector<std::string>& path) const override {
    return trait_value(traits_, path);
  }
  std::optional<Value> computed(const std::string& name) const override {
    return value_of(Definitions::trait_key(name));
  }
  uint64_t performed_count(const Condition& performed) const override {
    const auto* key = key_of(performed);
    if (key == nullptr) return 0;
    const auto value = value_of(*key);
    return value ? static_cast<uint64_t>(value->number) : 0;
  }
  bool funnel_completed(const Condition& funnel) const override {
    const auto* key = key_of(funnel);
    if (key == nullptr) return false;
    const auto definition = definitions_.funnels().find(*key);
    const auto state = state_.funnels.find(*key);
    if (definition == definitions_.funnels().end() || state == state_.funnels.end()) return false;
    return definition->second.completed(state->second, now_ms_);
  }
  bool member_of(const std::string& audience) const override {
    return state_.audiences.count(audience) > 0;
  }

 private:
  // Nodes of saved audiences have their key indexed; a preview's nodes are keyed here.
  const std::string* key_of(const Condition& node) const {
    if (const auto* key = definitions_.key_of(node)) return key;
    auto it = preview_keys_.find(&node);
    if (it != preview_keys_.end()) return &it->second;
    auto key = node.kind == Condition::Kind::kPerformed ? Definitions::counter_key(node)
                                                        : Definitions::funnel_key(node);
    return &preview_keys_.emplace(&node, std::move(key)).first->second;
  }

  std::optional<Value> value_of(const std::string& key) const {
    const auto aggregate = definitions_.aggregates().find(key);
    if (aggregate == definitions_.aggregates().end()) return std::nullopt;
    const auto state = state_.aggregates.find(key);
    static const AggregateState kEmpty;
    return aggregate->second.value(state != state_.aggregates.end() ? state->second : kEmpty,
                                   now_ms_);
  }

  const Definitions& definitions_;
  const ProfileAudienceState& state_;
  const TraitSource& traits_;
  int64_t now_ms_;
  mutable std::unordered_map<const Condition*, std::string> preview_keys_;
};

}  // namespace

std::vector<MembershipChange> Engine::on_event(ProfileAudienceState& state,
                                               const TraitSource& traits, const EventFacts& event,
                                               const std::vector<std::string>& changed_traits,
                                               int64_t now_ms) const {
  const auto& definitions = *definitions_;
  // Time may have changed things before this event (a tick was not applied yet): catch up as
  // on_time() would, or the due check would be lost with the rescheduling below.
  const bool overdue = state.next_check_ms != 0 && state.next_check_ms <= now_ms;
  if (overdue) expire_all(state, now_ms);
  std::vector<std::string_view> fed;  // the keys this event fed
  if (event.type == "track") {
    for (const auto& [key, aggregate] : definitions.aggregates()) {
      if (!aggregate.matches(event.name, event.properties)) continue;
      auto& aggregate_state = state.aggregates[key];
      aggregate.add(aggregate_state, event.time_ms, event.seq, event.properties);
      aggregate.expire(aggregate_state, now_ms);
      if (aggregate_state.empty()) state.aggregates.erase(key);
      fed.push_back(key);
    }
    for (const auto& [key, funnel] : definitions.funnels()) {
      if (!funnel.matches(event.name, event.properties)) continue;
      funnel.add(state.funnels[key], event.name, event.properties, event.time_ms, event.seq);
      fed.push_back(key);
    }
  }
  const auto& audiences = definitions.audiences();
  std::vector<bool> dirty(audiences.size(), false);
  if (overdue) {
    for (size_t i = 0; i < audiences.size(); ++i) dirty[i] = audiences[i].uses_time;
  }
  for (const auto key : fed) {
    for (const auto i : definitions.readers_of_key(key)) dirty[i] = true;
  }
  for (const auto& trait : changed_traits) {
    for (const auto i : definitions.readers_of_trait(trait)) dirty[i] = true;
  }
  auto changes = evaluate(state, traits, now_ms, std::move(dirty));
  state.next_check_ms = next_check_ms(state, traits, now_ms);
  return changes;
}

void Engine::merge(ProfileAudienceState& survivor, const ProfileAudienceState& loser) const {
  const auto& definitions = *definitions_;
  for (const auto& [key, from] : loser.aggregates) {
    const auto aggregate = definitions.aggregates().find(key);
    if (aggregate == definitions.aggregates().end()) continue;
    aggregate->second.merge(survivor.aggregates[key], from);
  }
  for (const auto& [key, from] : loser.funnels) {
    const auto funnel = definitions.funnels().find(key);
    if (funnel == definitions.funnels().end()) continue;
    funnel->second.merge(survivor.funnels[key], from);
  }
}

void Engine::expire_all(ProfileAudienceState& state, int64_t now_ms) const {
  const auto& aggregates = definitions_->aggregates();
  for (auto it = state.aggregates.begin(); it != state.aggregates.end();) {
    const auto aggregate = aggregates.find(it->first);
    if (aggregate != aggregates.end()) aggregate->second.expire(it->second, now_ms);
    it = it->second.empty() ? state.aggregates.erase(it) : std::next(it);
  }
}

std::vector<MembershipChange> Engine::evaluate_all(ProfileAudienceState& state,
                                                   const TraitSource& traits,
                                                   int64_t now_ms) const {
  expire_all(state, now_ms);
  auto changes =
      evaluate(state, traits, now_ms, std::vector<bool>(definitions_->audiences().size(), true));
  state.next_check_ms = next_check_ms(state, traits, now_ms);
  return changes;
}

std::vector<MembershipChange> Engine::on_time(ProfileAudienceState& state,
                                              const TraitSource& traits, int64_t now_ms) const {
  expire_all(state, now_ms);
  const auto& definitions = *definitions_;
  const auto& audiences = definitions.audiences();
  std::vector<bool> dirty(audiences.size());
  for (size_t i = 0; i < audiences.size(); ++i) dirty[i] = audiences[i].uses_time;
  auto changes = evaluate(state, traits, now_ms, std::move(dirty));
  state.next_check_ms = next_check_ms(state, traits, now_ms);
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
  state.aggregates.erase_if(
      [&](const auto& entry) { return definitions.aggregates().count(entry.first) == 0; });
  state.funnels.erase_if(
      [&](const auto& entry) { return definitions.funnels().count(entry.first) == 0; });
  state.audiences.erase_if(
      [&](const auto& entry) { return definitions.audience(entry.first) == nullptr; });
}

std::vector<MembershipChange> Engine::evaluate(ProfileAudienceState& state,
                                               const TraitSource& traits, int64_t now_ms,
                                               std::vector<bool> dirty) const {
  std::vector<MembershipChange> changes;
  const auto& audiences = definitions_->audiences();
  StateFacts facts(*definitions_, state, traits, now_ms);
  std::set<std::string_view> changed;
  for (size_t i = 0; i < audiences.size(); ++i) {
    const auto& audience = audiences[i];
    if (!dirty[i] && !std::any_of(audience.audiences.begin(), audience.audiences.end(),
                                  [&](const std::string& a) { return changed.count(a) > 0; })) {
      continue;
    }
    const auto& name = audience.definition.name;
    const bool now_in = cdp::audience::evaluate(audience.definition.condition, facts);
    const auto it = state.audiences.find(name);
    const bool was_in = it != state.audiences.end();
    if (now_in == was_in) continue;
    if (now_in) {
      state.audiences.emplace(name, now_ms);
    } else {
      state.audiences.erase(it);
    }
    changed.insert(name);
    changes.push_back({name, now_in});
  }
  return changes;
}

template <typename Consider>
void Engine::in_last_times(const Definitions::CompiledAudience& audience,
                           const ProfileAudienceState& state, const TraitSource& traits,
                           int64_t now_ms, Consider&& consider) const {
  if (audience.in_last.empty()) return;
  const StateFacts facts(*definitions_, state, traits, now_ms);
  for (const auto* comparison : audience.in_last) {
    const auto value = comparison->operand.scope == Operand::Scope::kComputed
                           ? facts.computed(comparison->operand.path[0])
                           : trait_value(traits, comparison->operand.path);
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
  for (size_t i = 0; i < audiences.size(); ++i) {
    if (audiences[i]) in_last_times(definitions_->audiences()[i], state, traits, now_ms, consider);
  }
  return next == std::numeric_limits<int64_t>::max() ? 0 : next;
}

int64_t Engine::next_check_ms(const ProfileAudienceState& state, const TraitSource& traits,
                              int64_t now_ms) const {
  const auto& definitions = *definitions_;
  int64_t next = std::numeric_limits<int64_t>::max();
  const auto consider = [&](std::optional<int64_t> at) {
    if (at && *at > now_ms) next = std::min(next, *at);
  };
  for (const auto& key : definitions.timed_keys()) {
    if (const auto it = state.aggregates.find(key); it != state.aggregates.end()) {
      consider(definitions.aggregates().at(key).next_expiry_ms(it->second));
    } else if (const auto funnel = state.funnels.find(key); funnel != state.funnels.end()) {
      consider(definitions.funnels().at(key).next_expiry_ms(funnel->second));
    }
  }
  for (const auto& audience : definitions.audiences()) {
    in_last_times(audience, state, traits, now_ms, consider);
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
