// SPDX-License-Identifier: MIT
#include "workers/worker_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <thread>

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

TEST(WorkerPool, ABurstOfBlockingJobsWakesEveryWorkerItNeeds) {
  // Sleeping workers are woken one at a time, each waking the next while work is left: a burst
  // of jobs that each block until all of them run must still get all eight workers (with one
  // wake per burst and no chaining, this would wait forever; the latch has a deadline instead).
  constexpr int workers = 8;
  worker_pool pool("t", workers, 100);
  for (int round = 0; round < 20; ++round) {
    std::latch all_running(workers);
    std::atomic<int> released{0};
    for (int i = 0; i < workers; ++i)
      ASSERT_TRUE(pool.try_post([&] {
        all_running.count_down();
        // The other jobs must start while this one holds its worker.
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!all_running.try_wait() && std::chrono::steady_clock::now() < deadline)
          std::this_thread::yield();
        ++released;
      }));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (released < workers && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
    ASSERT_TRUE(all_running.try_wait()) << "round " << round << ": not every worker was woken";
    ASSERT_EQ(released, workers);
  }
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
