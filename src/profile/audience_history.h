#pragma once

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

// Feeds the profile's past track events (its timeline, and those of the profiles merged into
// it, read from the raw log in `log`) to the aggregates and funnels in `keys`, replacing what
// they held. Events that retention removed are skipped. `parser` is scratch.
Status add_history(storage::Database& database, storage::Database& log,
                   const audience::Engine& engine, Profile& profile,
                   const std::set<std::string, std::less<>>& keys, ingest::JsonParser& parser);

}  // namespace cdp::profile
