// SPDX-License-Identifier: MIT
#include "workers/task.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace taskwire {
namespace {

// Holds events until the test takes them, like a hub whose strand is busy.
class holding_router : public event_router {
 public:
  void schedule_drain(std::shared_ptr<task>) override { ++scheduled; }
  int scheduled = 0;
};

class null_job : public job {
  step run(task_context&) override { return step::finished(nullptr); }
};

std::shared_ptr<task> make(event_router& r) {
  return std::make_shared<task>(1, "t-1", "ticker", "alice", std::make_unique<null_job>(),
                                pool_kind::io, r);
}

std::vector<std::uint64_t> seqs(const std::vector<event>& evs) {
  std::vector<std::uint64_t> out;
  for (const auto& e : evs)
    out.push_back(e.seq);
  return out;
}

TEST(Task, SeqCountsFromOneAcrossEveryEventKind) {
  holding_router r;
  auto t = make(r);
  EXPECT_EQ(t->state(), task_state::queued);
  t->progress(1, 2);  // before begin: ignored
  ASSERT_TRUE(t->begin());
  EXPECT_FALSE(t->begin());
  t->progress(1, 2);
  t->item(nlohmann::json{{"a", 1}});
  t->progress(2, 2);
  ASSERT_TRUE(t->finish(task_state::succeeded, R"({"n":2})", std::nullopt));
  EXPECT_FALSE(t->finish(task_state::failed, "null", std::nullopt)) << "finished exactly once";
  t->item(nlohmann::json{{"late", true}});  // after the end: ignored
  auto evs = t->take_pending();
  EXPECT_EQ(seqs(evs), (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(evs.front().kind, event_kind::started);
  EXPECT_EQ(evs.back().kind, event_kind::finished);
  EXPECT_EQ(t->last_seq(), 5u);
  EXPECT_EQ(t->state(), task_state::succeeded);
  EXPECT_TRUE(t->ended_at());
}

TEST(Task, OneDrainIsScheduledPerBatchNotPerEvent) {
  holding_router r;
  auto t = make(r);
  t->begin();
  for (int i = 0; i < 100; ++i)
    t->progress(i, 100);
  EXPECT_EQ(r.scheduled, 1);
  EXPECT_EQ(t->take_pending().size(), 101u);
  t->progress(100, 100);
  EXPECT_EQ(r.scheduled, 2);
  EXPECT_TRUE(t->take_pending().size() == 1);
  EXPECT_TRUE(t->take_pending().empty());
}

TEST(Task, RetainsStartedItemsFinishedAndOnlyTheLatestProgress) {
  holding_router r;
  auto t = make(r);
  t->begin();           // 1
  t->progress(1, 4);    // 2
  t->item({{"i", 1}});  // 3
  t->progress(2, 4);    // 4
  t->progress(3, 4);    // 5
  t->item({{"i", 2}});  // 6
  t->progress(4, 4);    // 7
  EXPECT_EQ(seqs(t->retained_after(0)), (std::vector<std::uint64_t>{1, 3, 6, 7}));
  t->finish(task_state::succeeded, "null", std::nullopt);  // 8
  EXPECT_EQ(seqs(t->retained_after(0)), (std::vector<std::uint64_t>{1, 3, 6, 7, 8}));
  EXPECT_EQ(seqs(t->retained_after(3)), (std::vector<std::uint64_t>{6, 7, 8}));
  EXPECT_EQ(seqs(t->retained_after(7)), (std::vector<std::uint64_t>{8}));
  EXPECT_TRUE(t->retained_after(8).empty());
}

TEST(Task, LatestProgressIsReplayedInItsPlaceBeforeLaterItems) {
  holding_router r;
  auto t = make(r);
  t->begin();           // 1
  t->progress(1, 2);    // 2
  t->item({{"i", 1}});  // 3
  EXPECT_EQ(seqs(t->retained_after(0)), (std::vector<std::uint64_t>{1, 2, 3}));
}

TEST(Task, TheEndedHookRunsWhenTheTaskIsFinalButItsFinishedDoesNotExistYet) {
  // What the hook counts (the registry's place, the metrics) is counted before a client can
  // see the `finished`; a resume in that moment must learn that no `finished` exists yet.
  holding_router r;
  auto t = make(r);
  ASSERT_TRUE(t->begin());
  bool ran = false;
  ASSERT_TRUE(t->finish(task_state::succeeded, "null", std::nullopt, [&] {
    ran = true;
    EXPECT_TRUE(is_final(t->state()));
    bool finished = true;
    auto evs = t->retained_after(0, &finished);
    EXPECT_FALSE(finished) << "the finished is emitted after the hook";
    EXPECT_EQ(seqs(evs), (std::vector<std::uint64_t>{1}));
    t->progress(1, 1);  // ignored: the task has ended
  }));
  EXPECT_TRUE(ran);
  bool finished = false;
  EXPECT_EQ(seqs(t->retained_after(0, &finished)), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_TRUE(finished);
  EXPECT_FALSE(t->finish(task_state::failed, "null", std::nullopt, [] { FAIL() << "ran twice"; }));
}

TEST(Task, QueuedTaskCanBeEndedWithStartedThenFinished) {
  holding_router r;
  auto t = make(r);
  ASSERT_TRUE(t->finish_if_queued(task_state::cancelled, std::nullopt));
  EXPECT_FALSE(t->begin()) << "a worker that picks it up later does nothing";
  EXPECT_FALSE(t->finish_if_queued(task_state::cancelled, std::nullopt));
  auto evs = t->take_pending();
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].kind, event_kind::started);
  EXPECT_EQ(evs[1].kind, event_kind::finished);
  auto fin = nlohmann::json::parse(*evs[1].frame);
  EXPECT_EQ(fin.at("status"), "cancelled");
  EXPECT_EQ(fin.at("seq"), 2);
}

TEST(Task, RunningTaskIsNotEndedAsQueued) {
  holding_router r;
  auto t = make(r);
  t->begin();
  EXPECT_FALSE(t->finish_if_queued(task_state::cancelled, std::nullopt));
  EXPECT_EQ(t->state(), task_state::running);
}

TEST(Task, FirstStopReasonWins) {
  holding_router r;
  auto t = make(r);
  EXPECT_FALSE(t->stop_requested());
  t->request_stop(stop_reason::timeout);
  t->request_stop(stop_reason::cancel);
  EXPECT_TRUE(t->stop_requested());
  EXPECT_EQ(t->why_stopped(), stop_reason::timeout);
}

}  // namespace
}  // namespace taskwire
