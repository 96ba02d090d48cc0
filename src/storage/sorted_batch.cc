#include "storage/sorted_batch.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace cdp::storage {
namespace {

enum class Op : uint8_t { kPut, kDelete, kSingleDelete, kMerge };

struct Write {
  uint32_t family;
  Op op;
  rocksdb::Slice key;
  rocksdb::Slice value;
};

// Collects the batch's writes (slices into the batch's own buffer). Anything else makes the
// batch unsortable: a range deletion orders writes across keys, and transaction markers or log
// data are not ours to move.
class Collector final : public rocksdb::WriteBatch::Handler {
 public:
  explicit Collector(size_t count) { writes.reserve(count); }

  rocksdb::Status PutCF(uint32_t family, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    writes.push_back({family, Op::kPut, key, value});
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteCF(uint32_t family, const rocksdb::Slice& key) override {
    writes.push_back({family, Op::kDelete, key, {}});
    return rocksdb::Status::OK();
  }
  rocksdb::Status SingleDeleteCF(uint32_t family, const rocksdb::Slice& key) override {
    writes.push_back({family, Op::kSingleDelete, key, {}});
    return rocksdb::Status::OK();
  }
  rocksdb::Status MergeCF(uint32_t family, const rocksdb::Slice& key,
                          const rocksdb::Slice& value) override {
    writes.push_back({family, Op::kMerge, key, value});
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteRangeCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return refuse();
  }
  rocksdb::Status PutEntityCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return refuse();
  }
  rocksdb::Status PutBlobIndexCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return refuse();
  }
  void LogData(const rocksdb::Slice&) override { sortable = false; }
  rocksdb::Status MarkBeginPrepare(bool) override { return refuse(); }
  rocksdb::Status MarkEndPrepare(const rocksdb::Slice&) override { return refuse(); }
  rocksdb::Status MarkCommit(const rocksdb::Slice&) override { return refuse(); }
  rocksdb::Status MarkCommitWithTimestamp(const rocksdb::Slice&, const rocksdb::Slice&) override {
    return refuse();
  }
  rocksdb::Status MarkRollback(const rocksdb::Slice&) override { return refuse(); }
  rocksdb::Status MarkNoop(bool) override { return refuse(); }

  std::vector<Write> writes;
  bool sortable = true;

 private:
  rocksdb::Status refuse() {
    sortable = false;
    return rocksdb::Status::NotSupported("not sortable");
  }
};

}  // namespace

std::optional<rocksdb::WriteBatch> sorted_batch(
    const rocksdb::WriteBatch& batch, std::span<rocksdb::ColumnFamilyHandle* const> families) {
  Collector collector(batch.Count());
  if (!batch.Iterate(&collector).ok() || !collector.sortable) return std::nullopt;
  auto& writes = collector.writes;
  // A batch whose keys are already in order within each column family and first key byte gains
  // less from a sorted copy than the copy costs (a definition's part: its profile records,
  // member keys and history keys, each in profile id order, interleaved; 180 ms of sorting
  // saved 50 ms of inserts per part of 160,000 writes, bench/RESULTS.md 2026-11-28 19:50 UTC),
  // nor does one with a few writes out of that order (a part's cursor keys).
  uint32_t families_seen = 0;
  for (const auto& write : writes) families_seen = std::max(families_seen, write.family + 1);
  std::vector<rocksdb::Slice> last_key(size_t{families_seen} * 256);
  size_t out_of_order = 0;
  for (const auto& write : writes) {
    const auto first = write.key.empty() ? 0 : static_cast<uint8_t>(write.key[0]);
    auto& last = last_key[size_t{write.family} * 256 + first];
    if (write.key.compare(last) < 0) ++out_of_order;
    last = write.key;
  }
  if (out_of_order * 100 <= writes.size()) return std::nullopt;
  // Stable: the writes to one key stay in the order they were made, so the last one wins.
  std::stable_sort(writes.begin(), writes.end(), [](const Write& a, const Write& b) {
    if (a.family != b.family) return a.family < b.family;
    return a.key.compare(b.key) < 0;
  });
  rocksdb::WriteBatch sorted(batch.GetDataSize());
  rocksdb::ColumnFamilyHandle* family = nullptr;
  for (const auto& write : writes) {
    if (family == nullptr || family->GetID() != write.family) {
      const auto it = std::find_if(families.begin(), families.end(),
                                   [&](const auto* f) { return f->GetID() == write.family; });
      if (it == families.end()) return std::nullopt;
      family = *it;
    }
    rocksdb::Status status;
    switch (write.op) {
      case Op::kPut: status = sorted.Put(family, write.key, write.value); break;
      case Op::kDelete: status = sorted.Delete(family, write.key); break;
      case Op::kSingleDelete: status = sorted.SingleDelete(family, write.key); break;
      case Op::kMerge: status = sorted.Merge(family, write.key, write.value); break;
    }
    if (!status.ok()) return std::nullopt;
  }
  return sorted;
}

}  // namespace cdp::storage
