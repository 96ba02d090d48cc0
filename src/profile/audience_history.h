#pragma once

#include <memory>
#include <set>
#include <string>

#include "audience/engine.h"
#include "common/status.h"
#include "ingest/json_tree.h"
#include "profile/profile.h"
#include "storage/database.h"

namespace cdp::profile {

// A profile's traits as the audience engine reads them.
class ProfileTraits final : public audience::TraitSource {
 public:
  explicit ProfileTraits(const Profile& profile) : profile_(profile) {}
  const std::string* trait_json(std::string_view name) const override {
    const auto it = profile_.traits.find(name);
    return it != profile_.traits.end() ? &it->second.json : nullptr;
  }

 private:
  const Profile& profile_;
};

// The aggregate and funnel keys that `after` has and `before` has not: the state a definition
// change must build from history.
std::set<std::string, std::less<>> keys_added(const audience::Definitions& before,
                                              const audience::Definitions& after);

// Feeds profiles' past track events (their timelines, and those of the profiles merged into
// them) to new aggregates and funnels, for definitions and previews. One per pass over many
// profiles: it keeps one timeline iterator and one parser. Not thread-safe.
class HistoryReader {
 public:
  // `log`: where the raw log is (a plan's scratch state reads the live one). `read` applies to
  // both (a snapshot, for a preview).
  HistoryReader(storage::Database& database, storage::Database& log,
                rocksdb::ReadOptions read = rocksdb::ReadOptions());

  // Replaces what `keys` held in the profile's state with what its history adds up to. Events
  // are read from the timeline alone, with the properties their entries keep; an event is read
  // from the raw log when its entry keeps none, or left out one that a key reads. An event that
  // retention removed from it then feeds the keys that read nothing its entry lacks (only those
  // that need no properties, when the entry keeps none).
  Status add(const audience::Engine& engine, Profile& profile,
             const std::set<std::string, std::less<>>& keys);

 private:
  storage::Database& database_;
  storage::Database& log_;
  rocksdb::ReadOptions read_;
  rocksdb::ReadOptions log_read_;  // read_ without filling the block cache
  std::unique_ptr<rocksdb::Iterator> timeline_;
  ingest::JsonParser parser_;
};

}  // namespace cdp::profile
