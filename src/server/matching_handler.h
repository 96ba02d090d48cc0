#pragma once

#include <string>
#include <string_view>

#include "identity/normalizer.h"
#include "pipeline/linking_service.h"
#include "server/http_types.h"
#include "storage/database.h"

namespace cdp::server {

// Probabilistic matching of profiles over the admin API (docs/matching.md, "Profiles"), for the
// admin token only:
//   POST /admin/v1/matching/runs?mode=incremental|full   -> 202 with the queued run
//   GET  /admin/v1/matching/runs/latest                  the newest run and its outcome
//   GET  /admin/v1/matching/runs/{id}                    a recent run (the last 100 since start)
//   GET  /admin/v1/matching/reviews?state=pending&before=ID&limit=N
//   GET  /admin/v1/matching/reviews/{id}
//   POST /admin/v1/matching/reviews/{id}/accept          appends the pair's link
//   POST /admin/v1/matching/reviews/{id}/reject          keeps later runs from linking the pair
//   GET  /admin/v1/matching/explain?a=REF&b=REF          how the model scores any two profiles
// Without a [matching] configuration (`linking` null) every call answers 409 saying so.
// Thread-safe.
class MatchingHandler {
 public:
  MatchingHandler(std::string admin_token, pipeline::LinkingService* linking,
                  storage::Database& database, std::string phone_region)
      : admin_token_(std::move(admin_token)),
        linking_(linking),
        database_(database),
        normalizer_(std::move(phone_region)) {}

  static bool handles(std::string_view path) {
    return path == "/admin/v1/matching" || path.starts_with("/admin/v1/matching/");
  }
  Response handle(const Request& request);

 private:
  Response reviews(const Request& request);
  Response explain(const Request& request);

  const std::string admin_token_;
  pipeline::LinkingService* linking_;
  storage::Database& database_;
  identity::IdentifierNormalizer normalizer_;
};

}  // namespace cdp::server
