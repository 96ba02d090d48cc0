#include "identity/resolver.h"

#include <algorithm>
#include <map>
#include <set>

namespace cdp::identity {

std::string_view drop_reason_name(DropReason reason) {
  switch (reason) {
    case DropReason::kInvalid: return "invalid";
    case DropReason::kBlocked: return "blocked";
    case DropReason::kQuarantined: return "quarantined";
    case DropReason::kLimit: return "limit";
    case DropReason::kMaxIdentifiers: return "max_identifiers";
    case DropReason::kMaxMerges: return "max_merges";
    case DropReason::kPerEvent: return "per_event";
    case DropReason::kUnmerged: return "unmerged";
  }
  return "unknown";
}

std::optional<Resolver::Violation> Resolver::check(const std::vector<Identifier>& identifiers,
                                                   const std::vector<ProfileId>& matched,
                                                   int64_t event_time_ms,
                                                   IdentityState& state) const {
  const auto& rules = rules_->rules();
  const bool merging = matched.size() > 1;
  // Values per type that count against the limits, and every identifier the result would hold.
  // (Copies: identity_of()'s answer is only valid until its next call.)
  std::map<std::string, std::set<std::string>> counted;
  std::set<std::pair<std::string, std::string>> all;
  size_t merges = merging ? matched.size() - 1 : 0;
  for (const auto profile : matched) {
    const auto& identity = state.identity_of(profile);
    merges += merging ? identity.merges : 0;
    for (const auto& held : identity.identifiers) {
      const auto& id = held.identifier;
      all.emplace(id.type, id.value);
      const auto window = rules_->rule(id.type).window_ms;
      if (window == 0 || held.last_seen_ms >= event_time_ms - window) {
        counted[id.type].insert(id.value);
      }
    }
  }
  std::set<std::string> types_with_new_values;
  for (const auto& id : identifiers) {
    if (all.emplace(id.type, id.value).second) types_with_new_values.insert(id.type);
    counted[id.type].insert(id.value);
  }
  // Only what this event changes is judged: a profile already over a limit (rules tightened
  // later) keeps taking events that bring nothing new.
  for (const auto& [type, values] : counted) {
    const auto limit = rules_->rule(type).limit;
    if (values.size() > limit && (merging || types_with_new_values.count(type) > 0)) {
      return Violation{DropReason::kLimit, std::string(type) + " limit " + std::to_string(limit)};
    }
  }
  if (all.size() > rules.max_identifiers_per_profile &&
      (merging || !types_with_new_values.empty())) {
    return Violation{
        DropReason::kMaxIdentifiers,
        "max " + std::to_string(rules.max_identifiers_per_profile) + " identifiers per profile"};
  }
  if (merges > rules.max_merges_per_profile) {
    return Violation{DropReason::kMaxMerges,
                     "max " + std::to_string(rules.max_merges_per_profile) + " merges per profile"};
  }
  const auto* blocks = state.unmerge_blocks();
  if (blocks != nullptr && !blocks->empty() && (merging || !types_with_new_values.empty())) {
    std::vector<std::string> keys;
    keys.reserve(all.size());
    for (const auto& [type, value] : all) keys.push_back(Identifier{type, value}.key());
    if (auto block = blocks->violated(keys)) {
      return Violation{DropReason::kUnmerged, "split by unmerge " + std::to_string(*block)};
    }
  }
  return std::nullopt;
}

Resolution Resolver::resolve(std::vector<Identifier> identifiers, int64_t event_time_ms,
                             IdentityState& state) const {
  Resolution result;
  std::sort(identifiers.begin(), identifiers.end(),
            [&](const Identifier& a, const Identifier& b) { return rules_->before(a, b); });
  identifiers.erase(std::unique(identifiers.begin(), identifiers.end()), identifiers.end());
  while (identifiers.size() > kMaxIdentifiersPerEvent) {
    result.dropped.push_back(
        {std::move(identifiers.back()), DropReason::kPerEvent,
         "max " + std::to_string(kMaxIdentifiersPerEvent) + " identifiers per event",
         std::nullopt});
    identifiers.pop_back();
  }

  std::vector<Identifier> kept;
  std::vector<std::optional<ProfileId>> holders;
  for (auto& id : identifiers) {
    if (rules_->is_blocked(id.type, id.value)) {
      result.dropped.push_back(
          {std::move(id), DropReason::kBlocked, "blocked value", std::nullopt});
    } else if (state.is_quarantined(id)) {
      auto holder = state.holder(id);
      result.dropped.push_back({std::move(id), DropReason::kQuarantined, "quarantined", holder});
    } else {
      holders.push_back(state.holder(id));
      kept.push_back(std::move(id));
    }
  }

  auto matched_profiles = [&] {
    std::vector<ProfileId> matched;
    for (const auto& holder : holders) {
      if (holder) matched.push_back(*holder);
    }
    std::sort(matched.begin(), matched.end());
    matched.erase(std::unique(matched.begin(), matched.end()), matched.end());
    return matched;
  };

  std::vector<ProfileId> matched = matched_profiles();
  size_t first_limit_drop = result.dropped.size();
  while (!kept.empty()) {
    auto violation = check(kept, matched, event_time_ms, state);
    if (!violation) break;
    result.dropped.push_back(
        {std::move(kept.back()), violation->reason, std::move(violation->rule), holders.back()});
    kept.pop_back();
    holders.pop_back();
    matched = matched_profiles();
  }

  // Offer back what was dropped only for a rule and that no profile held, highest priority first.
  std::vector<size_t> retry;
  for (size_t i = result.dropped.size(); i-- > first_limit_drop;) {
    if (!result.dropped[i].holder) retry.push_back(i);
  }
  std::vector<size_t> restored;
  for (const auto index : retry) {
    kept.push_back(result.dropped[index].identifier);
    if (!check(kept, matched, event_time_ms, state)) {
      holders.push_back(std::nullopt);
      restored.push_back(index);
    } else {
      kept.pop_back();
    }
  }
  std::sort(restored.begin(), restored.end(), std::greater<>());
  for (const auto index : restored)
    result.dropped.erase(result.dropped.begin() + static_cast<long>(index));

  // Restored identifiers were appended; keep the documented order.
  std::vector<size_t> order(kept.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return rules_->before(kept[a], kept[b]); });
  for (const auto i : order) {
    result.identifiers.push_back(kept[i]);
    if (!holders[i]) result.new_identifiers.push_back(kept[i]);
  }

  if (matched.empty()) {
    result.create = !result.identifiers.empty();
    return result;
  }
  result.profile = matched.front();
  result.merged.assign(matched.begin() + 1, matched.end());
  return result;
}

}  // namespace cdp::identity
