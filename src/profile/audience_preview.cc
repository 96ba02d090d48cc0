#include "profile/audience_preview.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

#include "audience/engine.h"
#include "profile/audience_history.h"
#include "profile/audience_index.h"
#include "profile/profile_pass.h"

namespace cdp::profile {
namespace {

// Rounds of a budgeted preview: at least this many candidates (so that the rate they show is
// worth something), at most this many (so that a wrong guess of the rate overshoots little).
constexpr size_t kSmallestRound = 256;
constexpr size_t kLargestRound = 65'536;

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
  auto pass = std::make_unique<ProfilePass>(database, database, read);
  // Evaluated on the pass's threads (prepare is called for live profiles only).
  auto prepare = [&](PassProfile& item, HistoryReader& history) -> Status {
    CDP_RETURN_IF_ERROR(history.add(engine, item.profile, added));
    const PassTraits traits(item);
    item.member = engine.holds(*condition, item.profile.audience, traits, now_ms);
    return traits.status();
  };
  auto visit = [&](PassProfile& item) -> Result<bool> {
    const Profile& profile = item.profile;
    ++visited;
    if (!profile.live()) return true;
    ++preview.evaluated;
    if (item.member) {
      ++found;
      // In id order the first ones are the lowest; in a sample's rounds they are sorted last.
      if (sampled || members.size() < options.sample) members.push_back(profile.id);
    }
    return true;
  };
  auto evaluate = [&]() -> Status {
    // After the snapshot: the index only gains bits, and a profile's bits are set before its
    // state is committed, so every profile in the snapshot that may match is a candidate.
    auto scope = index != nullptr ? index->candidates(*condition)
                                  : std::optional<audience::CandidateIndex::Bitmap>();
    if (options.budget && index != nullptr && !scope) {
      // Ids without a record count as profiles that do not hold the condition.
      auto every = every_profile_id(database, read);
      if (!every) return every.status();
      scope = std::move(*every);  // nullopt: every profile is read
    }
    if (!options.budget || !scope || scope->cardinality() <= options.min_read) {
      CDP_RETURN_IF_ERROR(pass->run(scope, 0, prepare, visit));
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
      CDP_RETURN_IF_ERROR(pass->run(slice, 0, prepare, visit));
      done += round;
    }
    preview.read = done;
    return Status::ok();
  };
  const auto status = evaluate();
  pass.reset();  // its iterators read the snapshot
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
