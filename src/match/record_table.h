#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "match/field.h"
#include "match/field_normalizer.h"

namespace cdp::match {

// The records being matched, column by column, normalised once when added: every comparison
// and blocking key reads these columns, never the raw input. Each record also carries the
// index of the source (file) it came from, for linking one source to another.
//
// Lifecycle: add() every record, then finish() (term frequencies); then read-only and safe to
// share between threads.
class RecordTable {
 public:
  struct Column {
    FieldSpec spec;
    std::string text;                // the values, back to back
    std::vector<uint64_t> offsets;   // value i is text[offsets[i], offsets[i + 1])
    std::vector<int32_t> days;       // dates only: NormalizedValue::day per record
    std::vector<float> frequencies;  // share of non-missing values equal to this one (0 if missing)
    std::vector<std::span<const uint16_t>> nicknames;  // first names only: Nicknames::groups

    std::string_view value(size_t record) const {
      return {text.data() + offsets[record], offsets[record + 1] - offsets[record]};
    }
    bool missing(size_t record) const { return offsets[record + 1] == offsets[record]; }
  };

  explicit RecordTable(std::vector<FieldSpec> fields, std::string phone_region = "US");

  // REQUIRES: values.size() == fields().size(); not finished.
  void add(std::span<const std::string_view> values, uint32_t source = 0);
  void finish();

  size_t size() const { return sources_.size(); }
  size_t column_count() const { return columns_.size(); }
  const Column& column(size_t index) const { return columns_[index]; }
  uint32_t source(size_t record) const { return sources_[record]; }
  uint32_t source_count() const { return source_count_; }

  // The first column of `kind`, or -1.
  int find(FieldKind kind) const;

 private:
  FieldNormalizer normalizer_;
  std::vector<Column> columns_;
  std::vector<uint32_t> sources_;
  uint32_t source_count_ = 0;
};

}  // namespace cdp::match
