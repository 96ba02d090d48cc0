#include "audience/aggregate.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "audience/evaluator.h"

namespace cdp::audience {
namespace {

constexpr std::pair<std::string_view, AggregateKind> kKinds[] = {
    {"count", AggregateKind::kCount},
    {"sum", AggregateKind::kSum},
    {"average", AggregateKind::kAverage},
    {"min", AggregateKind::kMin},
    {"max", AggregateKind::kMax},
    {"most_frequent", AggregateKind::kMostFrequent},
    {"first", AggregateKind::kFirst},
    {"last", AggregateKind::kLast},
    {"unique_list", AggregateKind::kUniqueList},
    {"unique_count", AggregateKind::kUniqueCount}};

bool numeric_kind(AggregateKind kind) {
  return kind == AggregateKind::kSum || kind == AggregateKind::kAverage ||
         kind == AggregateKind::kMin || kind == AggregateKind::kMax;
}

std::optional<double> number_of(const ingest::JsonValue& json) {
  if (json.kind != ingest::JsonKind::kNumber &&
      !(json.kind == ingest::JsonKind::kString && !json.text.empty())) {
    return std::nullopt;
  }
  double n = 0;
  const char* end = json.text.data() + json.text.size();
  auto [ptr, ec] = std::from_chars(json.text.data(), end, n);
  if (ec != std::errc() || ptr != end || !std::isfinite(n)) return std::nullopt;
  return n;
}

// Floor division: bucket starts for times before 1970 too.
// Sums stay finite (a stored inf or nan would not read back): they saturate instead.
double saturated(double sum) {
  constexpr double kMax = std::numeric_limits<double>::max();
  return std::isnan(sum) ? 0 : std::clamp(sum, -kMax, kMax);
}

int64_t floor_to(int64_t time_ms, int64_t step) {
  int64_t q = time_ms / step;
  if (time_ms % step != 0 && time_ms < 0) --q;
  return q * step;
}

Value parse_json_value(const std::string& json) {
  thread_local ingest::JsonParser parser;
  // Stored values are compact JSON of any kind; wrap them so the root is an array.
  auto root = parser.parse("[" + json + "]");
  if (!root || (*root)->elements.empty()) return {};
  return Value::from_json(*(*root)->elements[0]);
}

}  // namespace

std::string_view aggregate_kind_name(AggregateKind kind) {
  return kKinds[static_cast<size_t>(kind)].first;
}

std::optional<AggregateKind> parse_aggregate_kind(std::string_view name) {
  for (const auto& [text, kind] : kKinds) {
    if (text == name) return kind;
  }
  return std::nullopt;
}

Aggregate::Aggregate(AggregateSpec spec) : spec_(std::move(spec)) {
  if (spec_.window_ms > 0) {
    resolution_ms_ = std::max<int64_t>(1000, spec_.window_ms / kBuckets / 1000 * 1000);
  }
}

const ingest::JsonValue* find_path(const ingest::JsonValue* root,
                                   const std::vector<std::string>& path) {
  for (const auto& segment : path) {
    if (root == nullptr || !root->is_object()) return nullptr;
    root = root->find(segment);
  }
  return root;
}

bool Aggregate::matches(std::string_view event, const ingest::JsonValue* properties) const {
  if (!spec_.event.empty() && event != spec_.event) return false;
  return spec_.filter.empty() || matches_properties(spec_.filter[0], properties);
}

int64_t Aggregate::bucket_start(int64_t time_ms) const {
  return spec_.window_ms > 0 ? floor_to(time_ms, resolution_ms_) : 0;
}

bool Aggregate::in_window(int64_t time_ms, int64_t now_ms) const {
  if (spec_.window_ms <= 0) return true;
  return bucket_start(time_ms) + resolution_ms_ + spec_.window_ms > now_ms;
}

bool Aggregate::live(const AggregateBucket& bucket, int64_t now_ms) const {
  return spec_.window_ms <= 0 || bucket.start_ms + resolution_ms_ + spec_.window_ms > now_ms;
}

void Aggregate::add(AggregateState& state, int64_t time_ms, uint64_t seq,
                    const ingest::JsonValue* properties) const {
  const ingest::JsonValue* property = nullptr;
  std::optional<double> number;
  if (spec_.kind != AggregateKind::kCount) {
    property = find_path(properties, spec_.property);
    if (property == nullptr || property->kind == ingest::JsonKind::kNull) return;
    if (numeric_kind(spec_.kind)) {
      number = number_of(*property);
      if (!number) return;
    }
  }
  const int64_t start = bucket_start(time_ms);
  auto it = std::lower_bound(
      state.buckets.begin(), state.buckets.end(), start,
      [](const AggregateBucket& bucket, int64_t key) { return bucket.start_ms < key; });
  if (it == state.buckets.end() || it->start_ms != start) {
    AggregateBucket fresh;
    fresh.start_ms = start;
    it = state.buckets.insert(it, std::move(fresh));
  }
  auto& bucket = *it;
  const bool first_in_bucket =
      bucket.count == 0 && bucket.first_json.empty() && bucket.values.empty();
  switch (spec_.kind) {
    case AggregateKind::kCount: ++bucket.count; return;
    case AggregateKind::kSum:
    case AggregateKind::kAverage:
    case AggregateKind::kMin:
    case AggregateKind::kMax:
      bucket.min = bucket.count == 0 ? *number : std::min(bucket.min, *number);
      bucket.max = bucket.count == 0 ? *number : std::max(bucket.max, *number);
      bucket.sum = saturated(bucket.sum + *number);
      ++bucket.count;
      return;
    case AggregateKind::kFirst:
    case AggregateKind::kLast: {
      std::string json;
      ingest::write_json(json, *property);
      const auto stamp = std::make_pair(time_ms, seq);
      if (first_in_bucket || stamp < std::make_pair(bucket.first_ms, bucket.first_seq)) {
        bucket.first_ms = time_ms;
        bucket.first_seq = seq;
        bucket.first_json = json;
      }
      if (first_in_bucket || stamp > std::make_pair(bucket.last_ms, bucket.last_seq)) {
        bucket.last_ms = time_ms;
        bucket.last_seq = seq;
        bucket.last_json = std::move(json);
      }
      return;
    }
    case AggregateKind::kMostFrequent:
    case AggregateKind::kUniqueList:
    case AggregateKind::kUniqueCount: {
      std::string json;
      ingest::write_json(json, *property);
      ++bucket.values[json];
      cap_values(bucket);
      return;
    }
  }
}

// Unique values are bounded per bucket; keeping the smallest (in JSON text order) makes the
// outcome independent of the order events and merges came in.
void Aggregate::cap_values(AggregateBucket& bucket) const {
  if (spec_.kind == AggregateKind::kMostFrequent) return;
  while (bucket.values.size() > kMaxUnique) bucket.values.erase(std::prev(bucket.values.end()));
}

void Aggregate::merge_bucket(AggregateBucket& into, const AggregateBucket& from) const {
  if (numeric_kind(spec_.kind)) {
    if (from.count > 0) {
      into.min = into.count == 0 ? from.min : std::min(into.min, from.min);
      into.max = into.count == 0 ? from.max : std::max(into.max, from.max);
    }
  }
  into.count += from.count;
  into.sum = saturated(into.sum + from.sum);
  if (!from.first_json.empty()) {
    if (into.first_json.empty() || std::make_pair(from.first_ms, from.first_seq) <
                                       std::make_pair(into.first_ms, into.first_seq)) {
      into.first_ms = from.first_ms;
      into.first_seq = from.first_seq;
      into.first_json = from.first_json;
    }
    if (into.last_json.empty() ||
        std::make_pair(from.last_ms, from.last_seq) > std::make_pair(into.last_ms, into.last_seq)) {
      into.last_ms = from.last_ms;
      into.last_seq = from.last_seq;
      into.last_json = from.last_json;
    }
  }
  for (const auto& [value, n] : from.values) into.values[value] += n;
  cap_values(into);
}

void Aggregate::merge(AggregateState& into, const AggregateState& from) const {
  AggregateBuckets merged;
  merged.reserve(into.buckets.size() + from.buckets.size());
  size_t i = 0;
  size_t j = 0;
  while (i < into.buckets.size() || j < from.buckets.size()) {
    if (j == from.buckets.size() ||
        (i < into.buckets.size() && into.buckets[i].start_ms < from.buckets[j].start_ms)) {
      merged.push_back(std::move(into.buckets[i++]));
    } else if (i == into.buckets.size() || from.buckets[j].start_ms < into.buckets[i].start_ms) {
      merged.push_back(from.buckets[j++]);
    } else {
      merged.push_back(std::move(into.buckets[i++]));
      merge_bucket(merged.back(), from.buckets[j++]);
    }
  }
  into.buckets = std::move(merged);
}

void Aggregate::expire(AggregateState& state, int64_t now_ms) const {
  auto& buckets = state.buckets;
  buckets.erase(
      std::remove_if(buckets.begin(), buckets.end(),
                     [&](const AggregateBucket& bucket) { return !live(bucket, now_ms); }),
      buckets.end());
}

std::optional<int64_t> Aggregate::next_expiry_ms(const AggregateState& state) const {
  if (spec_.window_ms <= 0 || state.buckets.empty()) return std::nullopt;
  return state.buckets.front().start_ms + resolution_ms_ + spec_.window_ms;
}

std::optional<Value> Aggregate::value(const AggregateState& state, int64_t now_ms) const {
  AggregateBucket total;
  bool any = false;
  for (const auto& bucket : state.buckets) {
    if (!live(bucket, now_ms)) continue;
    if (!any) {
      total = bucket;
      any = true;
    } else {
      merge_bucket(total, bucket);
    }
  }
  switch (spec_.kind) {
    case AggregateKind::kCount: return Value::of(static_cast<double>(total.count));
    case AggregateKind::kSum: return Value::of(total.sum);
    case AggregateKind::kAverage:
      if (total.count == 0) return std::nullopt;
      return Value::of(total.sum / static_cast<double>(total.count));
    case AggregateKind::kMin:
      if (total.count == 0) return std::nullopt;
      return Value::of(total.min);
    case AggregateKind::kMax:
      if (total.count == 0) return std::nullopt;
      return Value::of(total.max);
    case AggregateKind::kFirst:
      if (total.first_json.empty()) return std::nullopt;
      return parse_json_value(total.first_json);
    case AggregateKind::kLast:
      if (total.last_json.empty()) return std::nullopt;
      return parse_json_value(total.last_json);
    case AggregateKind::kMostFrequent: {
      const std::string* best = nullptr;
      uint64_t best_count = 0;
      for (const auto& [value, n] : total.values) {
        if (n > best_count) {  // map order: ties keep the smallest
          best = &value;
          best_count = n;
        }
      }
      if (best == nullptr) return std::nullopt;
      return parse_json_value(*best);
    }
    case AggregateKind::kUniqueList: {
      std::vector<Value> elements;
      for (const auto& [value, n] : total.values) {
        if (elements.size() == kMaxUnique) break;
        elements.push_back(parse_json_value(value));
      }
      return Value::array(std::move(elements));
    }
    case AggregateKind::kUniqueCount:
      return Value::of(static_cast<double>(std::min(total.values.size(), kMaxUnique)));
  }
  return std::nullopt;
}

}  // namespace cdp::audience
