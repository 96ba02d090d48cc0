#include "common/thread_scheduling.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

namespace cdp {
namespace {

// glibc 2.36 has no wrapper for sched_getattr/sched_setattr: the kernel's struct, as in
// sched_setattr(2).
struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;  // for SCHED_OTHER since Linux 6.12: the thread's time slice, in ns
  uint64_t sched_deadline;
  uint64_t sched_period;
  uint32_t sched_util_min;
  uint32_t sched_util_max;
};

bool read_attr(SchedAttr& attr) {
  attr = SchedAttr{};
  return syscall(SYS_sched_getattr, 0, &attr, sizeof attr, 0) == 0;
}

}  // namespace

bool set_thread_time_slice(std::chrono::microseconds slice) {
  SchedAttr attr;
  // Read first: sched_setattr sets the policy and nice value too, which must stay as they are.
  if (!read_attr(attr)) return false;
  attr.size = sizeof attr;
  attr.sched_flags = 0;
  attr.sched_runtime =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(slice).count());
  if (syscall(SYS_sched_setattr, 0, &attr, 0) != 0) return false;
  // Kernels before custom slices accept the field and ignore it, reporting 0.
  return thread_time_slice().has_value();
}

std::optional<std::chrono::microseconds> thread_time_slice() {
  SchedAttr attr;
  if (!read_attr(attr) || attr.sched_runtime == 0) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::nanoseconds(attr.sched_runtime));
}

}  // namespace cdp
