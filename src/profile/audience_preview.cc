#include "profile/audience_preview.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <random>

#include "audience/engine.h"
#include "profile/audience_history.h"
#include "profile/audience_index.h"
#include "storage/big_endian.h"

namespace cdp::profile {
namespace {

// Rounds of a budgeted preview: at least this many candidates (so that the rate they show is
// worth something), at most this many (so that a wrong guess of the rate overshoots little).
constexpr size_t kSmallestRound = 256;
constexpr size_t kLargestRound = 65'536;

// Every profile id from the first stored one to the last, for a budgeted preview of a condition
// the index cannot narrow: ids without a record count as profiles that do not hold it. nullopt
// past 32-bit ids (where the index is off too): the preview reads every profile.
Result<std::optional<audience::CandidateIndex::Bitmap>> every_profile_id(
    storage::Database& database, const rocksdb::ReadOptions& read) {
  std::unique_ptr<rocksdb::Iterator> it(database.db().NewIterator(read, database.profiles()));
  audience::CandidateIndex::Bitmap ids;
  it->SeekToFirst();
  if (it->Valid()) {
    const auto first = storage::read_u64_be(it->key().ToStringView());
    it->SeekToLast();
    if (it->Valid()) {
      const auto last = storage::read_u64_be(it->key().ToStringView());
      if (last > std::numeric_limits<uint32_t>::max()) {
        return std::optional<audience::CandidateIndex::Bitmap>();
      }
      if (first <= last) ids.addRange(first, last + 1);
    }
  }
  if (!it->status().ok()) return storage::from_rocksdb(it->status(), "reading profiles");
  return std::optional<audience::CandidateIndex::Bitmap>(std::move(ids));
}

}  // namespace

SizeEstimate estimate_size(size_t members, size_t read, size_t population) {
  if (read >= population) return {members, members, members};
  // Found members are members, found non-members are not: the rest is the unread candidates.
  const size_t floor_size = members;
  const size_t ceiling_size = population - (read - members);
  if (read == 0) return {0, 0, population};
  const double n = static_cast<double>(read);
  const double big_n = static_cast<double>(population);
  const double p = static_cast<double>(members) / n;
  // Wilson's score interval at 95%, its z narrowed by the finite population correction: the
  // interval closes as the sample becomes the whole population.
  const double z = 1.959964 * std::sqrt((big_n - n) / (big_n - 1));
  const double z2 = z * z;
  const double denominator = 1 + z2 / n;
  const double center = (p + z2 / (2 * n)) / denominator;
  const double half = z * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator;
  auto clamp = [&](double value) {
    return std::clamp(static_cast<size_t>(std::max(0.0, value)), floor_size, ceiling_size);
  };
  SizeEstimate estimate;
  estimate.size = clamp(std::round(p * big_n));
  estimate.low = std::min(clamp(std::floor((center - half) * big_n)), estimate.size);
  estimate.high = std::max(clamp(std::ceil((center + half) * big_n)), estimate.size);
  return estimate;
}

Result<AudiencePreview> preview_audience(storage::Database& database,
                                         const audience::Definitions& current,
                                         const audience::AudienceDefinition& candidate,
                                         const audience::CandidateIndex* index,
                                         const PreviewOptions& options, int64_t now_ms) {
  auto audiences = std::vector<audience::AudienceDefinition>{candidate};
  for (const auto& compiled : current.audiences()) audiences.push_back(compiled.definition);
  auto compiled = audience::Definitions::compile(current.computed_traits(), std::move(audiences));
  if (!compiled) return Status::invalid_argument(compiled.status().message());
  const audience::Engine engine(*compiled);
  const audience::Condition* condition = nullptr;
  for (const auto& a : (*compiled)->audiences()) {
    if (a.definition.name == candidate.name) condition = &a.definition.condition;
  }
  const auto added = keys_added(current, **compiled);
  const auto started = std::chrono::steady_clock::now();
  const auto* snapshot = database.db().GetSnapshot();
  rocksdb::ReadOptions read;
  read.snapshot = snapshot;
  AudiencePreview preview;
  size_t visited = 0;  // profile records read
  size_t found = 0;    // of those, members
  std::vector<ProfileId> members;
  bool sampled = false;
  auto history = std::make_unique<HistoryReader>(database, database, read);
  auto visit = [&](const rocksdb::Slice&, std::string_view value) -> Result<bool> {
    auto profile = decode_profile(value);
    if (!profile) return profile.status();
    ++visited;
    if (!profile->live()) return true;
    ++preview.evaluated;
    CDP_RETURN_IF_ERROR(history->add(engine, *profile, added));
    if (engine.holds(*condition, profile->audience, ProfileTraits(*profile), now_ms)) {
      ++found;
      // In id order the first ones are the lowest; in a sample's rounds they are sorted last.
      if (sampled || members.size() < options.sample) members.push_back(profile->id);
    }
    return true;
  };
  auto evaluate = [&]() -> Status {
    // After the snapshot: the index only gains bits, and a profile's bits are set before its
    // state is committed, so every profile in the snapshot that may match is a candidate.
    auto scope = index != nullptr ? index->candidates(*condition)
                                  : std::optional<audience::CandidateIndex::Bitmap>();
    if (options.budget && index != nullptr && !scope) {
      auto every = every_profile_id(database, read);
      if (!every) return every.status();
      scope = std::move(*every);  // nullopt: every profile is read
    }
    if (!options.budget || !scope || scope->cardinality() <= options.min_read) {
      CDP_RETURN_IF_ERROR(for_each_profile(database, read, scope, 0, visit));
      preview.candidates = scope ? scope->cardinality() : visited;
      preview.read = preview.candidates;
      return Status::ok();
    }
    // Rounds of candidates drawn at random without replacement (a partial Fisher-Yates shuffle,
    // seeded by the scope so that the same preview of the same state reads the same profiles),
    // each read in id order, until the budget is spent.
    sampled = true;
    preview.candidates = scope->cardinality();
    std::vector<uint32_t> order(preview.candidates);
    scope->toUint32Array(order.data());
    std::mt19937_64 random(preview.candidates);
    size_t done = 0;
    const size_t min_read = std::max<size_t>(options.min_read, 1);  // a rate to size rounds by
    while (done < order.size()) {
      const auto elapsed = std::chrono::steady_clock::now() - started;
      size_t round = 0;
      if (done < min_read) {
        round = min_read - done;
      } else {
        if (elapsed >= *options.budget) break;
        const double per_candidate = std::chrono::duration<double>(elapsed).count() / done;
        const double left = std::chrono::duration<double>(*options.budget - elapsed).count();
        round = static_cast<size_t>(std::min(left / std::max(per_candidate, 1e-9), 1e9));
        round = std::clamp(round, kSmallestRound, kLargestRound);
      }
      round = std::min(round, order.size() - done);
      for (size_t i = done; i < done + round; ++i) {
        std::swap(order[i],
                  order[std::uniform_int_distribution<size_t>(i, order.size() - 1)(random)]);
      }
      std::sort(order.begin() + static_cast<ptrdiff_t>(done),
                order.begin() + static_cast<ptrdiff_t>(done + round));
      const audience::CandidateIndex::Bitmap slice(round, order.data() + done);
      CDP_RETURN_IF_ERROR(for_each_profile(database, read, slice, 0, visit));
      done += round;
    }
    preview.read = done;
    return Status::ok();
  };
  const auto status = evaluate();
  history.reset();  // its iterator reads the snapshot
  database.db().ReleaseSnapshot(snapshot);
  if (!status.is_ok()) return status;
  const auto estimate = estimate_size(found, preview.read, preview.candidates);
  preview.exact = preview.read >= preview.candidates;
  preview.size = estimate.size;
  preview.size_low = estimate.low;
  preview.size_high = estimate.high;
  std::sort(members.begin(), members.end());
  if (members.size() > options.sample) members.resize(options.sample);
  preview.sample = std::move(members);
  return preview;
}

}  // namespace cdp::profile
