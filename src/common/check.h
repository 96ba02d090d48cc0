#pragma once

// CDP_CHECK guards invariants whose breach would corrupt data. It is always on, and it never
// fires because of user input: bad input is a Status, not a crash.
#define CDP_CHECK(cond)                                                   \
  do {                                                                    \
    if (!(cond)) ::cdp::internal_check_failed(#cond, __FILE__, __LINE__); \
  } while (false)

namespace cdp {
[[noreturn]] void internal_check_failed(const char* condition, const char* file, int line);
}  // namespace cdp
