// SPDX-License-Identifier: MIT
#include "workers/task_runner.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <latch>
#include <nlohmann/json.hpp>

#include "handlers/registry.hpp"
#include "test_router.hpp"
#include "workers/task_registry.hpp"

namespace taskwire {
namespace {

using namespace std::chrono_literals;
using test::test_router;

// Occupies a worker until released; lets a test fill a pool deterministically.
class blocking_job : public job {
 public:
  blocking_job(std::latch& entered, std::latch& release) : entered_(entered), release_(release) {}
  step run(task_context&) override {
    entered_.count_down();
    release_.wait();
    return step::finished({{"done", true}});
  }

 private:
  std::latch& entered_;
  std::latch& release_;
};

class throwing_job : public job {
 public:
  explicit throwing_job(bool protocol_error) : protocol_error_(protocol_error) {}
  step run(task_context& ctx) override {
    ctx.progress(1, 2);
    if (protocol_error_) throw task_failure("io_error", "disk on fire");
    throw std::runtime_error("boom");
  }

 private:
  bool protocol_error_;
};

class runner_test : public ::testing::Test {
 protected:
  std::shared_ptr<task> make(std::unique_ptr<job> j, pool_kind pool = pool_kind::io) {
    auto key = next_key_++;
    return std::make_shared<task>(key, "t-" + std::to_string(key), "test", "alice", std::move(j),
                                  pool, router_);
  }
  std::shared_ptr<task> ticker(const nlohmann::json& params) {
    auto p = handlers_.find("ticker")->prepare(params, cfg_);
    EXPECT_TRUE(p.body);
    return make(std::move(p.body));
  }
  std::string status_of(const std::shared_ptr<task>& t) {
    for (const auto& e : router_.of(t->id()))
      if (e.at("type") == "finished") return e.at("status");
    return "";
  }

  test_router router_;
  handler_registry handlers_ = builtin_handlers();
  config cfg_;
  // on_finished runs after the finished event was handed over, so wait for it too.
  bool wait_calls(int n) {
    std::unique_lock lock(calls_mu_);
    return calls_cv_.wait_for(lock, 10s, [&] { return calls_ >= n; });
  }
  int calls() {
    std::lock_guard lock(calls_mu_);
    return calls_;
  }

  std::mutex calls_mu_;
  std::condition_variable calls_cv_;
  int calls_ = 0;
  task_runner runner_{1, 1, 2, [this](const task&) {
                        std::lock_guard lock(calls_mu_);
                        ++calls_;
                        calls_cv_.notify_all();
                      }};
  std::uint64_t next_key_ = 1;
};

TEST_F(runner_test, TickerRunsToSucceeded) {
  auto t = ticker({{"count", 3}});
  ASSERT_TRUE(runner_.start(t));
  ASSERT_TRUE(router_.wait_finished(1));
  auto evs = router_.of(t->id());
  ASSERT_EQ(evs.size(), 5u);
  EXPECT_EQ(evs[0].at("type"), "started");
  EXPECT_EQ(evs[3].at("done"), 3);
  EXPECT_EQ(evs[4].at("result").at("ticks"), 3);
  EXPECT_TRUE(wait_calls(1));
  EXPECT_EQ(calls(), 1);
}

TEST_F(runner_test, AThrowingJobEndsFailedAndTheWorkerLivesOn) {
  auto a = make(std::make_unique<throwing_job>(false));
  auto b = make(std::make_unique<throwing_job>(true));
  runner_.start(a);
  runner_.start(b);
  ASSERT_TRUE(router_.wait_finished(2));
  auto fa = router_.of(a->id()).back();
  EXPECT_EQ(fa.at("status"), "failed");
  EXPECT_EQ(fa.at("error").at("code"), "internal");
  EXPECT_EQ(fa.at("error").at("message"), "boom");
  auto fb = router_.of(b->id()).back();
  EXPECT_EQ(fb.at("error").at("code"), "io_error");
  EXPECT_EQ(fb.at("error").at("message"), "disk on fire");
  auto c = ticker({{"count", 1}});
  runner_.start(c);
  ASSERT_TRUE(router_.wait_finished(3));
  EXPECT_EQ(status_of(c), "succeeded");
}

TEST_F(runner_test, QueueFullWhenThePoolsQueueIsAtItsBound) {
  std::latch entered(1), release(1);
  auto busy = make(std::make_unique<blocking_job>(entered, release));
  ASSERT_TRUE(runner_.start(busy));
  entered.wait();  // the single io worker is now held
  auto q1 = ticker({{"count", 1}});
  auto q2 = ticker({{"count", 1}});
  auto q3 = ticker({{"count", 1}});
  EXPECT_TRUE(runner_.start(q1));
  EXPECT_TRUE(runner_.start(q2));
  EXPECT_FALSE(runner_.start(q3)) << "max_queued is 2";
  // The cpu pool has its own queue.
  auto c = make(std::make_unique<throwing_job>(true), pool_kind::cpu);
  EXPECT_TRUE(runner_.start(c));
  release.count_down();
  ASSERT_TRUE(router_.wait_finished(4));
  EXPECT_EQ(status_of(q1), "succeeded");
  EXPECT_EQ(status_of(q2), "succeeded");
  EXPECT_EQ(status_of(q3), "");
}

TEST_F(runner_test, CancellingAQueuedTaskEndsItAtOnce) {
  std::latch entered(1), release(1);
  auto busy = make(std::make_unique<blocking_job>(entered, release));
  runner_.start(busy);
  entered.wait();
  auto queued = ticker({{"count", 5}});
  ASSERT_TRUE(runner_.start(queued));
  runner_.cancel(queued, stop_reason::cancel);
  // Finished while the only worker is still held: it did not wait for one.
  ASSERT_TRUE(router_.wait_finished(1));
  EXPECT_EQ(status_of(queued), "cancelled");
  auto evs = router_.of(queued->id());
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].at("type"), "started");
  release.count_down();
  ASSERT_TRUE(router_.wait_finished(2));
  EXPECT_EQ(router_.of(queued->id()).size(), 2u) << "the worker skipped the cancelled task";
  EXPECT_TRUE(wait_calls(2));
  EXPECT_EQ(calls(), 2);
}

TEST_F(runner_test, CancellingAWaitingTickerWakesItNow) {
  auto t = ticker({{"count", 5}, {"interval_ms", 60000}});
  runner_.start(t);
  runner_.cancel(t, stop_reason::cancel);
  ASSERT_TRUE(router_.wait_finished(1, 10s));
  EXPECT_EQ(status_of(t), "cancelled");
}

TEST_F(runner_test, TimeoutEndsFailedWithCodeTimeout) {
  auto t = ticker({{"count", 5}, {"interval_ms", 60000}});
  runner_.start(t, 20);
  ASSERT_TRUE(router_.wait_finished(1, 10s));
  auto fin = router_.of(t->id()).back();
  EXPECT_EQ(fin.at("status"), "failed");
  EXPECT_EQ(fin.at("error").at("code"), "timeout");
}

TEST_F(runner_test, ShutdownCancelsWithShuttingDown) {
  auto t = ticker({{"count", 5}, {"interval_ms", 60000}});
  runner_.start(t);
  runner_.cancel(t, stop_reason::shutdown);
  ASSERT_TRUE(router_.wait_finished(1, 10s));
  auto fin = router_.of(t->id()).back();
  EXPECT_EQ(fin.at("status"), "cancelled");
  EXPECT_EQ(fin.at("error").at("code"), "shutting_down");
}

TEST_F(runner_test, ATaskThatEndedBeforeTheCancelKeepsItsStatus) {
  auto t = ticker({{"count", 2}});
  runner_.start(t);
  ASSERT_TRUE(router_.wait_finished(1));
  runner_.cancel(t, stop_reason::cancel);
  EXPECT_EQ(status_of(t), "succeeded");
  EXPECT_EQ(router_.of(t->id()).size(), 4u);
  EXPECT_TRUE(wait_calls(1));
  EXPECT_EQ(calls(), 1);
}

TEST(Registry, PerClientLimitDiscardAndFinish) {
  test_router r;
  task_registry reg(2, std::chrono::milliseconds(60000));
  auto make_job = [] {
    return builtin_handlers().find("ticker")->prepare({{"count", 1}}, config{}).body;
  };
  auto a = reg.create("alice", "ticker", make_job(), pool_kind::io, r);
  auto b = reg.create("alice", "ticker", make_job(), pool_kind::io, r);
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->id(), b->id());
  EXPECT_FALSE(reg.create("alice", "ticker", make_job(), pool_kind::io, r)) << "too_many_tasks";
  EXPECT_TRUE(reg.create("bob", "ticker", make_job(), pool_kind::io, r));
  reg.discard(*b);
  EXPECT_FALSE(reg.find("alice", b->id()));
  auto c = reg.create("alice", "ticker", make_job(), pool_kind::io, r);
  ASSERT_TRUE(c);
  a->begin();
  a->finish(task_state::succeeded, "null", std::nullopt);
  reg.on_finished(*a);
  EXPECT_TRUE(reg.create("alice", "ticker", make_job(), pool_kind::io, r))
      << "a finished task frees its place";
  EXPECT_EQ(reg.active(), 3u);
  EXPECT_EQ(reg.find("alice", a->id()), a);
  EXPECT_FALSE(reg.find("bob", a->id())) << "another client's task is not found";
  EXPECT_EQ(reg.of_client("alice").size(), 3u);
  EXPECT_EQ(reg.unfinished_of("alice").size(), 2u);
}

TEST(Registry, FinishedTasksExpireAfterTheTtl) {
  test_router r;
  task_registry reg(10, std::chrono::milliseconds(1000));
  auto j = builtin_handlers().find("ticker")->prepare({{"count", 1}}, config{}).body;
  auto t = reg.create("alice", "ticker", std::move(j), pool_kind::io, r);
  t->begin();
  t->finish(task_state::succeeded, "null", std::nullopt);
  reg.on_finished(*t);
  auto ended = *t->ended_at();
  EXPECT_EQ(reg.prune(ended + std::chrono::milliseconds(500)), 0u);
  EXPECT_TRUE(reg.find("alice", t->id()));
  EXPECT_EQ(reg.prune(ended + std::chrono::milliseconds(1500)), 1u);
  EXPECT_FALSE(reg.find("alice", t->id()));
  EXPECT_EQ(reg.retained(), 0u);
}

}  // namespace
}  // namespace taskwire
