// SPDX-License-Identifier: MIT
#include "workers/worker_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>

namespace taskwire {
namespace {

TEST(WorkerPool, RunsJobsOnItsThreads) {
  worker_pool pool("t", 3, 100);
  std::latch done(50);
  std::atomic<int> ran{0};
  for (int i = 0; i < 50; ++i)
    ASSERT_TRUE(pool.try_post([&] {
      ++ran;
      done.count_down();
    }));
  done.wait();
  EXPECT_EQ(ran, 50);
  EXPECT_EQ(pool.threads(), 3);
}

TEST(WorkerPool, TryPostIsBoundedButPostIsNot) {
  worker_pool pool("t", 1, 2);
  std::latch entered(1), release(1);
  ASSERT_TRUE(pool.try_post([&] {
    entered.count_down();
    release.wait();
  }));
  entered.wait();
  EXPECT_TRUE(pool.try_post([] {}));
  EXPECT_TRUE(pool.try_post([] {}));
  EXPECT_FALSE(pool.try_post([] {}));
  pool.post([] {});  // a continuation of accepted work is never refused
  EXPECT_EQ(pool.queued(), 3u);
  release.count_down();
}

TEST(WorkerPool, StopJoinsAndDropsWaitingJobs) {
  std::atomic<int> ran{0};
  worker_pool pool("t", 1, 10);
  std::latch entered(1), release(1);
  pool.try_post([&] {
    entered.count_down();
    release.wait();
  });
  entered.wait();
  pool.try_post([&] { ++ran; });
  release.count_down();
  pool.stop();
  EXPECT_FALSE(pool.try_post([&] { ++ran; }));
  EXPECT_LE(ran, 1);
}

}  // namespace
}  // namespace taskwire
