#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "audience/definitions.h"
#include "identity/normalizer.h"
#include "profile/profile_store.h"
#include "server/http_types.h"
#include "storage/database.h"

namespace cdp::server {

// The Profile API (docs/api/openapi.yaml), for read tokens and the admin token, never write keys:
//   GET /v1/profiles/{ref}                 ref: p_42, or type:value (email:jane@example.com);
//                                          with computed traits and audiences
//   GET /v1/profiles/{ref}/traits          each trait with its source, time and event
//   GET /v1/profiles/{ref}/identifiers
//   GET /v1/profiles/{ref}/events          newest first; limit, cursor, event, type, from, to
//   GET /v1/profiles/{ref}/merges          why these identifiers are one profile (edges)
//   GET /v1/accounts/{groupId}
//   GET /v1/identity/quarantine            identifiers that stopped taking part in matching
// A merged-away profile id answers 308 with the survivor's URL.
// Thread-safe (reads committed state only).
class ProfileHandler {
 public:
  // `definitions`: the current computed traits and audiences (none when empty).
  using DefinitionsSource = std::function<std::shared_ptr<const audience::Definitions>()>;
  ProfileHandler(std::string admin_token, std::string read_token, storage::Database& database,
                 std::string phone_default_region, DefinitionsSource definitions = {})
      : admin_token_(std::move(admin_token)),
        read_token_(std::move(read_token)),
        database_(database),
        normalizer_(std::move(phone_default_region)),
        definitions_(std::move(definitions)) {}

  static bool handles(std::string_view path);
  Response handle(const Request& request);

 private:
  // Each request reads through one store on one snapshot.
  Response profile(const Request& request, profile::ProfileStore& store, std::string_view ref,
                   std::string_view sub);
  Response events(const Request& request, profile::ProfileStore& store,
                  const profile::Profile& profile);
  Response account(const Request& request, profile::ProfileStore& store, std::string_view group_id);
  Response quarantine(const Request& request, profile::ProfileStore& store);

  std::string admin_token_;
  std::string read_token_;
  storage::Database& database_;
  identity::IdentifierNormalizer normalizer_;
  DefinitionsSource definitions_;
};

// The answer to a failed read of profile state: 500 `corrupt_state` for corruption, else 503
// `storage_error` (retry later).
Response storage_error(unsigned version, const Status& status);

// A profile reference from a URL, resolved: "p_42", "profile_id:p_42" or "type:value"
// ("email:jane@example.com", normalised like stored identifiers), percent-encoded.
struct ProfileLookup {
  std::string ref;                              // decoded, as the client wrote it
  std::optional<profile::ProfileId> requested;  // set when the reference named a profile id
  std::optional<profile::Profile> profile;      // the live profile holding it; nullopt: none
};

// Resolves `ref_text` on `store`. A profile id that was merged away resolves to the survivor
// (requested != profile->id). An invalid reference (400) or a failed read is the Response to
// send instead.
std::variant<ProfileLookup, Response> lookup_profile(
    profile::ProfileStore& store, const identity::IdentifierNormalizer& normalizer,
    std::string_view ref_text, unsigned version);

// Percent-decodes a URL path segment or query value ('+' stays '+'); nullopt on a bad escape.
std::optional<std::string> percent_decode(std::string_view text);

}  // namespace cdp::server
