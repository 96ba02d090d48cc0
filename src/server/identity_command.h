#pragma once

#include <string>

namespace cdp::server {

// `cdp identity plan` and `cdp identity apply`: change the identity rules of a data directory.
// plan replays the raw log under the rules of `config_path` into scratch state and prints what
// would merge and split (it reads the directory as a follower, so a server may be running);
// apply rebuilds the profiles under those rules (the server must be stopped).
struct IdentityCommandOptions {
  std::string config_path;         // the settings whose [identity] rules to use; required
  std::string data_dir;            // overrides the config's data directory
  bool json = false;               // plan: print the plan as JSON
  bool allow_trimmed_log = false;  // apply: rebuild even though retention deleted old events
};

// Return the process exit code; errors are printed to stderr.
int run_identity_plan(const IdentityCommandOptions& options);
int run_identity_apply(const IdentityCommandOptions& options);

}  // namespace cdp::server
