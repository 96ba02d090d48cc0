#pragma once

#include <rocksdb/merge_operator.h>

#include <memory>

namespace cdp::storage {

// The merge operator of the `profiles` column family. A record there is a head and, after its
// first NUL byte, a section (a profile record: its JSON, then its audience state;
// docs/formats/profiles.md). A merge operand is a new section: it replaces the record's, and the
// newest operand wins.
//
// Why: a new audience definition changes only the audience state of hundreds of thousands of
// profiles. Merging the new section writes a few dozen bytes a profile instead of the whole
// record, and the record is rewritten once, later, when a read or a compaction applies the
// operand (bench/RESULTS.md, 2026-11-29).
//
// An operand without a record to apply it to (which no writer produces: operands are written
// only for records read in the same step) fails the read as corruption instead of inventing one.
std::shared_ptr<rocksdb::MergeOperator> section_merge_operator();

}  // namespace cdp::storage
