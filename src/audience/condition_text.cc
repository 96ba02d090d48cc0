#include "audience/condition_text.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <span>

#include "common/json_writer.h"

namespace cdp::audience {
namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kWeek = 7 * kDay;
constexpr int64_t kMaxDurationMs = 100 * 366 * kDay;

struct Unit {
  std::string_view singular;
  std::string_view plural;
  int64_t ms;
};
constexpr Unit kUnits[] = {{"week", "weeks", kWeek},
                           {"day", "days", kDay},
                           {"hour", "hours", kHour},
                           {"minute", "minutes", kMinute},
                           {"second", "seconds", kSecond}};

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool is_segment_char(char c) { return is_word_char(c) || c == '$' || c == '-'; }

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (x != b[i]) return false;
  }
  return true;
}

constexpr std::string_view kValueHint = "a string in double quotes, a number, true, false or null";

// Recursive descent over the text, scanning tokens as it goes: what a token may be depends on
// where it is (a path segment after "trait." may be any name, a keyword elsewhere).
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<Condition> run() {
    auto condition = parse_or(false, 0);
    if (!condition) return condition;
    skip_space();
    if (pos_ < text_.size()) {
      return error("expected 'and', 'or' or the end of the condition, found " + found());
    }
    return condition;
  }

  Result<Condition> run_filter() {
    auto filter = parse_filter(0);
    if (!filter) return filter;
    skip_space();
    if (pos_ < text_.size()) {
      return error("expected 'and' and a property condition, or the end, found " + found());
    }
    if (uses_op(*filter, CompareOp::kInLast)) {
      pos_ = 0;
      return error(
          "'in last' compares with the current time, so a filter cannot use it; use "
          "the computed trait's window");
    }
    return filter;
  }

  size_t error_offset() const { return error_offset_; }

 private:
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  std::string_view peek_word() {
    skip_space();
    size_t end = pos_;
    while (end < text_.size() && is_word_char(text_[end])) ++end;
    return text_.substr(pos_, end - pos_);
  }

  bool peek_keyword(std::string_view keyword) { return equals_ignoring_case(peek_word(), keyword); }

  // The keyword after the next one (for the one place that needs two words of lookahead).
  bool peek_second_keyword(std::string_view first, std::string_view second) {
    if (!peek_keyword(first)) return false;
    const size_t saved = pos_;
    pos_ += first.size();
    const bool match = peek_keyword(second);
    pos_ = saved;
    return match;
  }

  bool accept_keyword(std::string_view keyword) {
    if (!peek_keyword(keyword)) return false;
    pos_ += keyword.size();
    return true;
  }

  bool accept_symbol(std::string_view symbol) {
    skip_space();
    if (text_.substr(pos_, symbol.size()) != symbol) return false;
    pos_ += symbol.size();
    return true;
  }

  Status expect_keyword(std::string_view keyword, std::string_view context) {
    if (accept_keyword(keyword)) return Status::ok();
    return error("expected '" + std::string(keyword) + "' " + std::string(context) + ", found " +
                 found());
  }

  Status error(std::string message) {
    skip_space();
    error_offset_ = pos_;
    return Status::invalid_argument(std::move(message));
  }

  std::string found() {
    skip_space();
    if (pos_ >= text_.size()) return "the end of the condition";
    auto word = peek_word();
    if (!word.empty()) return "'" + to_valid_utf8(word) + "'";
    if (text_[pos_] == '"') return "a string";
    return "'" + to_valid_utf8(text_.substr(pos_, 1)) + "'";
  }

  Result<Condition> parse_or(bool filter, size_t depth) {
    auto first = parse_and(filter, depth);
    if (!first || !peek_keyword("or")) return first;
    Condition node;
    node.kind = Condition::Kind::kOr;
    node.offset = first->offset;
    node.children.push_back(std::move(*first));
    while (accept_keyword("or")) {
      auto next = parse_and(filter, depth);
      if (!next) return next;
      node.children.push_back(std::move(*next));
    }
    return node;
  }

  Result<Condition> parse_and(bool filter, size_t depth) {
    auto first = parse_unary(filter, depth);
    if (!first || !peek_keyword("and")) return first;
    Condition node;
    node.kind = Condition::Kind::kAnd;
    node.offset = first->offset;
    node.children.push_back(std::move(*first));
    while (accept_keyword("and")) {
      auto next = parse_unary(filter, depth);
      if (!next) return next;
      node.children.push_back(std::move(*next));
    }
    return node;
  }

  Result<Condition> parse_unary(bool filter, size_t depth) {
    if (depth >= ConditionParser::kMaxDepth) {
      return error("the condition nests deeper than " + std::to_string(ConditionParser::kMaxDepth) +
                   " levels; simplify it");
    }
    skip_space();
    const size_t start = pos_;
    if (accept_keyword("not")) {
      auto inner = parse_unary(filter, depth + 1);
      if (!inner) return inner;
      Condition node;
      node.kind = Condition::Kind::kNot;
      node.offset = start;
      node.children.push_back(std::move(*inner));
      return node;
    }
    return parse_primary(filter, depth);
  }

  Result<Condition> parse_primary(bool filter, size_t depth) {
    skip_space();
    const size_t start = pos_;
    if (accept_symbol("(")) {
      auto inner = parse_or(filter, depth + 1);
      if (!inner) return inner;
      if (!accept_symbol(")")) return error("expected ')' to close the '(', found " + found());
      return inner;
    }
    if (filter) {
      if (peek_keyword("property")) return parse_comparison();
      return error("expected a condition on the event's properties (property.NAME ...), found " +
                   found());
    }
    if (peek_keyword("trait") || peek_keyword("computed")) return parse_comparison();
    if (peek_keyword("property")) {
      return error(
          "property.NAME can only be used in the where clause of 'performed': it is a property "
          "of an event, not of the profile");
    }
    if (peek_keyword("performed")) return parse_performed(depth);
    if (accept_keyword("in")) {
      CDP_RETURN_IF_ERROR(expect_keyword("audience", "after 'in' (in audience \"NAME\")"));
      auto name = parse_string("the audience's name in double quotes");
      if (!name) return name.status();
      Condition node;
      node.kind = Condition::Kind::kMember;
      node.offset = start;
      node.name = std::move(*name);
      return node;
    }
    return error(
        "expected a condition: trait.NAME, computed.NAME, performed \"EVENT\", in audience "
        "\"NAME\", not, or '(', found " +
        found());
  }

  // An operand and what it is compared with; parse_primary() has checked the operand's keyword.
  Result<Condition> parse_comparison() {
    skip_space();
    Condition node;
    node.kind = Condition::Kind::kCompare;
    node.offset = pos_;
    const auto keyword = peek_word();
    if (accept_keyword("trait")) {
      node.operand.scope = Operand::Scope::kTrait;
    } else if (accept_keyword("computed")) {
      node.operand.scope = Operand::Scope::kComputed;
    } else {
      CDP_RETURN_IF_ERROR(expect_keyword("property", "in a where clause"));
      node.operand.scope = Operand::Scope::kProperty;
    }
    do {
      if (pos_ >= text_.size() || text_[pos_] != '.') {
        return error("expected '.' and a name after '" + std::string(keyword) + "' (for example " +
                     std::string(keyword) + ".plan), found " + found());
      }
      ++pos_;
      auto segment = parse_segment();
      if (!segment) return segment.status();
      node.operand.path.push_back(std::move(*segment));
    } while (pos_ < text_.size() && text_[pos_] == '.');
    if (node.operand.scope == Operand::Scope::kComputed && node.operand.path.size() != 1) {
      return error("a computed trait is named by one name (computed.NAME), not a path");
    }

    static constexpr std::pair<std::string_view, CompareOp> kSymbols[] = {
        {"!=", CompareOp::kNotEqual},     {"<=", CompareOp::kLessEqual},
        {">=", CompareOp::kGreaterEqual}, {"=", CompareOp::kEqual},
        {"<", CompareOp::kLess},          {">", CompareOp::kGreater}};
    for (const auto& [symbol, op] : kSymbols) {
      if (accept_symbol(symbol)) {
        node.op = op;
        auto value = parse_literal("after '" + std::string(symbol) + "'");
        if (!value) return value.status();
        node.values.push_back(std::move(*value));
        return node;
      }
    }
    if (accept_keyword("exists")) {
      node.op = CompareOp::kExists;
      return node;
    }
    if (accept_keyword("contains")) {
      node.op = CompareOp::kContains;
      auto value = parse_literal("after 'contains'");
      if (!value) return value.status();
      node.values.push_back(std::move(*value));
      return node;
    }
    if (accept_keyword("between")) {
      node.op = CompareOp::kBetween;
      auto low = parse_literal("after 'between'");
      if (!low) return low.status();
      CDP_RETURN_IF_ERROR(expect_keyword("and", "between the two bounds (between 1 and 5)"));
      auto high = parse_literal("after 'and'");
      if (!high) return high.status();
      node.values.push_back(std::move(*low));
      node.values.push_back(std::move(*high));
      return node;
    }
    if (accept_keyword("in")) {
      if (accept_keyword("last")) {
        node.op = CompareOp::kInLast;
        auto duration = parse_duration_here();
        if (!duration) return duration.status();
        node.duration_ms = *duration;
        return node;
      }
      if (!accept_symbol("(")) {
        return error(
            "expected '(' and a list of values, or 'last' and a duration, after 'in', "
            "found " +
            found());
      }
      node.op = CompareOp::kIn;
      do {
        auto value = parse_literal("in the list");
        if (!value) return value.status();
        node.values.push_back(std::move(*value));
      } while (accept_symbol(","));
      if (!accept_symbol(")")) return error("expected ',' or ')' in the list, found " + found());
      return node;
    }
    return error(
        "expected a comparison after the name: =, !=, <, <=, >, >=, exists, contains, between, "
        "in (...) or in last DURATION, found " +
        found());
  }

  Result<std::string> parse_segment() {
    if (pos_ < text_.size() && text_[pos_] == '"') return parse_string("a name");
    const size_t start = pos_;
    while (pos_ < text_.size() && is_segment_char(text_[pos_])) ++pos_;
    if (pos_ == start) {
      return error(
          "expected a name after '.' (letters, digits, _ - $, or a string in double "
          "quotes), found " +
          found());
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  Result<Condition> parse_performed(size_t depth) {
    skip_space();
    Condition node;
    node.kind = Condition::Kind::kPerformed;
    node.offset = pos_;
    accept_keyword("performed");
    auto first = parse_event_match(depth);
    if (!first) return first.status();
    node.events.push_back(std::move(*first));
    if (peek_keyword("then")) {
      node.kind = Condition::Kind::kFunnel;
      while (accept_keyword("then")) {
        auto step = parse_event_match(depth);
        if (!step) return step.status();
        node.events.push_back(std::move(*step));
      }
      CDP_RETURN_IF_ERROR(expect_keyword(
          "within", "after the funnel's steps (... within 1 day: how long from first to last)"));
      auto span = parse_duration_here();
      if (!span) return span.status();
      node.span_ms = *span;
    } else if (accept_keyword("at")) {
      if (accept_keyword("least")) {
        node.count_op = CountOp::kAtLeast;
      } else if (accept_keyword("most")) {
        node.count_op = CountOp::kAtMost;
      } else {
        return error("expected 'least' or 'most' after 'at', found " + found());
      }
      CDP_RETURN_IF_ERROR(parse_times(node));
    } else if (accept_keyword("exactly")) {
      node.count_op = CountOp::kExactly;
      CDP_RETURN_IF_ERROR(parse_times(node));
    }
    if (peek_second_keyword("in", "last")) {
      accept_keyword("in");
      accept_keyword("last");
      auto lookback = parse_duration_here();
      if (!lookback) return lookback.status();
      node.lookback_ms = *lookback;
    }
    return node;
  }

  Status parse_times(Condition& node) {
    auto n = parse_integer("a number of times");
    if (!n) return n.status();
    node.count = *n;
    if (accept_keyword("times") || accept_keyword("time")) return Status::ok();
    return error("expected 'times' after the number, found " + found());
  }

  Result<EventMatch> parse_event_match(size_t depth) {
    EventMatch match;
    auto name = parse_string("the event's name in double quotes");
    if (!name) return name.status();
    match.event = std::move(*name);
    if (accept_keyword("where")) {
      skip_space();
      const size_t start = pos_;
      auto filter = parse_filter(depth);
      if (!filter) return filter.status();
      if (uses_op(*filter, CompareOp::kInLast)) {
        pos_ = start;
        return error(
            "'in last' compares with the current time, so a where clause cannot use "
            "it; put the window on the event: performed \"E\" in last 7 days");
      }
      match.filter.push_back(std::move(*filter));
    }
    return match;
  }

  // Comparisons of properties joined by 'and' as long as the next one is a property; anything
  // else (or, not, trait conditions in the filter) needs parentheses, so that
  // `performed "A" where property.x = 1 and trait.y = 2` means what it reads as.
  Result<Condition> parse_filter(size_t depth) {
    auto first = parse_unary(true, depth + 1);
    if (!first || !peek_second_keyword("and", "property")) return first;
    Condition node;
    node.kind = Condition::Kind::kAnd;
    node.offset = first->offset;
    node.children.push_back(std::move(*first));
    while (peek_second_keyword("and", "property")) {
      accept_keyword("and");
      auto next = parse_unary(true, depth + 1);
      if (!next) return next;
      node.children.push_back(std::move(*next));
    }
    return node;
  }

  Result<std::string> parse_string(std::string_view what) {
    skip_space();
    if (pos_ >= text_.size() || text_[pos_] != '"') {
      return error("expected " + std::string(what) + ", found " + found());
    }
    const size_t start = pos_;
    std::string out;
    ++pos_;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_];
      if (static_cast<unsigned char>(c) < 0x20) {
        return error("a string cannot hold a line break or control character; write \\n");
      }
      if (c != '\\') {
        out.push_back(c);
        ++pos_;
        continue;
      }
      if (pos_ + 1 >= text_.size()) break;
      const char escaped = text_[pos_ + 1];
      pos_ += 2;
      switch (escaped) {
        case '"':
        case '\\':
        case '/': out.push_back(escaped); break;
        case 'n': out.push_back('\n'); break;
        case 't': out.push_back('\t'); break;
        case 'r': out.push_back('\r'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'u': {
          auto code = parse_unicode_escape();
          if (!code) return code.status();
          append_utf8(out, *code);
          break;
        }
        default:
          pos_ -= 2;
          return error("unknown escape '\\" + to_valid_utf8(std::string(1, escaped)) +
                       "' in a string (use \\\" \\\\ \\n \\t or \\uXXXX)");
      }
    }
    if (pos_ >= text_.size()) {
      pos_ = start;
      return error("this string has no closing '\"'");
    }
    ++pos_;
    if (to_valid_utf8(out) != out) {
      pos_ = start;
      return error("this string is not valid UTF-8");
    }
    return out;
  }

  Result<uint32_t> parse_hex4() {
    if (pos_ + 4 > text_.size()) return error("expected four hex digits after \\u");
    uint32_t code = 0;
    auto [end, ec] = std::from_chars(text_.data() + pos_, text_.data() + pos_ + 4, code, 16);
    if (ec != std::errc() || end != text_.data() + pos_ + 4) {
      return error("expected four hex digits after \\u");
    }
    pos_ += 4;
    return code;
  }

  Result<uint32_t> parse_unicode_escape() {
    auto high = parse_hex4();
    if (!high) return high;
    if (*high < 0xD800 || *high > 0xDFFF) return high;
    if (*high > 0xDBFF || text_.substr(pos_, 2) != "\\u") {
      return error("a \\u escape holds half of a surrogate pair");
    }
    pos_ += 2;
    auto low = parse_hex4();
    if (!low) return low;
    if (*low < 0xDC00 || *low > 0xDFFF) return error("a \\u escape holds half of a surrogate pair");
    return 0x10000 + ((*high - 0xD800) << 10) + (*low - 0xDC00);
  }

  static void append_utf8(std::string& out, uint32_t code) {
    if (code < 0x80) {
      out.push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (code >> 6)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else if (code < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (code >> 12)));
      out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (code >> 18)));
      out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
  }

  Result<Value> parse_literal(const std::string& where) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == '"') {
      auto text = parse_string("a string");
      if (!text) return text.status();
      return Value::of(std::move(*text));
    }
    if (accept_keyword("true")) return Value::of(true);
    if (accept_keyword("false")) return Value::of(false);
    if (accept_keyword("null")) return Value{};
    size_t end = pos_;
    auto number_char = [&](size_t i) {
      const char c = text_[i];
      return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' ||
             ((c == '-' || c == '+') && (i == pos_ || text_[i - 1] == 'e' || text_[i - 1] == 'E'));
    };
    while (end < text_.size() && number_char(end)) ++end;
    const auto token = text_.substr(pos_, end - pos_);
    const char* first = token.data() + (token.starts_with('+') ? 1 : 0);
    double number = 0;
    auto [ptr, ec] = std::from_chars(first, token.data() + token.size(), number);
    if (token.empty() || ec != std::errc() || ptr != token.data() + token.size() ||
        !std::isfinite(number) || (end < text_.size() && is_word_char(text_[end]))) {
      return error("expected a value " + where + ": " + std::string(kValueHint) + ", found " +
                   found());
    }
    pos_ = end;
    return Value::of(number);
  }

  Result<uint64_t> parse_integer(std::string_view what) {
    skip_space();
    size_t end = pos_;
    while (end < text_.size() && text_[end] >= '0' && text_[end] <= '9') ++end;
    uint64_t n = 0;
    auto [ptr, ec] = std::from_chars(text_.data() + pos_, text_.data() + end, n);
    if (end == pos_ || ec != std::errc() || (end < text_.size() && is_word_char(text_[end]))) {
      return error("expected " + std::string(what) + " (a whole number), found " + found());
    }
    pos_ = end;
    return n;
  }

  Result<int64_t> parse_duration_here() {
    skip_space();
    const size_t start = pos_;
    auto n = parse_integer("a duration such as 7 days");
    if (!n) return n.status();
    const auto unit = peek_word();
    for (const auto& u : kUnits) {
      if (equals_ignoring_case(unit, u.singular) || equals_ignoring_case(unit, u.plural)) {
        if (*n == 0 || *n > static_cast<uint64_t>(kMaxDurationMs / u.ms)) {
          pos_ = start;
          return error("a duration must be more than zero and at most 100 years");
        }
        pos_ += unit.size();
        return static_cast<int64_t>(*n) * u.ms;
      }
    }
    return error(
        "expected a unit after the number (seconds, minutes, hours, days or weeks), "
        "found " +
        found());
  }

  std::string_view text_;
  size_t pos_ = 0;
  size_t error_offset_ = 0;
};

// --- printing ---

void write_segment(std::string& out, const std::string& segment) {
  bool bare = !segment.empty();
  for (char c : segment) bare = bare && is_segment_char(c);
  if (bare) {
    out += segment;
  } else {
    append_json_string(out, segment);
  }
}

void write_operand(std::string& out, const Operand& operand) {
  out += operand.scope == Operand::Scope::kTrait      ? "trait"
         : operand.scope == Operand::Scope::kComputed ? "computed"
                                                      : "property";
  for (const auto& segment : operand.path) {
    out.push_back('.');
    write_segment(out, segment);
  }
}

void write_value(std::string& out, const Value& value) {
  if (value.kind == Value::Kind::kString) {
    append_json_string(out, value.text);
  } else {
    out += value.to_json();
  }
}

std::string_view op_text(CompareOp op) {
  switch (op) {
    case CompareOp::kEqual: return "=";
    case CompareOp::kNotEqual: return "!=";
    case CompareOp::kLess: return "<";
    case CompareOp::kLessEqual: return "<=";
    case CompareOp::kGreater: return ">";
    case CompareOp::kGreaterEqual: return ">=";
    default: return "";
  }
}

void write(std::string& out, const Condition& c, int parent_precedence);

void write_event(std::string& out, const EventMatch& match) {
  append_json_string(out, match.event);
  if (match.filter.empty()) return;
  out += " where ";
  const auto& filter = match.filter[0];
  const bool plain_and =
      filter.kind == Condition::Kind::kAnd &&
      std::all_of(filter.children.begin(), filter.children.end(),
                  [](const Condition& child) { return child.kind == Condition::Kind::kCompare; });
  if (filter.kind == Condition::Kind::kCompare || plain_and) {
    write(out, filter, 1);
  } else {
    out.push_back('(');
    write(out, filter, 0);
    out.push_back(')');
  }
}

// Precedence: or 0, and 1, not 2.
void write(std::string& out, const Condition& c, int parent_precedence) {
  switch (c.kind) {
    case Condition::Kind::kAnd:
    case Condition::Kind::kOr: {
      const int precedence = c.kind == Condition::Kind::kOr ? 0 : 1;
      const bool parens = precedence < parent_precedence;
      if (parens) out.push_back('(');
      for (size_t i = 0; i < c.children.size(); ++i) {
        if (i > 0) out += precedence == 0 ? " or " : " and ";
        write(out, c.children[i], precedence + 1);
      }
      if (parens) out.push_back(')');
      return;
    }
    case Condition::Kind::kNot:
      out += "not ";
      write(out, c.children[0], 2);
      return;
    case Condition::Kind::kCompare:
      write_operand(out, c.operand);
      switch (c.op) {
        case CompareOp::kExists: out += " exists"; return;
        case CompareOp::kContains:
          out += " contains ";
          write_value(out, c.values[0]);
          return;
        case CompareOp::kBetween:
          out += " between ";
          write_value(out, c.values[0]);
          out += " and ";
          write_value(out, c.values[1]);
          return;
        case CompareOp::kIn:
          out += " in (";
          for (size_t i = 0; i < c.values.size(); ++i) {
            if (i > 0) out += ", ";
            write_value(out, c.values[i]);
          }
          out.push_back(')');
          return;
        case CompareOp::kInLast: out += " in last " + duration_text(c.duration_ms); return;
        default:
          out.push_back(' ');
          out += op_text(c.op);
          out.push_back(' ');
          write_value(out, c.values[0]);
          return;
      }
    case Condition::Kind::kPerformed:
      out += "performed ";
      write_event(out, c.events[0]);
      if (!(c.count_op == CountOp::kAtLeast && c.count == 1)) {
        out += c.count_op == CountOp::kAtLeast  ? " at least "
               : c.count_op == CountOp::kAtMost ? " at most "
                                                : " exactly ";
        out += std::to_string(c.count);
        out += c.count == 1 ? " time" : " times";
      }
      if (c.lookback_ms > 0) out += " in last " + duration_text(c.lookback_ms);
      return;
    case Condition::Kind::kFunnel:
      out += "performed ";
      for (size_t i = 0; i < c.events.size(); ++i) {
        if (i > 0) out += " then ";
        write_event(out, c.events[i]);
      }
      out += " within " + duration_text(c.span_ms);
      if (c.lookback_ms > 0) out += " in last " + duration_text(c.lookback_ms);
      return;
    case Condition::Kind::kMember:
      out += "in audience ";
      append_json_string(out, c.name);
      return;
  }
}

}  // namespace

Result<Condition> ConditionParser::parse(std::string_view text) { return run(text, false); }

Result<Condition> ConditionParser::parse_filter(std::string_view text) { return run(text, true); }

Result<Condition> ConditionParser::run(std::string_view text, bool filter) {
  error_line_ = 0;
  error_column_ = 0;
  Parser parser(text);
  auto result = text.size() > kMaxLength
                    ? Result<Condition>(Status::invalid_argument(
                          "the condition is longer than " + std::to_string(kMaxLength) + " bytes"))
                : filter ? parser.run_filter()
                         : parser.run();
  if (result) return result;
  // Lines and columns as an editor counts them (columns in characters, not bytes).
  const size_t offset = std::min(parser.error_offset(), text.size());
  error_line_ = 1;
  error_column_ = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++error_line_;
      error_column_ = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++error_column_;
    }
  }
  return Status::invalid_argument("line " + std::to_string(error_line_) + ", column " +
                                  std::to_string(error_column_) + ": " + result.status().message());
}

std::string to_text(const Condition& condition) {
  std::string out;
  write(out, condition, 0);
  return out;
}

std::string duration_text(int64_t ms) {
  // Days rather than weeks: "7 days" and "30 days" are how people write windows.
  for (const auto& unit : std::span(kUnits).subspan(1)) {
    if (ms % unit.ms == 0) {
      const auto n = ms / unit.ms;
      return std::to_string(n) + " " + std::string(n == 1 ? unit.singular : unit.plural);
    }
  }
  return std::to_string(ms) + " ms";
}

Result<int64_t> parse_duration(std::string_view text) {
  ConditionParser parser;
  // A duration is the tail of `trait.x in last D`; reusing the parser keeps one definition.
  auto parsed = parser.parse("trait.x in last " + std::string(text));
  if (!parsed || parsed->kind != Condition::Kind::kCompare) {
    return Status::invalid_argument("'" + to_valid_utf8(text) +
                                    "' is not a duration: write a whole number and a unit "
                                    "(seconds, minutes, hours, days or weeks), e.g. \"7 days\"");
  }
  return parsed->duration_ms;
}

}  // namespace cdp::audience
