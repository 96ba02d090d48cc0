#include "profile/profile_pass.h"

#include <algorithm>
#include <thread>

#include "profile/audience_index.h"

namespace cdp::profile {
namespace {

// Profiles per chunk: enough that starting the threads costs little beside their work (tens of
// microseconds each for a few milliseconds), few enough that the decoded chunk stays small.
constexpr size_t kChunk = 512;
// Below this many, a chunk is not split: a thread would cost more than it saves.
constexpr size_t kSplitFrom = 32;

}  // namespace

ProfilePass::ProfilePass(storage::Database& database, storage::Database& log,
                         rocksdb::ReadOptions read, size_t threads)
    : database_(database), read_(std::move(read)) {
  if (threads == 0) threads = std::thread::hardware_concurrency();
  threads = std::clamp<size_t>(threads, 1, kMaxThreads);
  for (size_t i = 0; i < threads; ++i) {
    readers_.push_back(std::make_unique<HistoryReader>(database, log, read_));
  }
}

ProfilePass::~ProfilePass() = default;

Status ProfilePass::run(const std::optional<audience::CandidateIndex::Bitmap>& scope,
                        ProfileId from,
                        const std::function<Status(PassProfile&, HistoryReader&)>& prepare,
                        const std::function<Result<bool>(PassProfile&)>& visit) {
  // The chunk's items: thread t fills those from first[t], found[t] of them.
  std::vector<PassProfile> chunk;
  std::vector<size_t> first(readers_.size() + 1);
  std::vector<size_t> found(readers_.size());
  std::vector<Status> statuses(readers_.size());
  // Decodes a record into the slot and prepares it on `thread`.
  auto take = [&](size_t thread, size_t slot, std::string_view key,
                  std::string_view record) -> Status {
    auto decoded = decode_profile(record);
    if (!decoded) return decoded.status();
    auto& item = chunk[slot];
    item.key.assign(key);
    item.profile = std::move(*decoded);  // what the slot held is freed here, on this thread
    item.changes.clear();
    item.record.reset();
    if (!item.profile.live()) return Status::ok();
    return prepare(item, *readers_[thread]);
  };
  // Runs `work(thread)` for every thread, the first on the calling one.
  auto on_threads = [&](size_t threads, const std::function<void(size_t)>& work) {
    std::vector<std::jthread> helpers;
    for (size_t thread = 1; thread < threads; ++thread) helpers.emplace_back(work, thread);
    work(0);
  };
  // Visits the chunk's items in id order; false once `visit` says to stop.
  auto visit_chunk = [&](size_t threads) -> Result<bool> {
    for (size_t thread = 0; thread < threads; ++thread) {
      CDP_RETURN_IF_ERROR(statuses[thread]);
    }
    for (size_t thread = 0; thread < threads; ++thread) {
      for (size_t i = first[thread]; i < first[thread] + found[thread]; ++i) {
        auto more = visit(chunk[i]);
        if (!more || !*more) return more;
      }
    }
    return true;
  };

  // With every profile to read, the range of their ids, so that each thread reads its own
  // records too.
  std::optional<audience::CandidateIndex::Bitmap> every;
  if (!scope) {
    auto ids = every_profile_id(database_, read_);
    if (!ids) return ids.status();
    every = std::move(*ids);
  }
  if (const auto& ids_in = scope ? scope : every) {
    // The ids are known: each thread reads its part of a chunk's records itself (point lookups
    // or an iterator, as for_each_profile chooses; ids without a record are skipped).
    audience::CandidateIndex::Bitmap rest = *ids_in;
    if (from > 0) {
      roaring_bitmap_remove_range(&rest.roaring, 0, std::min<uint64_t>(from, uint64_t{1} << 32));
    }
    std::vector<uint32_t> ids;
    ids.reserve(kChunk);
    auto flush = [&]() -> Result<bool> {
      const size_t threads = ids.size() < kSplitFrom ? 1 : readers_.size();
      if (chunk.size() < ids.size()) chunk.resize(ids.size());
      for (size_t thread = 0; thread <= threads; ++thread)
        first[thread] = ids.size() * thread / threads;
      on_threads(threads, [&](size_t thread) {
        found[thread] = 0;
        const audience::CandidateIndex::Bitmap part(first[thread + 1] - first[thread],
                                                    ids.data() + first[thread]);
        statuses[thread] = for_each_profile(
            database_, read_, part, 0,
            [&](const rocksdb::Slice& key, std::string_view record) -> Result<bool> {
              CDP_RETURN_IF_ERROR(
                  take(thread, first[thread] + found[thread], key.ToStringView(), record));
              ++found[thread];
              return true;
            });
      });
      ids.clear();
      return visit_chunk(threads);
    };
    for (const uint32_t id : rest) {
      ids.push_back(id);
      if (ids.size() < kChunk) continue;
      auto more = flush();
      if (!more) return more.status();
      if (!*more) return Status::ok();
    }
    return ids.empty() ? Status::ok() : flush().status();
  }

  // Ids past 32 bits, which bitmaps do not hold: one iterator, all on the calling thread.
  if (chunk.empty()) chunk.resize(1);
  return for_each_profile(database_, read_, std::nullopt, from,
                          [&](const rocksdb::Slice& key, std::string_view record) -> Result<bool> {
                            CDP_RETURN_IF_ERROR(take(0, 0, key.ToStringView(), record));
                            return visit(chunk[0]);
                          });
}

}  // namespace cdp::profile
