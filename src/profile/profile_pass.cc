#include "profile/profile_pass.h"

#include <algorithm>
#include <array>
#include <thread>

#include "profile/audience_index.h"

namespace cdp::profile {
namespace {

// Profiles per chunk: enough that starting the threads costs little beside their work (tens of
// microseconds each for a few milliseconds), few enough that the decoded chunk stays small.
constexpr size_t kChunk = 512;
// Below this many, a chunk is not split: a thread would cost more than it saves.
constexpr size_t kSplitFrom = 32;
// Live profiles a thread prepares before it chooses again between decoding heads and whole
// records (ProfilePass::Worker).
constexpr size_t kDecodeWindow = 256;

}  // namespace

Status PassProfile::details() {
  wanted = true;
  if (detailed) return Status::ok();
  CDP_RETURN_IF_ERROR(decode_profile_details(stored, profile));
  detailed = true;
  return Status::ok();
}

const std::string* PassTraits::trait_json(std::string_view name) const {
  status_ = item_.details();
  if (!status_.is_ok()) return nullptr;
  const auto it = item_.profile.traits.find(name);
  return it != item_.profile.traits.end() ? &it->second.json : nullptr;
}

ProfilePass::ProfilePass(storage::Database& database, storage::Database& log,
                         rocksdb::ReadOptions read, size_t threads)
    : database_(database), read_(std::move(read)) {
  // A pass reads each candidate's record and timeline once, far more than the block cache holds:
  // cached, its blocks would only push out those the processor and the Profile API read
  // meanwhile, at the cost of inserting and evicting each (9-14% of a definition's CPU,
  // bench/RESULTS.md 2026-11-29 12:00 UTC).
  read_.fill_cache = false;
  if (threads == 0) threads = std::thread::hardware_concurrency();
  threads = std::clamp<size_t>(threads, 1, kMaxThreads);
  for (size_t i = 0; i < threads; ++i) {
    workers_.push_back(std::make_unique<Worker>(database, log, read_));
  }
}

ProfilePass::~ProfilePass() = default;

Status ProfilePass::run(const std::optional<audience::CandidateIndex::Bitmap>& scope,
                        ProfileId from,
                        const std::function<Status(PassProfile&, HistoryReader&)>& prepare,
                        const std::function<Result<bool>(PassProfile&)>& visit) {
  // Decodes a record into the item and prepares it with the worker's reader.
  auto take = [&](PassProfile& item, Worker& worker, std::string_view key,
                  std::string_view record) -> Status {
    auto decoded = worker.whole ? decode_profile(record) : decode_profile_head(record);
    if (!decoded) return decoded.status();
    item.key.assign(key);
    item.stored.assign(record);
    item.profile = std::move(*decoded);  // what the item held is freed here, on this thread
    item.detailed = worker.whole;
    item.wanted = false;
    item.changes.clear();
    item.record.reset();
    item.member = false;
    if (!item.profile.live()) return Status::ok();
    CDP_RETURN_IF_ERROR(prepare(item, worker.reader));
    worker.wanted += item.wanted ? 1 : 0;
    if (++worker.taken == kDecodeWindow) {
      worker.whole = worker.wanted * 2 > kDecodeWindow;
      worker.taken = worker.wanted = 0;
    }
    return Status::ok();
  };

  // With every profile to read, the range of their ids, so that each thread reads its own
  // records too.
  std::optional<audience::CandidateIndex::Bitmap> every;
  if (!scope) {
    auto ids = every_profile_id(database_, read_);
    if (!ids) return ids.status();
    every = std::move(*ids);
  }
  const auto& ids_in = scope ? scope : every;
  if (!ids_in) {
    // Ids past 32 bits, which bitmaps do not hold: one iterator, all on the calling thread.
    PassProfile item;
    return for_each_profile(
        database_, read_, std::nullopt, from,
        [&](const rocksdb::Slice& key, std::string_view record) -> Result<bool> {
          CDP_RETURN_IF_ERROR(take(item, *workers_[0], key.ToStringView(), record));
          return visit(item);
        });
  }
  audience::CandidateIndex::Bitmap rest = *ids_in;
  if (from > 0) {
    roaring_bitmap_remove_range(&rest.roaring, 0, std::min<uint64_t>(from, uint64_t{1} << 32));
  }

  // Two chunks: while the calling thread visits one, the pass's threads read and prepare the
  // next. Each thread reads its part of a chunk's ids itself (point lookups or an iterator, as
  // for_each_profile chooses; ids without a record are skipped).
  struct Chunk {
    std::vector<uint32_t> ids;
    std::vector<PassProfile> items;
    std::vector<size_t> first;  // thread t fills items from first[t], found[t] of them
    std::vector<size_t> found;
    std::vector<Status> statuses;
    std::vector<std::jthread> threads;  // while they run
  };
  std::array<Chunk, 2> chunks;
  auto next_id = rest.begin();
  auto fill = [&](Chunk& chunk) {
    chunk.ids.clear();
    for (; next_id != rest.end() && chunk.ids.size() < kChunk; ++next_id) {
      chunk.ids.push_back(*next_id);
    }
    if (chunk.ids.empty()) return;
    const size_t threads = chunk.ids.size() < kSplitFrom ? 1 : workers_.size();
    if (chunk.items.size() < chunk.ids.size()) chunk.items.resize(chunk.ids.size());
    chunk.first.assign(threads + 1, 0);
    for (size_t t = 0; t <= threads; ++t) chunk.first[t] = chunk.ids.size() * t / threads;
    chunk.found.assign(threads, 0);
    chunk.statuses.assign(threads, Status::ok());
    for (size_t t = 0; t < threads; ++t) {
      chunk.threads.emplace_back([this, &take, target = &chunk, t] {
        Chunk& mine = *target;
        const audience::CandidateIndex::Bitmap part(mine.first[t + 1] - mine.first[t],
                                                    mine.ids.data() + mine.first[t]);
        mine.statuses[t] = for_each_profile(
            database_, read_, part, 0,
            [&](const rocksdb::Slice& key, std::string_view record) -> Result<bool> {
              auto& item = mine.items[mine.first[t] + mine.found[t]];
              CDP_RETURN_IF_ERROR(take(item, *workers_[t], key.ToStringView(), record));
              ++mine.found[t];
              return true;
            });
      });
    }
  };
  auto wait = [](Chunk& chunk) { chunk.threads.clear(); };  // joins them
  size_t current = 0;
  fill(chunks[current]);
  while (!chunks[current].ids.empty()) {
    Chunk& chunk = chunks[current];
    wait(chunk);
    fill(chunks[1 - current]);  // an early return below waits for it first (jthread)
    for (const auto& status : chunk.statuses) CDP_RETURN_IF_ERROR(status);
    for (size_t t = 0; t < chunk.found.size(); ++t) {
      for (size_t i = chunk.first[t]; i < chunk.first[t] + chunk.found[t]; ++i) {
        auto more = visit(chunk.items[i]);
        if (!more) return more.status();
        if (!*more) return Status::ok();
      }
    }
    current = 1 - current;
  }
  return Status::ok();
}

}  // namespace cdp::profile
