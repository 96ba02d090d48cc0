#pragma once

#include <string>
#include <string_view>

#include "pipeline/linking_service.h"
#include "server/http_types.h"

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
// Without a [matching] configuration (`linking` null) every call answers 409 saying so.
// Thread-safe.
class MatchingHandler {
 public:
  MatchingHandler(std::string admin_token, pipeline::LinkingService* linking)
      : admin_token_(std::move(admin_token)), linking_(linking) {}

  static bool handles(std::string_view path) {
    return path == "/admin/v1/matching" || path.starts_with("/admin/v1/matching/");
  }
  Response handle(const Request& request);

 private:
  Response reviews(const Request& request);

  const std::string admin_token_;
  pipeline::LinkingService* linking_;
};

}  // namespace cdp::server
