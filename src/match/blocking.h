#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "match/record_table.h"

namespace cdp::match {

// Which pairs of records are candidates: those from different sources only (linking file A
// to file B), within a source only, or both.
enum class LinkMode { kDedupe, kLink, kLinkAndDedupe };

// One part of a blocking key: a column's value, its first `length` characters, or a date's year.
struct BlockingKey {
  enum class Transform { kValue, kPrefix, kYear };
  size_t column = 0;
  Transform transform = Transform::kValue;
  size_t length = 0;

  // "surname", "prefix(first_name, 2)", "year(dob)": also the syntax parse_blocking_key reads.
  std::string label(const RecordTable& table) const;
};

Result<BlockingKey> parse_blocking_key(const RecordTable& table, std::string_view text);

// Records whose keys are all present and equal are compared. A rule with several keys is
// their conjunction: "first_name and surname".
struct BlockingRule {
  std::vector<BlockingKey> keys;
  std::string label(const RecordTable& table) const;
};

using RecordPair = std::pair<uint32_t, uint32_t>;  // first < second

struct CandidatePairs {
  std::vector<RecordPair> pairs;         // each pair once, whichever rules produced it
  std::vector<uint64_t> per_rule;        // pairs each rule added that no earlier rule had
  std::vector<uint64_t> skipped_blocks;  // blocks over the size cap, per rule
  std::vector<uint64_t> skipped_pairs;   // the pairs those blocks would have made
};

// The key of every record under `rule` (a 64-bit hash of its parts); 0 where a part is missing.
std::vector<uint64_t> blocking_keys(const RecordTable& table, const BlockingRule& rule);

struct PairOptions {
  LinkMode mode = LinkMode::kDedupe;
  // Blocks larger than this many records are skipped (and counted): one over-common key would
  // otherwise make pairs quadratic in its size.
  size_t max_block_size = 20'000;
  // A rule that would make more pairs keeps a uniform random sample of about this many (for
  // training, which needs a sample, not every pair).
  uint64_t max_pairs = UINT64_MAX;
  uint64_t seed = 1;
  // Incremental matching: only pairs with at least one record at or after this index (the new
  // records); pairs of two earlier records were compared before.
  uint32_t first_new = 0;
};

// Generates the union of the rules' pairs without duplicates: a pair found by rule k is kept
// only if no rule before k also holds for it.
CandidatePairs generate_pairs(const RecordTable& table, const std::vector<BlockingRule>& rules,
                              const PairOptions& options);

// How many pairs `rule` would make at most (before link mode and other rules remove some):
// the sum of n·(n-1)/2 over its blocks. Cheap: one pass over the keys.
uint64_t pair_bound(const RecordTable& table, const BlockingRule& rule);

// How many pairs `mode` compares among records of which records_per_source[s] come from
// source s: pairs within a source (dedupe), across sources (link), or all.
uint64_t comparable_pairs(const std::vector<uint64_t>& records_per_source, LinkMode mode);

// True when `mode` allows comparing records a and b.
bool pair_allowed(const RecordTable& table, LinkMode mode, uint32_t a, uint32_t b);

}  // namespace cdp::match
