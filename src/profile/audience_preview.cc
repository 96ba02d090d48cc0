#include "profile/audience_preview.h"

#include <memory>

#include "audience/engine.h"
#include "profile/audience_history.h"
#include "profile/audience_index.h"

namespace cdp::profile {

Result<AudiencePreview> preview_audience(storage::Database& database,
                                         const audience::Definitions& current,
                                         const audience::AudienceDefinition& candidate,
                                         const audience::CandidateIndex* index, size_t sample,
                                         int64_t now_ms) {
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
  const auto* snapshot = database.db().GetSnapshot();
  rocksdb::ReadOptions read;
  read.snapshot = snapshot;
  // After the snapshot: the index only gains bits, and a profile's bits are set before its
  // state is committed, so every profile in the snapshot that may match is a candidate.
  const auto scope = index != nullptr ? index->candidates(*condition)
                                      : std::optional<audience::CandidateIndex::Bitmap>();
  AudiencePreview preview;
  auto history = std::make_unique<HistoryReader>(database, database, read);
  const auto status = for_each_profile(
      database, read, scope, 0, [&](const rocksdb::Slice&, std::string_view value) -> Result<bool> {
        auto profile = decode_profile(value);
        if (!profile) return profile.status();
        if (!profile->live()) return true;
        ++preview.evaluated;
        CDP_RETURN_IF_ERROR(history->add(engine, *profile, added));
        if (engine.holds(*condition, profile->audience, ProfileTraits(*profile), now_ms)) {
          ++preview.size;
          if (preview.sample.size() < sample) preview.sample.push_back(profile->id);
        }
        return true;
      });
  history.reset();  // its iterator reads the snapshot
  database.db().ReleaseSnapshot(snapshot);
  if (!status.is_ok()) return status;
  return preview;
}

}  // namespace cdp::profile
