#pragma once

// Test helpers shared by the audience tests: events as plain values, and brute-force answers
// computed from the documented rules (docs/audiences.md), independent of the incremental code.

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "audience/aggregate.h"
#include "audience/evaluator.h"
#include "ingest/json_tree.h"

namespace cdp::audience {

// Readable values in test failures.
inline void PrintTo(const Value& value, std::ostream* out) { *out << value.to_json(); }

}  // namespace cdp::audience

namespace cdp::audience::testing {

struct TestEvent {
  std::string name;
  int64_t time_ms = 0;
  uint64_t seq = 0;
  std::string properties;  // a JSON object

  // The parsed properties; valid until the next call on any event (one parser per thread).
  const ingest::JsonValue* parsed() const {
    thread_local ingest::JsonParser parser;
    auto root = parser.parse(properties);
    return root ? *root : nullptr;
  }
};

constexpr int64_t kDay = 86'400'000;

// The window rule as docs/audiences.md states it.
inline bool counts_at(int64_t window_ms, int64_t time_ms, int64_t now_ms) {
  if (window_ms <= 0) return true;
  const int64_t resolution = std::max<int64_t>(1000, window_ms / 1024 / 1000 * 1000);
  int64_t start = time_ms / resolution * resolution;
  if (time_ms < 0 && time_ms % resolution != 0) start -= resolution;
  return start + resolution + window_ms > now_ms;
}

// The computed value by brute force over every event.
inline std::optional<Value> brute_force_value(const AggregateSpec& spec,
                                              const std::vector<TestEvent>& events,
                                              int64_t now_ms) {
  uint64_t count = 0;
  double sum = 0;
  std::optional<double> min;
  std::optional<double> max;
  std::optional<std::pair<std::pair<int64_t, uint64_t>, std::string>> first;
  std::optional<std::pair<std::pair<int64_t, uint64_t>, std::string>> last;
  std::map<std::string, uint64_t> values;
  for (const auto& event : events) {
    if (!spec.event.empty() && event.name != spec.event) continue;
    const auto* properties = event.parsed();
    if (!spec.filter.empty() && !matches_properties(spec.filter[0], properties)) continue;
    if (!counts_at(spec.window_ms, event.time_ms, now_ms)) continue;
    if (spec.kind == AggregateKind::kCount) {
      ++count;
      continue;
    }
    const auto* property = find_path(properties, spec.property);
    if (property == nullptr || property->kind == ingest::JsonKind::kNull) continue;
    std::string json;
    ingest::write_json(json, *property);
    const auto value = Value::from_json(*property);
    std::optional<double> number;
    if (value.kind == Value::Kind::kNumber) number = value.number;
    if (value.kind == Value::Kind::kString) {
      if (compare_values(value, Value::of(0.0))) number = std::stod(value.text);
    }
    if (number) {
      ++count;
      sum += *number;
      min = min ? std::min(*min, *number) : *number;
      max = max ? std::max(*max, *number) : *number;
    }
    const auto stamp = std::make_pair(event.time_ms, event.seq);
    if (!first || stamp < first->first) first = {{stamp, json}};
    if (!last || stamp > last->first) last = {{stamp, json}};
    ++values[json];
  }
  auto parse = [](const std::string& json) {
    ingest::JsonParser parser;
    return Value::from_json(*(*parser.parse("[" + json + "]"))->elements[0]);
  };
  switch (spec.kind) {
    case AggregateKind::kCount: return Value::of(static_cast<double>(count));
    case AggregateKind::kSum: return Value::of(sum);
    case AggregateKind::kAverage:
      if (count == 0) return std::nullopt;
      return Value::of(sum / static_cast<double>(count));
    case AggregateKind::kMin:
      if (!min) return std::nullopt;
      return Value::of(*min);
    case AggregateKind::kMax:
      if (!max) return std::nullopt;
      return Value::of(*max);
    case AggregateKind::kFirst:
      if (!first) return std::nullopt;
      return parse(first->second);
    case AggregateKind::kLast:
      if (!last) return std::nullopt;
      return parse(last->second);
    case AggregateKind::kMostFrequent: {
      std::optional<std::string> best;
      uint64_t best_count = 0;
      for (const auto& [json, n] : values) {
        if (n > best_count) {
          best = json;
          best_count = n;
        }
      }
      if (!best) return std::nullopt;
      return parse(*best);
    }
    case AggregateKind::kUniqueList: {
      std::vector<Value> list;
      for (const auto& [json, n] : values) {
        if (list.size() == Aggregate::kMaxUnique) break;
        list.push_back(parse(json));
      }
      return Value::array(std::move(list));
    }
    case AggregateKind::kUniqueCount:
      return Value::of(static_cast<double>(std::min(values.size(), Aggregate::kMaxUnique)));
  }
  return std::nullopt;
}

// Values equal, numbers within a relative 1e-9 (sums in another order round differently).
inline bool close(const std::optional<Value>& a, const std::optional<Value>& b) {
  if (!a || !b) return !a && !b;
  if (a->kind == Value::Kind::kNumber && b->kind == Value::Kind::kNumber) {
    return std::abs(a->number - b->number) <=
           1e-9 * std::max({1.0, std::abs(a->number), std::abs(b->number)});
  }
  return *a == *b;
}

// A random product event: names A/B/C, a price (sometimes a string or missing), a sku.
inline TestEvent random_event(std::mt19937& random, uint64_t seq, int64_t time_ms) {
  static const char* kNames[] = {"A", "B", "C"};
  TestEvent event;
  event.name = kNames[random() % 3];
  event.time_ms = time_ms;
  event.seq = seq;
  event.properties = "{";
  switch (random() % 5) {
    case 0: break;  // no price
    case 1: event.properties += R"("price":")" + std::to_string(random() % 50) + R"(",)"; break;
    default: event.properties += R"("price":)" + std::to_string(random() % 100) + ".5,";
  }
  event.properties += R"("sku":"s)" + std::to_string(random() % 6) + R"("})";
  return event;
}

}  // namespace cdp::audience::testing
