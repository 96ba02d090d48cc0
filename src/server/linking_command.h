#pragma once

#include <cstdint>
#include <string>

#include "server/admin_client.h"

namespace cdp::server {

// `cdp match link|reviews|accept|reject`: probabilistic matching of a running server's profiles
// through its admin API (docs/matching.md, "Profiles").
struct LinkingCommandOptions {
  AdminClientOptions admin;
  bool full = false;              // link: every profile, not only those new since the last run
  bool no_wait = false;           // link: return once the run is queued
  std::string state = "pending";  // reviews: pending, accepted, rejected or all
  uint64_t limit = 20;
  uint64_t id = 0;   // accept / reject
  std::string a, b;  // explain-profiles: two profile references (identifier or p_N)
  bool json = false;
};

int run_match_link(const LinkingCommandOptions& options);
int run_match_reviews(const LinkingCommandOptions& options);
int run_match_decide(const LinkingCommandOptions& options, bool accept);
int run_match_explain_profiles(const LinkingCommandOptions& options);

}  // namespace cdp::server
