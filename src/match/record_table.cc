#include "match/record_table.h"

#include <unordered_map>

#include "common/check.h"
#include "match/nicknames.h"

namespace cdp::match {

RecordTable::RecordTable(std::vector<FieldSpec> fields, std::string phone_region)
    : normalizer_(std::move(phone_region)) {
  for (auto& field : fields) {
    Column column;
    column.spec = std::move(field);
    column.offsets.push_back(0);
    columns_.push_back(std::move(column));
  }
}

void RecordTable::add(std::span<const std::string_view> values, uint32_t source) {
  CDP_CHECK(values.size() == columns_.size());
  for (size_t i = 0; i < columns_.size(); ++i) {
    Column& column = columns_[i];
    auto normalized = normalizer_.normalize(column.spec.kind, values[i]);
    column.text.append(normalized.text);
    column.offsets.push_back(column.text.size());
    if (column.spec.kind == FieldKind::kDate) column.days.push_back(normalized.day);
  }
  sources_.push_back(source);
  source_count_ = std::max(source_count_, source + 1);
}

void RecordTable::finish() {
  for (Column& column : columns_) {
    std::unordered_map<std::string_view, uint32_t> counts;
    size_t present = 0;
    for (size_t record = 0; record < size(); ++record) {
      if (column.missing(record)) continue;
      ++counts[column.value(record)];
      ++present;
    }
    column.frequencies.assign(size(), 0.0F);
    for (size_t record = 0; record < size(); ++record) {
      if (column.missing(record)) continue;
      column.frequencies[record] =
          static_cast<float>(counts[column.value(record)]) / static_cast<float>(present);
    }
    if (column.spec.kind == FieldKind::kFirstName) {
      column.nicknames.resize(size());
      for (size_t record = 0; record < size(); ++record) {
        column.nicknames[record] = Nicknames::groups(column.value(record));
      }
    }
  }
}

int RecordTable::find(FieldKind kind) const {
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i].spec.kind == kind) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace cdp::match
