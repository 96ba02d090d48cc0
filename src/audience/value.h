#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_writer.h"
#include "ingest/json_tree.h"

namespace cdp::audience {

// A JSON-like value that conditions compare: a literal in a condition, a trait, a property, a
// computed trait's result. Objects keep only their kind (a condition can ask whether one exists,
// never compare it).
struct Value {
  enum class Kind : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string text;             // kString
  std::vector<Value> elements;  // kArray

  static Value of(bool b);
  static Value of(double n);
  static Value of(std::string s);
  static Value object();
  static Value array(std::vector<Value> elements);
  static Value from_json(const ingest::JsonValue& json);

  bool is_null() const { return kind == Kind::kNull; }
  void write(JsonWriter& out) const;
  std::string to_json() const;

  bool operator==(const Value&) const = default;
};

// Shortest text that reads back as the same double ("19.99", "3", "1e+21").
std::string format_number(double n);

// The order of `a` and `b` (<0, 0, >0) when they compare: two numbers, two strings (byte
// order, which is time order for ISO 8601 timestamps in one zone), or a number and a string
// that is a number ("42"). nullopt otherwise.
std::optional<int> compare_values(const Value& a, const Value& b);

// Equality as conditions see it: compare_values() == 0, or the same boolean, or both null.
bool values_equal(const Value& a, const Value& b);

// A value read as a point in time: an ISO 8601 string ("2024-05-01", "2024-05-01T12:00:00Z").
std::optional<int64_t> value_time_ms(const Value& value);

}  // namespace cdp::audience
