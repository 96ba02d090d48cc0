#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <optional>
#include <span>

namespace cdp::storage {

// The same writes as `batch`, ordered by column family and key; writes to one key keep their
// order, so the batch leaves the database exactly as `batch` would.
//
// Why: RocksDB inserts a batch's keys into each memtable's skip list one by one, and an insert
// right after a nearby key reuses most of the search path (the skip list's "splice"). The
// processor's batches interleave keys from all over the key space (a thousand events' profiles,
// members, history); sorted, their inserts cost a fraction (bench/RESULTS.md, 2026-11-27).
//
// A batch whose keys are in order within each column family and first key byte already, but
// for at most 1% of its writes, is grouped by those instead (each group keeping its order; a
// sort would cost more than it saves): in key order but for those few writes.
//
// Returns nothing, and `batch` should be written as it is, when it is in key order already, the
// order could matter across keys (a range deletion), the batch holds anything but puts, deletes,
// single deletes and merges, or it writes to a column family not in `families`.
std::optional<rocksdb::WriteBatch> sorted_batch(
    const rocksdb::WriteBatch& batch, std::span<rocksdb::ColumnFamilyHandle* const> families);

}  // namespace cdp::storage
