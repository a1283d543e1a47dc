// SPDX-License-Identifier: MIT
#include "server/hub.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

namespace taskwire {
namespace {

// A subscriber that records what it is handed; the tests run the io_context on their own thread,
// so nothing here is shared across threads.
class recording_subscriber final : public subscriber {
 public:
  explicit recording_subscriber(std::string id) : id_(std::move(id)) {}
  const std::string& client_id() const override { return id_; }
  void deliver(std::uint64_t key, std::shared_ptr<const std::vector<event>> events) override {
    for (const auto& e : *events)
      got.push_back({key, e.seq});
  }
  void deliver_replay(std::uint64_t, std::vector<event>,
                      std::shared_ptr<const std::string>) override {}
  void going_away() override { ++going; }

  std::vector<std::pair<std::uint64_t, std::uint64_t>> got;  // task key, seq
  int going = 0;

 private:
  std::string id_;
};

class null_job : public job {
  step run(task_context&) override { return step::finished(nullptr); }
};

std::shared_ptr<task> make(std::uint64_t key, event_router& r) {
  return std::make_shared<task>(key, "t-" + std::to_string(key), "ticker", "alice",
                                std::make_unique<null_job>(), pool_kind::io, r);
}

TEST(Hub, ATasksFirstEventsFindItsSubscriberWhenADrainIsAlreadyPending) {
  // A drain already handed to the strand must not run ahead of a subscription made after it:
  // the new task's `started` would find nobody and be lost.
  boost::asio::io_context ioc;
  hub h(ioc, nullptr);
  auto s = std::make_shared<recording_subscriber>("alice");
  h.join(s);

  auto busy = make(1, h);
  h.subscribe(busy, s);
  ASSERT_TRUE(busy->begin());  // hands task 1 to the hub: a drain is pending from here

  auto fresh = make(2, h);
  h.subscribe(fresh, s);  // after that drain was scheduled
  ASSERT_TRUE(fresh->begin());
  fresh->progress(1, 1);

  ioc.run();
  std::vector<std::pair<std::uint64_t, std::uint64_t>> want{{1, 1}, {2, 1}, {2, 2}};
  EXPECT_EQ(s->got, want);
}

TEST(Hub, AForgottenTaskDeliversNothingAndAFinishedOneEndsItsSubscription) {
  boost::asio::io_context ioc;
  hub h(ioc, nullptr);
  auto s = std::make_shared<recording_subscriber>("alice");
  h.join(s);

  auto never = make(1, h);
  h.subscribe(never, s);
  h.forget(never);
  ASSERT_TRUE(never->begin());  // as if it had run after all: nobody listens

  auto done = make(2, h);
  h.subscribe(done, s);
  ASSERT_TRUE(done->begin());
  ASSERT_TRUE(done->finish(task_state::succeeded, "null", std::nullopt));
  ioc.run();
  ioc.restart();

  std::vector<std::pair<std::uint64_t, std::uint64_t>> want{{2, 1}, {2, 2}};
  EXPECT_EQ(s->got, want);
  h.close_all();
  ioc.run();
  EXPECT_EQ(s->going, 1);
}

TEST(Hub, ManyTasksReadyAtOnceCostOneHandOff) {
  boost::asio::io_context ioc;
  hub h(ioc, nullptr);
  auto s = std::make_shared<recording_subscriber>("alice");
  h.join(s);
  ioc.run();
  ioc.restart();

  std::vector<std::shared_ptr<task>> tasks;
  for (std::uint64_t k = 1; k <= 50; ++k) {
    tasks.push_back(make(k, h));
    h.subscribe(tasks.back(), s);
    ASSERT_TRUE(tasks.back()->begin());
  }
  // Every subscription and every drain rides on the one post: one handler runs.
  EXPECT_EQ(ioc.run(), 1u);
  EXPECT_EQ(s->got.size(), 50u);
}

}  // namespace
}  // namespace taskwire
