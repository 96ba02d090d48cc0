#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "audience/condition.h"
#include "common/status.h"

namespace cdp::audience {

// Parses the condition language (docs/audiences.md#the-condition-language):
//
//   trait.plan = "pro" and computed.orders >= 3
//   performed "Product Viewed" where property.price > 100 at least 3 times in last 7 days
//   performed "Signed Up" then "Order Completed" within 1 day
//   not in audience "customers"
//
// Keywords are case-insensitive; strings (event names, values) are not. An error names the line
// and column where parsing stopped and what would have been accepted there.
// Not thread-safe (it remembers the last error's position); cheap to construct.
class ConditionParser {
 public:
  static constexpr size_t kMaxDepth = 64;  // nested parentheses and nots
  static constexpr size_t kMaxLength = 64 * 1024;

  Result<Condition> parse(std::string_view text);
  // A where clause on its own ("property.price > 10 and property.currency = \"EUR\""), as a
  // computed trait's filter.
  Result<Condition> parse_filter(std::string_view text);

  // Where the last failed parse() stopped, 1-based; 0 after a success.
  size_t error_line() const { return error_line_; }
  size_t error_column() const { return error_column_; }

 private:
  Result<Condition> run(std::string_view text, bool filter);

  size_t error_line_ = 0;
  size_t error_column_ = 0;
};

// The canonical text of `condition`: parse(to_text(c)) == c. Keywords lower case, durations in
// their largest whole unit, parentheses only where precedence needs them.
std::string to_text(const Condition& condition);

// "7 days", "1 hour", "90 seconds".
std::string duration_text(int64_t ms);
// Parses "7 days" / "1 hour" / "30 minutes" / "2 weeks" / "45 seconds" (the form in JSON).
Result<int64_t> parse_duration(std::string_view text);

}  // namespace cdp::audience
