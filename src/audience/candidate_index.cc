#include "audience/candidate_index.h"

#include <algorithm>
#include <limits>
#include <mutex>

#include "ingest/json_tree.h"

namespace cdp::audience {
namespace {

using Bitmap = CandidateIndex::Bitmap;

// The text of a stored trait value when it is a JSON string, else nullopt.
std::optional<std::string> string_of(std::string_view json) {
  if (json.size() < 2 || json.front() != '"') return std::nullopt;
  if (json.find('\\') == std::string_view::npos) {
    return std::string(json.substr(1, json.size() - 2));
  }
  thread_local ingest::JsonParser parser;
  // A scalar parses as the element of an array.
  auto root = parser.parse("[" + std::string(json) + "]");
  if (!root || (*root)->elements.size() != 1 || !(*root)->elements[0]->is_string()) {
    return std::nullopt;
  }
  return std::string((*root)->elements[0]->text);
}

// nullopt (everyone) absorbs an intersection's other side and a union.
void intersect(std::optional<Bitmap>& into, std::optional<Bitmap> other) {
  if (!other) return;
  if (!into) {
    into = std::move(other);
  } else {
    *into &= *other;
  }
}

}  // namespace

void CandidateIndex::add_traits(
    uint64_t profile, const std::vector<std::pair<std::string_view, std::string_view>>& traits) {
  std::unique_lock lock(mutex_);
  if (profile > std::numeric_limits<uint32_t>::max()) off_ = true;
  if (off_) return;
  const auto id = static_cast<uint32_t>(profile);
  for (const auto& [name, json] : traits) {
    auto it = traits_.find(name);
    if (it == traits_.end()) {
      if (traits_.size() >= kMaxNames) {
        traits_capped_ = true;
        continue;
      }
      it = traits_.emplace(std::string(name), TraitValues{}).first;
    }
    auto& values = it->second;
    values.has.add(id);
    if (values.overflow) continue;
    const auto text = string_of(json);
    if (!text || text->size() > kMaxText) {
      values.other.add(id);
      continue;
    }
    auto value = values.by_text.find(*text);
    if (value == values.by_text.end()) {
      if (values.by_text.size() == kMaxValues) {
        // Too many distinct values to be worth a bitmap each: `has` answers from now on.
        values.overflow = true;
        values.by_text.clear();
        values.other = Bitmap();
        continue;
      }
      value = values.by_text.emplace(*text, Bitmap()).first;
    }
    value->second.add(id);
  }
}

void CandidateIndex::add_event(uint64_t profile, std::string_view track_event_name) {
  std::unique_lock lock(mutex_);
  if (profile > std::numeric_limits<uint32_t>::max()) off_ = true;
  if (off_) return;
  for (const auto name : {std::string_view(), track_event_name}) {
    auto it = events_.find(name);
    if (it == events_.end()) {
      if (events_.size() >= kMaxNames) {
        events_capped_ = true;
        continue;
      }
      it = events_.emplace(std::string(name), Bitmap()).first;
    }
    it->second.add(static_cast<uint32_t>(profile));
  }
}

void CandidateIndex::add_member(uint64_t profile, std::string_view audience) {
  std::unique_lock lock(mutex_);
  if (profile > std::numeric_limits<uint32_t>::max()) off_ = true;
  if (off_) return;
  auto it = members_.find(audience);
  if (it == members_.end()) it = members_.emplace(std::string(audience), Bitmap()).first;
  it->second.add(static_cast<uint32_t>(profile));
}

void CandidateIndex::merge(uint64_t survivor, uint64_t loser) {
  std::unique_lock lock(mutex_);
  if (std::max(survivor, loser) > std::numeric_limits<uint32_t>::max()) off_ = true;
  if (off_) return;
  for (auto& [name, bitmap] : events_) {
    if (bitmap.contains(static_cast<uint32_t>(loser))) bitmap.add(static_cast<uint32_t>(survivor));
  }
}

std::optional<Bitmap> CandidateIndex::candidates(const Condition& condition) const {
  std::shared_lock lock(mutex_);
  if (off_) return std::nullopt;
  return candidates_locked(condition);
}

std::optional<Bitmap> CandidateIndex::performed(std::string_view event) const {
  std::shared_lock lock(mutex_);
  if (off_) return std::nullopt;
  return event_candidates(event);
}

std::optional<Bitmap> CandidateIndex::having(std::string_view trait) const {
  std::shared_lock lock(mutex_);
  if (off_) return std::nullopt;
  const auto it = traits_.find(trait);
  if (it != traits_.end()) return it->second.has;
  return traits_capped_ ? std::nullopt : std::optional<Bitmap>(Bitmap());
}

std::optional<Bitmap> CandidateIndex::members(std::string_view audience) const {
  std::shared_lock lock(mutex_);
  if (off_) return std::nullopt;
  const auto it = members_.find(audience);
  return it != members_.end() ? it->second : Bitmap();
}

std::optional<Bitmap> CandidateIndex::event_candidates(std::string_view event) const {
  const auto it = events_.find(event);
  if (it != events_.end()) return it->second;
  return events_capped_ ? std::nullopt : std::optional<Bitmap>(Bitmap());
}

std::optional<Bitmap> CandidateIndex::candidates_locked(const Condition& condition) const {
  using Kind = Condition::Kind;
  switch (condition.kind) {
    case Kind::kAnd: {
      std::optional<Bitmap> result;
      for (const auto& child : condition.children) intersect(result, candidates_locked(child));
      return result;
    }
    case Kind::kOr: {
      Bitmap result;
      for (const auto& child : condition.children) {
        auto part = candidates_locked(child);
        if (!part) return std::nullopt;
        result |= *part;
      }
      return result;
    }
    case Kind::kNot: return std::nullopt;
    case Kind::kCompare: return trait_candidates(condition);
    case Kind::kPerformed: {
      // "at most N" and "exactly 0" hold for profiles without the event.
      if (condition.count_op == CountOp::kAtMost || condition.count == 0) return std::nullopt;
      return event_candidates(condition.events[0].event);
    }
    case Kind::kFunnel: {
      std::optional<Bitmap> result;
      for (const auto& step : condition.events) intersect(result, event_candidates(step.event));
      return result;
    }
    case Kind::kMember: {
      const auto it = members_.find(condition.name);
      return it != members_.end() ? it->second : Bitmap();
    }
  }
  return std::nullopt;
}

// Every comparison but `!=` is false for a profile without the trait (evaluator.cc); `=` and
// `in` with strings only hold for that string or for a value that is not a string ("42" = 42).
std::optional<Bitmap> CandidateIndex::trait_candidates(const Condition& condition) const {
  if (condition.operand.scope != Operand::Scope::kTrait || condition.op == CompareOp::kNotEqual) {
    return std::nullopt;
  }
  const auto it = traits_.find(condition.operand.path[0]);
  if (it == traits_.end()) return traits_capped_ ? std::nullopt : std::optional<Bitmap>(Bitmap());
  const auto& values = it->second;
  const bool by_value =
      !values.overflow && condition.operand.path.size() == 1 &&
      (condition.op == CompareOp::kEqual || condition.op == CompareOp::kIn) &&
      std::all_of(condition.values.begin(), condition.values.end(), [](const Value& value) {
        return value.kind == Value::Kind::kString && value.text.size() <= kMaxText;
      });
  if (!by_value) return values.has;
  Bitmap result = values.other;
  for (const auto& value : condition.values) {
    if (const auto match = values.by_text.find(value.text); match != values.by_text.end()) {
      result |= match->second;
    }
  }
  return result;
}

CandidateIndex::Usage CandidateIndex::usage() const {
  std::shared_lock lock(mutex_);
  Usage usage;
  auto count = [&](const Bitmap& bitmap) {
    ++usage.bitmaps;
    usage.bytes += bitmap.getSizeInBytes();
  };
  for (const auto& [name, values] : traits_) {
    count(values.has);
    count(values.other);
    for (const auto& [text, bitmap] : values.by_text) count(bitmap);
  }
  for (const auto& [name, bitmap] : events_) count(bitmap);
  for (const auto& [name, bitmap] : members_) count(bitmap);
  return usage;
}

size_t CandidateIndex::audience_bytes(std::string_view audience) const {
  std::shared_lock lock(mutex_);
  const auto it = members_.find(audience);
  return it != members_.end() ? it->second.getSizeInBytes() : 0;
}

}  // namespace cdp::audience
