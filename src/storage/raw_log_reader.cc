#include "storage/raw_log_reader.h"

#include <algorithm>
#include <memory>

#include "storage/big_endian.h"

namespace cdp::storage {

Result<uint64_t> RawLogReader::scan(uint64_t from_seq, size_t limit,
                                    const std::function<bool(const RawLogRecord&)>& visit) {
  std::unique_ptr<rocksdb::Iterator> it(
      database_.db().NewIterator(rocksdb::ReadOptions(), database_.raw_log()));
  uint64_t next = from_seq;
  size_t visited = 0;
  for (it->Seek(u64_be(from_seq)); it->Valid() && visited < limit; it->Next()) {
    const uint64_t seq = read_u64_be({it->key().data(), it->key().size()});
    auto record = RawLogRecord::decode(seq, {it->value().data(), it->value().size()});
    if (!record) {
      return Status::corruption("raw log record " + std::to_string(seq) + " is unreadable");
    }
    next = seq + 1;
    ++visited;
    if (!visit(*record)) break;
  }
  if (!it->status().ok()) return from_rocksdb(it->status(), "reading the raw log");
  return next;
}

Result<std::pair<uint64_t, uint64_t>> RawLogReader::bounds() {
  std::unique_ptr<rocksdb::Iterator> it(
      database_.db().NewIterator(rocksdb::ReadOptions(), database_.raw_log()));
  it->SeekToFirst();
  if (!it->Valid()) {
    if (!it->status().ok()) return from_rocksdb(it->status(), "reading the raw log");
    return std::pair<uint64_t, uint64_t>{0, 0};
  }
  const uint64_t first = read_u64_be({it->key().data(), it->key().size()});
  it->SeekToLast();
  if (!it->Valid()) return from_rocksdb(it->status(), "reading the raw log");
  return std::pair<uint64_t, uint64_t>{first, read_u64_be({it->key().data(), it->key().size()})};
}

Result<uint64_t> delete_raw_log_before(Database& database, int64_t cutoff_ms,
                                       uint64_t keep_from_seq) {
  RawLogReader reader(database);
  auto bounds = reader.bounds();
  if (!bounds) return bounds.status();
  auto [first, last] = *bounds;
  if (first == 0) return uint64_t{0};
  auto received_at = [&](uint64_t seq) -> Result<int64_t> {
    std::string value;
    auto status =
        database.db().Get(rocksdb::ReadOptions(), database.raw_log(), u64_be(seq), &value);
    if (!status.ok()) return from_rocksdb(status, "reading raw log record " + std::to_string(seq));
    auto record = RawLogRecord::decode(seq, value);
    if (!record)
      return Status::corruption("raw log record " + std::to_string(seq) + " is unreadable");
    return record->received_at_ms;
  };
  // Find the smallest seq in [first, last + 1) whose record is at or after the cutoff.
  uint64_t low = first, high = last + 1;
  while (low < high) {
    const uint64_t mid = low + (high - low) / 2;
    auto at = received_at(mid);
    if (!at) return at.status();
    if (*at < cutoff_ms) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  low = std::min(low, keep_from_seq);
  if (low <= first) return uint64_t{0};
  rocksdb::WriteOptions options;
  options.sync = true;
  auto status = database.db().DeleteRange(options, database.raw_log(), u64_be(first), u64_be(low));
  if (!status.ok()) return from_rocksdb(status, "deleting expired raw log records");
  return low - first;
}

}  // namespace cdp::storage
