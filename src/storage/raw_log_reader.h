#pragma once

#include <cstdint>
#include <functional>

#include "common/status.h"
#include "storage/database.h"
#include "storage/raw_log_record.h"

namespace cdp::storage {

// Reads the raw log in sequence order. Cheap to create; thread-safe (each call has its own
// iterator).
class RawLogReader {
 public:
  explicit RawLogReader(Database& database) : database_(database) {}

  // Calls `visit` for each record with seq >= from_seq, in order, until `visit` returns false,
  // `limit` records were visited, or the log ends. Returns the seq after the last visited record.
  Result<uint64_t> scan(uint64_t from_seq, size_t limit,
                        const std::function<bool(const RawLogRecord&)>& visit);

  // The first and last seq in the log; {0, 0} when empty.
  Result<std::pair<uint64_t, uint64_t>> bounds();

 private:
  Database& database_;
};

// Deletes raw log records received before `cutoff_ms`. Records are in receivedAt order except for
// clock steps, so this finds the first record at or after the cutoff by binary search over seq.
// Never deletes `keep_from_seq` or later: records a consumer (the processor) has not applied yet
// are kept whatever their age. Returns the number of records deleted.
Result<uint64_t> delete_raw_log_before(Database& database, int64_t cutoff_ms,
                                       uint64_t keep_from_seq = UINT64_MAX);

}  // namespace cdp::storage
