#include "common/thread_scheduling.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <optional>
#include <thread>

namespace cdp {
namespace {

using std::chrono::microseconds;

TEST(ThreadSchedulingTest, SetsTheCallingThreadsSliceAndKeepsItsNiceValue) {
  std::optional<microseconds> before, after, other_thread;
  bool set = false;
  int nice_after = 0;
  std::thread([&] {
    ASSERT_EQ(setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 5), 0);
    before = thread_time_slice();
    set = set_thread_time_slice(microseconds(200));
    after = thread_time_slice();
    nice_after = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  }).join();
  std::thread([&] { other_thread = thread_time_slice(); }).join();
  if (!before) GTEST_SKIP() << "this kernel (before Linux 6.12) has no time slice per thread";
  EXPECT_TRUE(set);
  EXPECT_EQ(after, microseconds(200));
  EXPECT_EQ(nice_after, 5);
  // Only the calling thread: a new thread starts with the default.
  EXPECT_EQ(other_thread, before);
}

TEST(ThreadSchedulingTest, SaysWhenTheKernelDoesNotTakeTheSlice) {
  std::optional<microseconds> before;
  bool set = true;
  std::thread([&] {
    before = thread_time_slice();
    // Below the kernel's range it is raised to the least slice (100 us), so the call succeeds
    // where slices exist and reports false where they do not.
    set = set_thread_time_slice(microseconds(1));
  }).join();
  EXPECT_EQ(set, before.has_value());
}

}  // namespace
}  // namespace cdp
