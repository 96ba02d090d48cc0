#pragma once

#include <cstdint>
#include <string>

#include "server/admin_client.h"

namespace cdp::server {

// `cdp audiences ...` and `cdp traits ...`: audiences and computed traits of a running server
// through its admin API (docs/audiences.md).
struct AudienceCommandOptions {
  AdminClientOptions admin;
  std::string name;
  std::string condition;  // audiences define: the condition's text
  std::string description;
  // traits define
  std::string kind;
  std::string event;
  std::string property;
  std::string where;
  std::string window;
  // members, changes
  uint64_t limit = 100;
  std::string after;
  bool json = false;
};

int run_audiences_list(const AudienceCommandOptions& options, bool traits);
int run_audiences_show(const AudienceCommandOptions& options, bool traits);
int run_audiences_define(const AudienceCommandOptions& options);
int run_traits_define(const AudienceCommandOptions& options);
int run_audiences_delete(const AudienceCommandOptions& options, bool traits);
int run_audiences_members(const AudienceCommandOptions& options);
int run_audiences_changes(const AudienceCommandOptions& options);

}  // namespace cdp::server
