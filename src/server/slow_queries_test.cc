#include "server/slow_queries.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <vector>

namespace cdp::server {
namespace {

TEST(SlowQueriesTest, RunsTasksInOrderOffTheCallersThread) {
  std::vector<int> order;
  std::promise<void> done;
  const auto caller = std::this_thread::get_id();
  {
    SlowQueries queries;
    for (int i = 0; i < 3; ++i) {
      queries.submit([&, i](bool run) {
        EXPECT_TRUE(run);
        EXPECT_NE(std::this_thread::get_id(), caller);
        order.push_back(i);
        if (i == 2) done.set_value();
      });
    }
    done.get_future().wait();
  }
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
}

TEST(SlowQueriesTest, AFullQueueAndAStopAnswerInsteadOfRunning) {
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<int> ran{0};
  std::atomic<int> refused{0};
  {
    SlowQueries queries;
    // The first task holds the thread; the queue fills behind it.
    std::promise<void> started;
    queries.submit([&started, released](bool) {
      started.set_value();
      released.wait();
    });
    started.get_future().wait();
    for (size_t i = 0; i < SlowQueries::kMaxWaiting + 3; ++i) {
      queries.submit([&](bool run) { ++(run ? ran : refused); });
    }
    EXPECT_EQ(refused.load(), 3);  // over the limit: refused at once, on this thread
    release.set_value();
  }  // stopping: whatever still waits is refused, none is lost
  EXPECT_EQ(ran.load() + refused.load(), static_cast<int>(SlowQueries::kMaxWaiting) + 3);
}

}  // namespace
}  // namespace cdp::server
