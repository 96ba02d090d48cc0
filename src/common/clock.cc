#include "common/clock.h"

#include <chrono>

namespace cdp {

int64_t SystemClock::now_ms() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

SystemClock& SystemClock::instance() {
  static auto* clock = new SystemClock();
  return *clock;
}

}  // namespace cdp
