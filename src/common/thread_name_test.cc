#include "common/thread_name.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <string>
#include <thread>

namespace cdp {
namespace {

std::string name_of_this_thread() {
  char name[16] = {};
  EXPECT_EQ(pthread_getname_np(pthread_self(), name, sizeof name), 0);
  return name;
}

TEST(ThreadNameTest, NamesTheCallingThreadKeepingTheFirst15Bytes) {
  std::string short_name;
  std::string long_name;
  std::thread([&] {
    set_thread_name("cdp-processor");
    short_name = name_of_this_thread();
    set_thread_name("cdp-destination-webhook");
    long_name = name_of_this_thread();
  }).join();
  EXPECT_EQ(short_name, "cdp-processor");
  EXPECT_EQ(long_name, "cdp-destination");
}

}  // namespace
}  // namespace cdp
