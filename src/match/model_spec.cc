#include <algorithm>
#include <array>

#include "match/model.h"

namespace cdp::match {
namespace {

constexpr uint64_t kMinPairBudget = 1'000'000;
constexpr uint64_t kPairsPerRecord = 30;

BlockingRule rule_on(std::initializer_list<int> columns) {
  BlockingRule rule;
  for (int column : columns) rule.keys.push_back({static_cast<size_t>(column)});
  return rule;
}

}  // namespace

ModelSpec default_model_spec(const RecordTable& table) {
  ModelSpec spec;
  for (size_t column = 0; column < table.column_count() && column < kMaxComparisons; ++column) {
    spec.comparisons.push_back(default_comparison(table, column));
  }
  const int first = table.find(FieldKind::kFirstName);
  const int surname = table.find(FieldKind::kSurname);
  const int full = table.find(FieldKind::kFullName);
  const int date = table.find(FieldKind::kDate);
  const int postcode = table.find(FieldKind::kPostcode);
  const int place = table.find(FieldKind::kPlace);
  const int address = table.find(FieldKind::kAddress);
  const int email = table.find(FieldKind::kEmail);
  const int phone = table.find(FieldKind::kPhone);
  const int identifier = table.find(FieldKind::kIdentifier);

  // Prediction: values that identify a person alone, then every pair of the fields that
  // describe one, then a fuzzy rule that survives a typo in each name.
  for (int column : {email, phone, identifier, full}) {
    if (column >= 0) spec.blocking.push_back(rule_on({column}));
  }
  const std::array<int, 6> describing = {first, surname, date, postcode, place, address};
  for (size_t i = 0; i < describing.size(); ++i) {
    for (size_t j = i + 1; j < describing.size(); ++j) {
      if (describing[i] >= 0 && describing[j] >= 0) {
        spec.blocking.push_back(rule_on({describing[i], describing[j]}));
      }
    }
  }
  if (first >= 0 && surname >= 0 && date >= 0) {
    BlockingRule fuzzy;
    fuzzy.keys = {{static_cast<size_t>(first), BlockingKey::Transform::kPrefix, 2},
                  {static_cast<size_t>(surname), BlockingKey::Transform::kPrefix, 2},
                  {static_cast<size_t>(date), BlockingKey::Transform::kYear, 0}};
    spec.blocking.push_back(std::move(fuzzy));
  }
  // Broad rules catch records that share one field and little else (a name missing, the
  // other misspelt). They are added, most selective first, while the pairs they would make fit
  // a budget that grows with the data: on small data they cost nothing, on large data the
  // budget keeps scoring linear in the number of records.
  const uint64_t budget = std::max<uint64_t>(kMinPairBudget, kPairsPerRecord * table.size());
  uint64_t spent = 0;
  for (const auto& rule : spec.blocking) spent += pair_bound(table, rule);
  for (int column : {date, surname, postcode, first, place, address}) {
    if (column < 0) continue;
    BlockingRule broad = rule_on({column});
    const uint64_t pairs = pair_bound(table, broad);
    if (spent + pairs > budget) continue;
    spent += pairs;
    spec.blocking.push_back(std::move(broad));
  }

  // Training: each session leaves the fields it blocks on untrained, so the sessions block on
  // different fields and every comparison is trained by at least one. Locations are not
  // blocked on: a block of one postcode is full of households and neighbours who agree on
  // surname and address, and EM takes them for matches (measured on synthetic households:
  // precision 0.47).
  if (first >= 0 && surname >= 0) {
    spec.training.push_back(rule_on({first, surname}));
  } else if (full >= 0) {
    spec.training.push_back(rule_on({full}));
  }
  for (int column : {date, email, phone, identifier}) {
    if (column >= 0) spec.training.push_back(rule_on({column}));
  }
  if (spec.training.size() < 2 && postcode >= 0) spec.training.push_back(rule_on({postcode}));
  if (spec.training.size() < 2 && place >= 0) spec.training.push_back(rule_on({place}));

  // The prior: pairs these rules find are nearly always the same person.
  for (int column : {email, phone, identifier}) {
    if (column >= 0) spec.deterministic.push_back(rule_on({column}));
  }
  if (first >= 0 && surname >= 0 && date >= 0) {
    spec.deterministic.push_back(rule_on({first, surname, date}));
  } else if (full >= 0 && date >= 0) {
    spec.deterministic.push_back(rule_on({full, date}));
  }
  return spec;
}

}  // namespace cdp::match
