// SPDX-License-Identifier: MIT
#include "workers/timer_queue.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <vector>

namespace taskwire {
namespace {

using namespace std::chrono_literals;

struct recorder {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> fired;
  void add(int v) {
    std::lock_guard lock(mu);
    fired.push_back(v);
    cv.notify_all();
  }
  bool wait(std::size_t n, std::chrono::milliseconds limit = 10s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, limit, [&] { return fired.size() >= n; });
  }
};

TEST(TimerQueue, FiresInTimeOrder) {
  timer_queue q;
  recorder r;
  auto now = timer_queue::clock::now();
  q.schedule(1, now + 30ms, [&] { r.add(1); });
  q.schedule(2, now + 10ms, [&] { r.add(2); });
  q.schedule(3, now, [&] { r.add(3); });
  ASSERT_TRUE(r.wait(3));
  EXPECT_EQ(r.fired, (std::vector<int>{3, 2, 1}));
}

TEST(TimerQueue, ExpediteRunsAFarEntryNow) {
  timer_queue q;
  recorder r;
  q.schedule(7, timer_queue::clock::now() + 1h, [&] { r.add(7); });
  q.expedite(7);
  ASSERT_TRUE(r.wait(1));
  q.expedite(7);  // nothing waits any more: a no-op
  EXPECT_EQ(r.fired, std::vector<int>{7});
}

TEST(TimerQueue, CancelAndStopDropEntriesUnrun) {
  recorder r;
  {
    timer_queue q;
    q.schedule(1, timer_queue::clock::now() + 1h, [&] { r.add(1); });
    q.schedule(2, timer_queue::clock::now(), [&] { r.add(2); });
    q.cancel(1);
    ASSERT_TRUE(r.wait(1));
    q.schedule(3, timer_queue::clock::now() + 1h, [&] { r.add(3); });
    q.stop();
    q.schedule(4, timer_queue::clock::now(), [&] { r.add(4); });  // after stop: dropped
  }
  EXPECT_EQ(r.fired, std::vector<int>{2});
}

TEST(TimerQueue, ACallbackMayScheduleAgain) {
  timer_queue q;
  recorder r;
  std::function<void()> again = [&] {
    r.add(1);
    if (r.fired.size() < 3) q.schedule(1, timer_queue::clock::now(), again);
  };
  q.schedule(1, timer_queue::clock::now(), again);
  ASSERT_TRUE(r.wait(3));
}

}  // namespace
}  // namespace taskwire
