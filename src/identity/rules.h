#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "identity/extractor.h"
#include "identity/identifier.h"

namespace re2 {
class RE2;
}

namespace cdp::identity {

// How many values of one identifier type a profile may hold, and which values never count.
struct TypeRule {
  size_t limit = 5;
  int64_t window_ms = 0;  // 0: the limit counts every value ever held; else only values seen within
  std::vector<std::string> blocked_values;    // exact, compared case-insensitively
  std::vector<std::string> blocked_patterns;  // RE2, matching the whole normalised value
};

// The identity resolution rules (Segment's flat matching with blocklists, limits and priority,
// plus guards against super profiles). Plain configuration; CompiledRules is what runs.
struct IdentityRules {
  // Per-type overrides; other types use default_rule (user_id defaults to a limit of 1).
  std::map<std::string, TypeRule, std::less<>> types;
  TypeRule default_rule;
  // Highest priority first. Types not listed rank below every listed one, alphabetically.
  std::vector<std::string> priority = {"user_id", "email"};
  size_t max_identifiers_per_profile = 1000;
  size_t max_merges_per_profile = 100;
  // An identifier whose events resolve to more than this many distinct profiles within the window
  // (each time refused by a limit) stops taking part in matching and is reported.
  size_t quarantine_after_profiles = 10;
  int64_t quarantine_window_ms = 30LL * 24 * 3600 * 1000;
  std::vector<IdentifierPath> custom_identifiers;
  std::string phone_default_region = "US";

  // Segment's documented defaults: blocked ^[0-]*$, -1, null, anonymous (plus undefined, none and
  // empty); user_id limit 1, every other type 5; priority user_id, email, then the rest.
  static IdentityRules defaults();
};

// Part of every rules fingerprint: profiles built by another engine version are stale too.
inline constexpr int kEngineVersion = 2;

// Rules ready to apply: patterns compiled, priorities ranked. Immutable; thread-safe.
class CompiledRules {
 public:
  // kInvalidArgument names a pattern that does not compile or a limit of 0.
  static Result<std::shared_ptr<const CompiledRules>> compile(IdentityRules rules);
  ~CompiledRules();

  // True when `value` (normalised) is blocked for `type`.
  bool is_blocked(std::string_view type, std::string_view value) const;
  const TypeRule& rule(std::string_view type) const;
  // Lower is more important. Listed types rank by position; others after them, alphabetically.
  // Returns a pair so that unlisted types compare by name.
  std::pair<size_t, std::string_view> rank(std::string_view type) const;
  // True when `a` has a higher priority than `b` (ties broken by value, so the order is total).
  bool before(const Identifier& a, const Identifier& b) const;
  const IdentityRules& rules() const { return rules_; }
  // A digest of everything that changes resolution: state built under other rules is stale.
  const std::string& fingerprint() const { return fingerprint_; }

 private:
  CompiledRules() = default;

  IdentityRules rules_;
  std::map<std::string, std::vector<std::unique_ptr<re2::RE2>>, std::less<>> patterns_;
  std::vector<std::unique_ptr<re2::RE2>> default_patterns_;
  std::string fingerprint_;
};

}  // namespace cdp::identity
