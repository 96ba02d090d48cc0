#include "match/string_distance.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

namespace cdp::match {
namespace {

constexpr size_t kMaxLength = 64;

std::string_view cut(std::string_view s) { return s.substr(0, std::min(s.size(), kMaxLength)); }

}  // namespace

double jaro(std::string_view a, std::string_view b) {
  a = cut(a);
  b = cut(b);
  if (a.empty() && b.empty()) return 1.0;
  if (a.empty() || b.empty()) return 0.0;
  const size_t window = std::max<size_t>(std::max(a.size(), b.size()) / 2, 1) - 1;
  // Bit-parallel matching: where each byte occurs in b, as a 64-bit mask (b has at most 64
  // bytes), so each character of a finds its first unmatched partner in the window with a few
  // mask operations instead of a scan.
  std::array<uint64_t, 256> positions;  // valid only for the bytes marked in `present`
  std::array<uint64_t, 4> present{};
  for (size_t j = 0; j < b.size(); ++j) {
    const auto c = static_cast<unsigned char>(b[j]);
    const uint64_t bit = uint64_t{1} << (c & 63);
    if ((present[c >> 6] & bit) == 0) {
      present[c >> 6] |= bit;
      positions[c] = 0;
    }
    positions[c] |= uint64_t{1} << j;
  }
  uint64_t b_matched = 0;
  uint64_t a_matched = 0;
  size_t matches = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const size_t from = i > window ? i - window : 0;
    const size_t to = std::min(i + window + 1, b.size());
    if (from >= to) continue;
    const uint64_t in_window = (to - from == 64 ? ~uint64_t{0} : ((uint64_t{1} << (to - from)) - 1))
                               << from;
    const auto c = static_cast<unsigned char>(a[i]);
    if ((present[c >> 6] & (uint64_t{1} << (c & 63))) == 0) continue;  // not in b at all
    const uint64_t candidates = positions[c] & in_window & ~b_matched;
    if (candidates == 0) continue;
    b_matched |= candidates & (~candidates + 1);  // the lowest set bit
    a_matched |= uint64_t{1} << i;
    ++matches;
  }
  if (matches == 0) return 0.0;
  // Transpositions: the matched characters of a and b, in order, compared pairwise.
  size_t transpositions = 0;
  uint64_t a_left = a_matched;
  uint64_t b_left = b_matched;
  while (a_left != 0) {
    const int i = std::countr_zero(a_left);
    const int j = std::countr_zero(b_left);
    if (a[static_cast<size_t>(i)] != b[static_cast<size_t>(j)]) ++transpositions;
    a_left &= a_left - 1;
    b_left &= b_left - 1;
  }
  const double m = static_cast<double>(matches);
  return (m / static_cast<double>(a.size()) + m / static_cast<double>(b.size()) +
          (m - static_cast<double>(transpositions) / 2.0) / m) /
         3.0;
}

double jaro_winkler(std::string_view a, std::string_view b) {
  const double similarity = jaro(a, b);
  size_t prefix = 0;
  while (prefix < 4 && prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) {
    ++prefix;
  }
  return similarity + static_cast<double>(prefix) * 0.1 * (1.0 - similarity);
}

int levenshtein(std::string_view a, std::string_view b) {
  a = cut(a);
  b = cut(b);
  if (a.size() < b.size()) std::swap(a, b);
  std::array<uint8_t, kMaxLength + 1> row{};
  for (size_t j = 0; j <= b.size(); ++j) row[j] = static_cast<uint8_t>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    uint8_t diagonal = row[0];
    row[0] = static_cast<uint8_t>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      const uint8_t above = row[j];
      const uint8_t substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min(
          {static_cast<uint8_t>(above + 1), static_cast<uint8_t>(row[j - 1] + 1), substitution});
      diagonal = above;
    }
  }
  return row[b.size()];
}

int damerau_levenshtein(std::string_view a, std::string_view b) {
  a = cut(a);
  b = cut(b);
  // Three rows: the transposition looks two rows back.
  std::array<uint8_t, kMaxLength + 1> before{};
  std::array<uint8_t, kMaxLength + 1> previous{};
  std::array<uint8_t, kMaxLength + 1> current{};
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = static_cast<uint8_t>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = static_cast<uint8_t>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      const int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      int best = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        best = std::min(best, before[j - 2] + 1);
      }
      current[j] = static_cast<uint8_t>(best);
    }
    before = previous;
    previous = current;
  }
  return previous[b.size()];
}

}  // namespace cdp::match
