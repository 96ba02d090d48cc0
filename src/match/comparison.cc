#include "match/comparison.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string_view>
#include <vector>

#include "match/nicknames.h"
#include "match/string_distance.h"

namespace cdp::match {
namespace {

std::string_view email_user(std::string_view email) {
  return email.substr(0, std::min(email.find('@'), email.size()));
}

std::vector<std::string_view> sorted_tokens(std::string_view text) {
  std::vector<std::string_view> tokens;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) tokens.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  std::sort(tokens.begin(), tokens.end());
  tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
  return tokens;
}

double token_jaccard(std::string_view a, std::string_view b) {
  const auto left = sorted_tokens(a);
  const auto right = sorted_tokens(b);
  size_t common = 0;
  size_t i = 0;
  size_t j = 0;
  while (i < left.size() && j < right.size()) {
    if (left[i] == right[j]) {
      ++common;
      ++i;
      ++j;
    } else if (left[i] < right[j]) {
      ++i;
    } else {
      ++j;
    }
  }
  const size_t all = left.size() + right.size() - common;
  return all == 0 ? 0.0 : static_cast<double>(common) / static_cast<double>(all);
}

std::string digits_of(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c >= '0' && c <= '9') out.push_back(c);
  }
  return out;
}

std::optional<double> number_of(std::string_view text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const std::string copy(text);
  const double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size()) return std::nullopt;
  return value;
}

}  // namespace

namespace {

// How each level kind is written in labels, model files and specifications: its name, and the
// comparison its threshold takes ("" when it has none).
struct LevelSyntax {
  LevelKind kind;
  std::string_view name;
  std::string_view relation;
};

constexpr LevelSyntax kLevelSyntax[] = {
    {LevelKind::kExact, "exact", ""},
    {LevelKind::kNickname, "nickname", ""},
    {LevelKind::kSwapped, "swapped_names", ">="},
    {LevelKind::kJaroWinkler, "jaro_winkler", ">="},
    {LevelKind::kDamerauLevenshtein, "damerau_levenshtein", "<="},
    {LevelKind::kLevenshtein, "levenshtein", "<="},
    {LevelKind::kDaysApart, "days_apart", "<="},
    {LevelKind::kRelativeDifference, "relative_difference", "<="},
    {LevelKind::kEmailUser, "email_user", ">="},
    {LevelKind::kLastDigits, "last_digits", "="},
    {LevelKind::kPrefix, "prefix", "="},
    {LevelKind::kSameTokens, "same_words", ""},
    {LevelKind::kTokenOverlap, "word_overlap", ">="},
};

}  // namespace

std::string Level::label() const {
  for (const auto& syntax : kLevelSyntax) {
    if (syntax.kind != kind) continue;
    std::string out(syntax.name);
    if (syntax.relation.empty()) return out;
    char threshold_text[32];
    const auto written =
        std::to_chars(threshold_text, threshold_text + sizeof(threshold_text), threshold);
    return out + " " + std::string(syntax.relation) + " " +
           std::string(threshold_text, written.ptr);
  }
  return "?";
}

Result<Level> parse_level(std::string_view text) {
  const size_t space = text.find(' ');
  const std::string_view name = text.substr(0, space);
  for (const auto& syntax : kLevelSyntax) {
    if (syntax.name != name) continue;
    if (syntax.relation.empty()) {
      if (space == std::string_view::npos) return Level{syntax.kind, 0};
      break;
    }
    const std::string expected_relation = " " + std::string(syntax.relation) + " ";
    if (space == std::string_view::npos ||
        text.substr(space, expected_relation.size()) != expected_relation) {
      break;
    }
    const std::string number(text.substr(space + expected_relation.size()));
    char* end = nullptr;
    const double threshold = std::strtod(number.c_str(), &end);
    if (number.empty() || end != number.c_str() + number.size() || !(threshold >= 0)) break;
    const bool similarity =
        syntax.kind == LevelKind::kJaroWinkler || syntax.kind == LevelKind::kSwapped ||
        syntax.kind == LevelKind::kEmailUser || syntax.kind == LevelKind::kTokenOverlap ||
        syntax.kind == LevelKind::kRelativeDifference;
    const double most = similarity ? 1.0 : syntax.kind == LevelKind::kDaysApart ? 1e6 : 64;
    if (threshold > most || (!similarity && threshold != std::floor(threshold))) {
      return Status::invalid_argument("comparison level \"" + std::string(text) + "\": " +
                                      (similarity ? "the threshold must be from 0 to 1"
                                                  : "the threshold must be a whole number up to " +
                                                        std::to_string(static_cast<int>(most))));
    }
    return Level{syntax.kind, threshold};
  }
  std::string known;
  for (const auto& syntax : kLevelSyntax) {
    if (!known.empty()) known += ", ";
    known += std::string(syntax.name) +
             (syntax.relation.empty() ? "" : " " + std::string(syntax.relation) + " N");
  }
  return Status::invalid_argument("unknown comparison level \"" + std::string(text) +
                                  "\"; levels are: " + known);
}

std::string Comparison::level_label(size_t level) const {
  if (level == 0) return "missing";
  if (level <= levels.size()) return levels[level - 1].label();
  return "else";
}

uint8_t Comparison::evaluate(const RecordTable& table, uint32_t a, uint32_t b) const {
  const auto& values = table.column(column);
  if (values.missing(a) || values.missing(b)) return 0;
  const std::string_view left = values.value(a);
  const std::string_view right = values.value(b);
  std::optional<double> similarity;  // Jaro-Winkler of the whole values, computed once
  auto jaro_winkler_once = [&] {
    if (!similarity) similarity = jaro_winkler(left, right);
    return *similarity;
  };
  for (size_t i = 0; i < levels.size(); ++i) {
    const Level& level = levels[i];
    bool holds = false;
    switch (level.kind) {
      case LevelKind::kExact: holds = left == right; break;
      case LevelKind::kNickname:
        holds = !values.nicknames.empty() &&
                Nicknames::share_group(values.nicknames[a], values.nicknames[b]);
        break;
      case LevelKind::kSwapped:
        if (other_column >= 0) {
          const auto& other = table.column(static_cast<size_t>(other_column));
          holds = !other.missing(a) && !other.missing(b) &&
                  jaro_winkler(left, other.value(b)) >= level.threshold &&
                  jaro_winkler(other.value(a), right) >= level.threshold;
        }
        break;
      case LevelKind::kJaroWinkler: holds = jaro_winkler_once() >= level.threshold; break;
      case LevelKind::kDamerauLevenshtein:
        holds = damerau_levenshtein(left, right) <= level.threshold;
        break;
      case LevelKind::kLevenshtein: holds = levenshtein(left, right) <= level.threshold; break;
      case LevelKind::kDaysApart:
        if (!values.days.empty() && values.days[a] != NormalizedValue::kNoDay &&
            values.days[b] != NormalizedValue::kNoDay) {
          holds = std::abs(static_cast<int64_t>(values.days[a]) - values.days[b]) <=
                  static_cast<int64_t>(level.threshold);
        }
        break;
      case LevelKind::kRelativeDifference: {
        const auto x = number_of(left);
        const auto y = number_of(right);
        if (x && y) {
          const double larger = std::max(std::abs(*x), std::abs(*y));
          holds = larger == 0 || std::abs(*x - *y) / larger <= level.threshold;
        }
        break;
      }
      case LevelKind::kEmailUser:
        holds = level.threshold >= 1.0
                    ? email_user(left) == email_user(right)
                    : jaro_winkler(email_user(left), email_user(right)) >= level.threshold;
        break;
      case LevelKind::kLastDigits: {
        const auto n = static_cast<size_t>(level.threshold);
        const std::string x = digits_of(left);
        const std::string y = digits_of(right);
        holds =
            x.size() >= n && y.size() >= n &&
            std::string_view(x).substr(x.size() - n) == std::string_view(y).substr(y.size() - n);
        break;
      }
      case LevelKind::kPrefix: {
        const auto n = static_cast<size_t>(level.threshold);
        holds = left.size() >= n && right.size() >= n && left.substr(0, n) == right.substr(0, n);
        break;
      }
      case LevelKind::kSameTokens: holds = sorted_tokens(left) == sorted_tokens(right); break;
      case LevelKind::kTokenOverlap: holds = token_jaccard(left, right) >= level.threshold; break;
    }
    if (holds) return static_cast<uint8_t>(i + 1);
  }
  return else_level();
}

Comparison default_comparison(const RecordTable& table, size_t column) {
  const FieldSpec& spec = table.column(column).spec;
  Comparison comparison;
  comparison.name = spec.column;
  comparison.column = column;
  comparison.location = is_location(spec.kind);
  using K = LevelKind;
  switch (spec.kind) {
    case FieldKind::kFirstName:
      comparison.other_column = table.find(FieldKind::kSurname);
      comparison.term_frequency = true;
      comparison.levels = {{K::kExact},         {K::kNickname},          {K::kJaroWinkler, 0.92},
                           {K::kSwapped, 0.92}, {K::kJaroWinkler, 0.88}, {K::kJaroWinkler, 0.7}};
      break;
    case FieldKind::kSurname:
      comparison.other_column = table.find(FieldKind::kFirstName);
      comparison.term_frequency = true;
      comparison.levels = {{K::kExact},
                           {K::kJaroWinkler, 0.92},
                           {K::kSwapped, 0.92},
                           {K::kJaroWinkler, 0.88},
                           {K::kJaroWinkler, 0.7}};
      break;
    case FieldKind::kFullName:
      comparison.term_frequency = true;
      comparison.levels = {{K::kExact},
                           {K::kSameTokens},
                           {K::kJaroWinkler, 0.92},
                           {K::kTokenOverlap, 0.5},
                           {K::kJaroWinkler, 0.8}};
      break;
    case FieldKind::kDate:
      comparison.levels = {{K::kExact},
                           {K::kDamerauLevenshtein, 1},
                           {K::kDaysApart, 31},
                           {K::kDaysApart, 366},
                           {K::kDaysApart, 3653}};
      break;
    case FieldKind::kEmail:
      comparison.term_frequency = true;
      comparison.levels = {
          {K::kExact}, {K::kEmailUser, 1.0}, {K::kJaroWinkler, 0.88}, {K::kEmailUser, 0.88}};
      break;
    case FieldKind::kPhone:
      comparison.levels = {{K::kExact}, {K::kLastDigits, 7}, {K::kDamerauLevenshtein, 1}};
      break;
    case FieldKind::kPostcode:
      comparison.term_frequency = true;
      comparison.levels = {{K::kExact}, {K::kDamerauLevenshtein, 1}, {K::kPrefix, 3}};
      break;
    case FieldKind::kPlace:
      comparison.term_frequency = true;
      comparison.levels = {{K::kExact}, {K::kJaroWinkler, 0.92}, {K::kJaroWinkler, 0.8}};
      break;
    case FieldKind::kAddress:
      comparison.term_frequency = true;
      comparison.levels = {{K::kExact}, {K::kJaroWinkler, 0.92}, {K::kTokenOverlap, 0.5}};
      break;
    case FieldKind::kHouseNumber:
      comparison.levels = {{K::kExact}, {K::kDamerauLevenshtein, 1}};
      break;
    case FieldKind::kNumber:
      comparison.levels = {{K::kExact}, {K::kDamerauLevenshtein, 1}, {K::kRelativeDifference, 0.1}};
      break;
    case FieldKind::kIdentifier:
      comparison.levels = {{K::kExact}, {K::kDamerauLevenshtein, 1}};
      break;
    case FieldKind::kCategory:
      comparison.term_frequency = true;
      comparison.levels = {{K::kExact}};
      break;
    case FieldKind::kText:
      comparison.term_frequency = true;
      comparison.levels = {{K::kExact}, {K::kJaroWinkler, 0.9}, {K::kTokenOverlap, 0.5}};
      break;
  }
  return comparison;
}

}  // namespace cdp::match
