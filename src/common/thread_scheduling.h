#pragma once

#include <chrono>
#include <optional>

namespace cdp {

// Asks the kernel to run the calling thread in turns of `slice` (Linux 6.12+, whose EEVDF
// scheduler takes a time slice per thread, from 100 us to 100 ms). A thread with a shorter slice
// than the one on a core gets that core as soon as it wakes, instead of waiting out the other's
// turn (up to a few ms): for threads that wake for short work and are waited on, such as those
// answering HTTP requests. It does not change their share of the CPU (that stays their nice
// value's). Best effort: returns false where the kernel refused or does not know the setting.
bool set_thread_time_slice(std::chrono::microseconds slice);

// The least slice the kernel grants: for the threads that answer requests (HTTP, the raw log's
// writer) and the load generator's.
inline constexpr std::chrono::microseconds kShortTimeSlice{100};

// The calling thread's time slice as the kernel reports it; nullopt where it reports none
// (kernels before custom slices report 0 for normal threads).
std::optional<std::chrono::microseconds> thread_time_slice();

}  // namespace cdp
