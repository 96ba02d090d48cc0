// Fuzz target for the matcher's parsing of field values: every kind's normaliser (dates,
// numbers, phones, e-mail, Unicode text) and every comparison level on two arbitrary values.
// Never crashes; levels stay in range; the string measures are symmetric and bounded, and the
// bit-parallel Jaro equals the textbook one.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "match/comparison.h"
#include "match/record_table.h"
#include "match/string_distance.h"

namespace {

// The textbook Jaro similarity, a scan per character: the oracle for the bit-parallel one.
double reference_jaro(std::string_view a, std::string_view b) {
  a = a.substr(0, std::min<size_t>(a.size(), 64));
  b = b.substr(0, std::min<size_t>(b.size(), 64));
  if (a.empty() && b.empty()) return 1.0;
  if (a.empty() || b.empty()) return 0.0;
  const size_t window = std::max<size_t>(std::max(a.size(), b.size()) / 2, 1) - 1;
  std::vector<bool> a_matched(a.size()), b_matched(b.size());
  double matches = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    for (size_t j = i > window ? i - window : 0; j < std::min(i + window + 1, b.size()); ++j) {
      if (b_matched[j] || a[i] != b[j]) continue;
      a_matched[i] = b_matched[j] = true;
      ++matches;
      break;
    }
  }
  if (matches == 0) return 0.0;
  double transpositions = 0;
  for (size_t i = 0, j = 0; i < a.size(); ++i) {
    if (!a_matched[i]) continue;
    while (!b_matched[j]) ++j;
    if (a[i] != b[j++]) ++transpositions;
  }
  return (matches / a.size() + matches / b.size() + (matches - transpositions / 2) / matches) / 3;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\n');
  const std::string_view a = input.substr(0, split);
  const std::string_view b = split == std::string_view::npos ? "" : input.substr(split + 1);

  if (std::abs(cdp::match::jaro(a, b) - reference_jaro(a, b)) > 1e-12) std::abort();
  const double similarity = cdp::match::jaro_winkler(a, b);
  if (similarity < 0 || similarity > 1.0000001) std::abort();
  if (cdp::match::damerau_levenshtein(a, b) != cdp::match::damerau_levenshtein(b, a)) {
    std::abort();
  }
  if (cdp::match::damerau_levenshtein(a, b) > cdp::match::levenshtein(a, b)) std::abort();

  using cdp::match::FieldKind;
  static const FieldKind kinds[] = {
      FieldKind::kFirstName, FieldKind::kSurname,     FieldKind::kFullName, FieldKind::kDate,
      FieldKind::kEmail,     FieldKind::kPhone,       FieldKind::kPostcode, FieldKind::kPlace,
      FieldKind::kAddress,   FieldKind::kHouseNumber, FieldKind::kNumber,   FieldKind::kIdentifier,
      FieldKind::kCategory,  FieldKind::kText};
  std::vector<cdp::match::FieldSpec> fields;
  for (FieldKind kind : kinds) {
    fields.push_back({std::string(cdp::match::field_kind_name(kind)), kind});
  }
  cdp::match::RecordTable table(fields);
  std::vector<std::string_view> left(fields.size(), a);
  std::vector<std::string_view> right(fields.size(), b);
  table.add(left);
  table.add(right);
  table.finish();
  for (size_t column = 0; column < fields.size(); ++column) {
    const auto comparison = cdp::match::default_comparison(table, column);
    if (comparison.evaluate(table, 0, 1) >= comparison.level_count()) std::abort();
    if (comparison.evaluate(table, 0, 0) > 1 && !table.column(column).missing(0)) std::abort();
  }
  return 0;
}
