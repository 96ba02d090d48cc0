#include "audience/value.h"

#include <charconv>
#include <cmath>

#include "common/time_format.h"

namespace cdp::audience {
namespace {

std::optional<double> as_number(const Value& value) {
  if (value.kind == Value::Kind::kNumber) return value.number;
  if (value.kind != Value::Kind::kString || value.text.empty()) return std::nullopt;
  double out = 0;
  const char* end = value.text.data() + value.text.size();
  auto [ptr, ec] = std::from_chars(value.text.data(), end, out);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return out;
}

}  // namespace

Value Value::of(bool b) {
  Value v;
  v.kind = Kind::kBool;
  v.boolean = b;
  return v;
}

Value Value::of(double n) {
  Value v;
  v.kind = Kind::kNumber;
  v.number = n;
  return v;
}

Value Value::of(std::string s) {
  Value v;
  v.kind = Kind::kString;
  v.text = std::move(s);
  return v;
}

Value Value::object() {
  Value v;
  v.kind = Kind::kObject;
  return v;
}

Value Value::array(std::vector<Value> elements) {
  Value v;
  v.kind = Kind::kArray;
  v.elements = std::move(elements);
  return v;
}

Value Value::from_json(const ingest::JsonValue& json) {
  switch (json.kind) {
    case ingest::JsonKind::kNull: return {};
    case ingest::JsonKind::kBool: return of(json.boolean);
    case ingest::JsonKind::kNumber: {
      double n = 0;
      std::from_chars(json.text.data(), json.text.data() + json.text.size(), n);
      return of(n);
    }
    case ingest::JsonKind::kString: return of(std::string(json.text));
    case ingest::JsonKind::kArray: {
      std::vector<Value> elements;
      elements.reserve(json.elements.size());
      for (const auto* element : json.elements) elements.push_back(from_json(*element));
      return array(std::move(elements));
    }
    case ingest::JsonKind::kObject: return object();
  }
  return {};
}

void Value::write(JsonWriter& out) const {
  switch (kind) {
    case Kind::kNull:
    case Kind::kObject:  // objects are never kept as values; null is the honest rendering
      out.null();
      break;
    case Kind::kBool: out.boolean(boolean); break;
    case Kind::kNumber:
      if (std::isfinite(number)) {
        out.raw(format_number(number));
      } else {
        out.null();
      }
      break;
    case Kind::kString: out.string(text); break;
    case Kind::kArray:
      out.begin_array();
      for (const auto& element : elements) element.write(out);
      out.end_array();
      break;
  }
}

std::string Value::to_json() const {
  JsonWriter out;
  write(out);
  return out.take();
}

std::string format_number(double n) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, n);
  if (ec != std::errc()) return "0";
  return std::string(buffer, end);
}

std::optional<int> compare_values(const Value& a, const Value& b) {
  if (a.kind == Value::Kind::kString && b.kind == Value::Kind::kString) {
    const int c = a.text.compare(b.text);
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  const auto x = as_number(a);
  const auto y = as_number(b);
  if (!x || !y || (a.kind != Value::Kind::kNumber && b.kind != Value::Kind::kNumber)) {
    return std::nullopt;
  }
  if (std::isnan(*x) || std::isnan(*y)) return std::nullopt;
  return *x < *y ? -1 : (*x > *y ? 1 : 0);
}

bool values_equal(const Value& a, const Value& b) {
  if (a.kind == Value::Kind::kNull || b.kind == Value::Kind::kNull) return a.kind == b.kind;
  if (a.kind == Value::Kind::kBool || b.kind == Value::Kind::kBool) {
    return a.kind == b.kind && a.boolean == b.boolean;
  }
  const auto order = compare_values(a, b);
  return order && *order == 0;
}

std::optional<int64_t> value_time_ms(const Value& value) {
  if (value.kind != Value::Kind::kString) return std::nullopt;
  return parse_iso8601_ms(value.text);
}

}  // namespace cdp::audience
