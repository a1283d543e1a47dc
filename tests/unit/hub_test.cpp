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

// A hub on an io_context the test runs itself, with one connection of "alice" joined.
struct hub_with_alice {
  boost::asio::io_context ioc;
  hub h{ioc, nullptr};
  std::shared_ptr<recording_subscriber> alice = std::make_shared<recording_subscriber>("alice");

  hub_with_alice() { h.join(alice); }

  std::shared_ptr<task> task_of_alice(std::uint64_t key) {
    auto t = std::make_shared<task>(key, "t-" + std::to_string(key), "ticker", "alice",
                                    std::make_unique<null_job>(), pool_kind::io, h);
    h.subscribe(t, alice);
    return t;
  }
  std::size_t run() {
    ioc.restart();
    return ioc.run();
  }
};

using delivered = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

TEST(Hub, ATasksFirstEventsFindItsSubscriberWhenADrainIsAlreadyPending) {
  // A drain already handed to the strand must not run ahead of a subscription made after it:
  // the new task's `started` would find nobody and be lost.
  hub_with_alice f;
  auto busy = f.task_of_alice(1);
  ASSERT_TRUE(busy->begin());       // hands task 1 to the hub: a drain is pending from here
  auto fresh = f.task_of_alice(2);  // subscribed after that drain was scheduled
  ASSERT_TRUE(fresh->begin());
  fresh->progress(1, 1);
  f.run();
  EXPECT_EQ(f.alice->got, (delivered{{1, 1}, {2, 1}, {2, 2}}));
}

TEST(Hub, AForgottenTaskDeliversNothingAndAFinishedOneEndsItsSubscription) {
  hub_with_alice f;
  auto never = f.task_of_alice(1);
  f.h.forget(never);
  ASSERT_TRUE(never->begin());  // as if it had run after all: nobody listens
  auto done = f.task_of_alice(2);
  ASSERT_TRUE(done->begin());
  ASSERT_TRUE(done->finish(task_state::succeeded, "null", std::nullopt));
  f.run();
  EXPECT_EQ(f.alice->got, (delivered{{2, 1}, {2, 2}}));
  f.h.close_all();
  f.run();
  EXPECT_EQ(f.alice->going, 1);
}

TEST(Hub, ManyTasksReadyAtOnceCostOneHandOff) {
  hub_with_alice f;
  f.run();  // the join
  std::vector<std::shared_ptr<task>> tasks;
  for (std::uint64_t k = 1; k <= 50; ++k) {
    tasks.push_back(f.task_of_alice(k));
    ASSERT_TRUE(tasks.back()->begin());
  }
  // Every subscription and every drain rides on the one post: one handler runs.
  EXPECT_EQ(f.run(), 1u);
  EXPECT_EQ(f.alice->got.size(), 50u);
}

}  // namespace
}  // namespace taskwire
