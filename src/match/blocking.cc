#include "match/blocking.h"

#include <algorithm>
#include <charconv>
#include <random>
#include <string_view>

namespace cdp::match {
namespace {

// FNV-1a, then a final mix; good enough to tell keys apart (a collision only adds a pair).
uint64_t hash_bytes(std::string_view bytes, uint64_t seed) {
  uint64_t hash = seed ^ 0xcbf29ce484222325ULL;
  for (char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  hash ^= hash >> 33;
  hash *= 0xff51afd7ed558ccdULL;
  hash ^= hash >> 33;
  return hash;
}

// n·(n-1)/2 summed over the runs of equal keys in `sorted`, leaving out runs longer than
// `max_block_size`.
template <typename Entry, typename KeyOf>
uint64_t pairs_within_blocks(const std::vector<Entry>& sorted, KeyOf key_of,
                             size_t max_block_size) {
  uint64_t pairs = 0;
  for (size_t begin = 0; begin < sorted.size();) {
    size_t end = begin + 1;
    while (end < sorted.size() && key_of(sorted[end]) == key_of(sorted[begin])) ++end;
    if (end - begin <= max_block_size) pairs += (end - begin) * (end - begin - 1) / 2;
    begin = end;
  }
  return pairs;
}

}  // namespace

std::string BlockingKey::label(const RecordTable& table) const {
  const std::string& name = table.column(column).spec.column;
  switch (transform) {
    case Transform::kValue: return name;
    case Transform::kPrefix: return "prefix(" + name + ", " + std::to_string(length) + ")";
    case Transform::kYear: return "year(" + name + ")";
  }
  return name;
}

std::string BlockingRule::label(const RecordTable& table) const {
  std::string out;
  for (const auto& key : keys) {
    if (!out.empty()) out += " & ";
    out += key.label(table);
  }
  return out;
}

Result<BlockingKey> parse_blocking_key(const RecordTable& table, std::string_view text) {
  auto column_named = [&](std::string_view name) -> int {
    for (size_t i = 0; i < table.column_count(); ++i) {
      if (table.column(i).spec.column == name) return static_cast<int>(i);
    }
    return -1;
  };
  BlockingKey key;
  std::string_view name = text;
  if (text.starts_with("prefix(") && text.ends_with(")")) {
    const std::string_view inside = text.substr(7, text.size() - 8);
    const size_t comma = inside.rfind(',');
    std::string_view length = comma == std::string_view::npos ? "" : inside.substr(comma + 1);
    while (!length.empty() && length.front() == ' ') length.remove_prefix(1);
    size_t value = 0;
    const auto [end, error] = std::from_chars(length.data(), length.data() + length.size(), value);
    if (error != std::errc() || end != length.data() + length.size() || value == 0 || value > 64) {
      return Status::invalid_argument("blocking key \"" + std::string(text) +
                                      "\": write prefix(COLUMN, N) with N from 1 to 64");
    }
    key.transform = BlockingKey::Transform::kPrefix;
    key.length = value;
    name = inside.substr(0, comma);
  } else if (text.starts_with("year(") && text.ends_with(")")) {
    key.transform = BlockingKey::Transform::kYear;
    name = text.substr(5, text.size() - 6);
  }
  const int column = column_named(name);
  if (column < 0) {
    return Status::invalid_argument("blocking key \"" + std::string(text) + "\": no column \"" +
                                    std::string(name) +
                                    "\" is declared (keys are COLUMN, prefix(COLUMN, N) or "
                                    "year(COLUMN))");
  }
  if (key.transform == BlockingKey::Transform::kYear &&
      table.column(static_cast<size_t>(column)).spec.kind != FieldKind::kDate) {
    return Status::invalid_argument("blocking key \"" + std::string(text) +
                                    "\": year() needs a column of kind date");
  }
  key.column = static_cast<size_t>(column);
  return key;
}

std::vector<uint64_t> blocking_keys(const RecordTable& table, const BlockingRule& rule) {
  std::vector<uint64_t> keys(table.size(), 0);
  for (size_t record = 0; record < table.size(); ++record) {
    uint64_t hash = 0x9e3779b97f4a7c15ULL;
    bool present = true;
    for (const auto& key : rule.keys) {
      const auto& column = table.column(key.column);
      std::string_view value = column.value(record);
      switch (key.transform) {
        case BlockingKey::Transform::kValue: break;
        case BlockingKey::Transform::kPrefix:
          value = value.size() >= key.length ? value.substr(0, key.length) : std::string_view();
          break;
        case BlockingKey::Transform::kYear:
          // Dates read as "YYYYMMDD" (also impossible ones such as 19371233: a typo keeps its
          // year); other text, kept for typo levels, has no year.
          value = value.size() == 8 && std::all_of(value.begin(), value.end(),
                                                   [](char c) { return c >= '0' && c <= '9'; })
                      ? value.substr(0, 4)
                      : std::string_view();
          break;
      }
      if (value.empty()) {
        present = false;
        break;
      }
      hash = hash_bytes(value, hash);
    }
    keys[record] = present ? (hash == 0 ? 1 : hash) : 0;
  }
  return keys;
}

uint64_t pair_bound(const RecordTable& table, const BlockingRule& rule) {
  auto keys = blocking_keys(table, rule);
  std::erase(keys, 0);
  std::sort(keys.begin(), keys.end());
  return pairs_within_blocks(
      keys, [](uint64_t key) { return key; }, SIZE_MAX);
}

uint64_t comparable_pairs(const std::vector<uint64_t>& records_per_source, LinkMode mode) {
  uint64_t all = 0;
  uint64_t within = 0;
  for (uint64_t count : records_per_source) {
    all += count;
    within += count * (count - (count > 0 ? 1 : 0)) / 2;
  }
  const uint64_t total = all * (all - (all > 0 ? 1 : 0)) / 2;
  switch (mode) {
    case LinkMode::kDedupe: return within;
    case LinkMode::kLink: return total - within;
    case LinkMode::kLinkAndDedupe: return total;
  }
  return total;
}

bool pair_allowed(const RecordTable& table, LinkMode mode, uint32_t a, uint32_t b) {
  switch (mode) {
    case LinkMode::kDedupe: return table.source(a) == table.source(b);
    case LinkMode::kLink: return table.source(a) != table.source(b);
    case LinkMode::kLinkAndDedupe: return true;
  }
  return true;
}

CandidatePairs generate_pairs(const RecordTable& table, const std::vector<BlockingRule>& rules,
                              const PairOptions& options) {
  const size_t max_block_size = options.max_block_size;
  const uint64_t max_pairs = options.max_pairs;
  CandidatePairs out;
  std::mt19937_64 random(options.seed);
  std::vector<std::vector<uint64_t>> keys;
  keys.reserve(rules.size());
  std::vector<std::pair<uint64_t, uint32_t>> sorted;
  for (size_t rule = 0; rule < rules.size(); ++rule) {
    keys.push_back(blocking_keys(table, rules[rule]));
    auto& rule_keys = keys.back();
    sorted.clear();
    for (uint32_t record = 0; record < table.size(); ++record) {
      if (rule_keys[record] != 0) sorted.emplace_back(rule_keys[record], record);
    }
    std::sort(sorted.begin(), sorted.end());
    // An upper bound of the rule's pairs (before the mode and earlier rules remove some) sets
    // the sampling rate.
    const uint64_t possible = pairs_within_blocks(
        sorted, [](const auto& entry) { return entry.first; }, max_block_size);
    const uint64_t keep_below =
        possible <= max_pairs
            ? UINT64_MAX
            : static_cast<uint64_t>(static_cast<double>(max_pairs) / static_cast<double>(possible) *
                                    static_cast<double>(UINT64_MAX));
    uint64_t added = 0;
    uint64_t skipped_blocks = 0;
    uint64_t skipped_pairs = 0;
    for (size_t begin = 0; begin < sorted.size();) {
      size_t end = begin + 1;
      while (end < sorted.size() && sorted[end].first == sorted[begin].first) ++end;
      const size_t size = end - begin;
      if (size > max_block_size) {
        ++skipped_blocks;
        skipped_pairs += size * (size - 1) / 2;
        // This rule made none of the block's pairs: later rules must not take them as seen.
        for (size_t i = begin; i < end; ++i) rule_keys[sorted[i].second] = 0;
        begin = end;
        continue;
      }
      // Records are in index order within a block, so the new ones come last.
      const size_t first_new = static_cast<size_t>(
          std::partition_point(
              sorted.begin() + static_cast<std::ptrdiff_t>(begin),
              sorted.begin() + static_cast<std::ptrdiff_t>(end),
              [&](const auto& entry) { return entry.second < options.first_new; }) -
          sorted.begin());
      for (size_t i = begin; i < end; ++i) {
        for (size_t j = std::max(i + 1, first_new); j < end; ++j) {
          const uint32_t a = sorted[i].second;
          const uint32_t b = sorted[j].second;
          if (!pair_allowed(table, options.mode, a, b)) continue;
          if (keep_below != UINT64_MAX && random() >= keep_below) continue;
          bool seen = false;
          for (size_t earlier = 0; earlier < rule && !seen; ++earlier) {
            seen = keys[earlier][a] != 0 && keys[earlier][a] == keys[earlier][b];
          }
          if (seen) continue;
          out.pairs.emplace_back(a, b);  // a < b: records sorted by index within a key
          ++added;
        }
      }
      begin = end;
    }
    out.per_rule.push_back(added);
    out.skipped_blocks.push_back(skipped_blocks);
    out.skipped_pairs.push_back(skipped_pairs);
  }
  return out;
}

}  // namespace cdp::match
