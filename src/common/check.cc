#include "common/check.h"

#include <cstdio>
#include <cstdlib>

namespace cdp {

void internal_check_failed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "CDP_CHECK failed: %s at %s:%d\n", condition, file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace cdp
