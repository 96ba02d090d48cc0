#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "match/record_table.h"

namespace cdp::match {

// How similar two values must be for a comparison level to hold.
enum class LevelKind {
  kExact,               // equal normalised values
  kNickname,            // first names in the same nickname group ("bob" / "robert")
  kSwapped,             // the value equals the other record's `other_column` (first name and
                        // surname swapped), Jaro-Winkler >= threshold
  kJaroWinkler,         // Jaro-Winkler similarity >= threshold
  kDamerauLevenshtein,  // Damerau-Levenshtein distance <= threshold
  kLevenshtein,         // Levenshtein distance <= threshold
  kDaysApart,           // dates at most `threshold` days apart
  kRelativeDifference,  // numbers within `threshold` of each other, relative to the larger
  kEmailUser,           // e-mail local parts (before '@') Jaro-Winkler >= threshold
  kLastDigits,          // the last `threshold` digits are equal (phones)
  kPrefix,              // the first `threshold` characters are equal (postcode district)
  kSameTokens,          // the same words in any order ("smith john" / "john smith")
  kTokenOverlap,        // Jaccard similarity of the word sets >= threshold
};

struct Level {
  LevelKind kind = LevelKind::kExact;
  double threshold = 0;

  // A readable name, also the syntax of model and specification files: "exact",
  // "jaro_winkler >= 0.92", "days_apart <= 31", "prefix = 3", ...
  std::string label() const;
};

// The level a label() names; an error lists the level syntax.
Result<Level> parse_level(std::string_view text);

// One comparison of a field between two records: ordered levels, most similar first; the first
// level that holds is the pair's level. Level 0 means a value is missing (no evidence either
// way), levels 1..n are `levels`, and n + 1 is "else" (all of them failed).
struct Comparison {
  std::string name;
  size_t column = 0;
  int other_column = -1;        // the column kSwapped compares against, -1 if none
  bool term_frequency = false;  // the exact level's weight depends on how common the value is
  bool location = false;        // postcode, place or address: see Model
  std::vector<Level> levels;

  size_t level_count() const { return levels.size() + 2; }
  uint8_t else_level() const { return static_cast<uint8_t>(levels.size() + 1); }
  uint8_t evaluate(const RecordTable& table, uint32_t a, uint32_t b) const;
  std::string level_label(size_t level) const;
};

// At most this many comparisons per model (pair patterns are packed 4 bits per comparison)
// and kMaxLevels levels per comparison (with missing and else, at most 14 level numbers).
inline constexpr size_t kMaxComparisons = 16;
inline constexpr size_t kMaxLevels = 12;

// The default comparison for a column of `kind` (levels chosen per kind; see docs/matching.md).
// `table` is used to find the column a first name or surname is swapped with.
Comparison default_comparison(const RecordTable& table, size_t column);

}  // namespace cdp::match
