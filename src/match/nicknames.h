#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace cdp::match {

// Groups of English given names that are the same name: a formal name with its diminutives
// and common spellings ("robert", "rob", "bob", "bobby", "robbie", "bert"). Two first names
// that share a group are a "nickname" level of the name comparison, which Jaro-Winkler misses
// ("bob" / "robert" is 0.0). A name may sit in several groups ("chris": christopher,
// christine, christina). The table is built into the binary; names are lower-case ASCII.
//
// Thread-safe (the table is built once, on first use).
class Nicknames {
 public:
  // The groups `name` (normalised: lower-case) belongs to, ascending; empty if none.
  static std::span<const uint16_t> groups(std::string_view name);

  // True when the two names share a group.
  static bool same_name(std::string_view a, std::string_view b);
  // The same for groups() looked up before.
  static bool share_group(std::span<const uint16_t> a, std::span<const uint16_t> b);
};

}  // namespace cdp::match
