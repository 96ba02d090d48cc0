#include "common/thread_name.h"

#include <pthread.h>

#include <algorithm>
#include <cstring>

namespace cdp {

void set_thread_name(std::string_view name) {
  char buffer[16] = {};
  std::memcpy(buffer, name.data(), std::min(name.size(), sizeof buffer - 1));
  pthread_setname_np(pthread_self(), buffer);
}

}  // namespace cdp
