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
  // A batch whose keys are already in order within each column family and first key byte (a
  // definition's part: its profiles' operands, member keys and history keys, each in profile id
  // order, interleaved), but for a few writes (a part's cursor keys), is grouped instead of
  // sorted: each group keeps its order, so the copy is in key order but for those few, at a
  // fraction of a sort's cost (180 ms of sorting per part of 160,000 writes saved 50 ms of
  // inserts, bench/RESULTS.md 2026-11-28 19:50 UTC; grouping took 4% off a definition's CPU,
  // 2026-11-29 04:20 UTC).
  uint32_t families_seen = 0;
  for (const auto& write : writes) families_seen = std::max(families_seen, write.family + 1);
  auto group = [](const Write& write) {
    return size_t{write.family} * 256 +
           (write.key.empty() ? 0 : static_cast<uint8_t>(write.key[0]));
  };
  std::vector<rocksdb::Slice> last_key(size_t{families_seen} * 256);
  size_t out_of_order = 0;
  bool groups_in_order = true;  // and so the whole batch, without writes out of order
  for (size_t i = 0; i < writes.size(); ++i) {
    auto& last = last_key[group(writes[i])];
    if (writes[i].key.compare(last) < 0) ++out_of_order;
    last = writes[i].key;
    if (i > 0 && group(writes[i]) < group(writes[i - 1])) groups_in_order = false;
  }
  if (out_of_order == 0 && groups_in_order) return std::nullopt;
  if (out_of_order * 100 <= writes.size()) {
    // A counting sort by group: stable, as below.
    std::vector<size_t> next(last_key.size() + 1, 0);
    for (const auto& write : writes) ++next[group(write) + 1];
    for (size_t i = 1; i < next.size(); ++i) next[i] += next[i - 1];
    std::vector<Write> grouped(writes.size());
    for (const auto& write : writes) grouped[next[group(write)]++] = write;
    writes.swap(grouped);
  } else {
    // Stable: the writes to one key stay in the order they were made, so the last one wins.
    std::stable_sort(writes.begin(), writes.end(), [](const Write& a, const Write& b) {
      if (a.family != b.family) return a.family < b.family;
      return a.key.compare(b.key) < 0;
    });
  }
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
