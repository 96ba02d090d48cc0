#pragma once

#include <string_view>

namespace cdp {

// Names the calling thread, as `top -H`, `perf --comm`, `ps -L` and gdb show it: which of the
// server's threads takes the CPU is then visible without a profiler. Linux keeps the first 15
// bytes.
void set_thread_name(std::string_view name);

}  // namespace cdp
