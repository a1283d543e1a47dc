// SPDX-License-Identifier: MIT
// cancel: ok, then exactly one finished{cancelled} (or the ending that came first).
#include <gtest/gtest.h>

#include "support/test_server.hpp"

namespace taskwire::test {
namespace {

TEST(Cancel, OkThenExactlyOneFinishedCancelled) {
  test_server srv;
  auto c = srv.connect("alice");
  // An interval long enough that only a cancel that interrupts the wait ends it in time.
  auto tid = submit(*c, {{"count", 10}, {"interval_ms", 60000}});
  ASSERT_TRUE(c->next_of("started"));
  auto asked = std::chrono::steady_clock::now();
  c->send_json({{"type", "cancel"}, {"id", "c1"}, {"task_id", tid}});
  auto ok = c->next();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->at("type"), "ok");
  EXPECT_EQ(ok->at("id"), "c1");
  auto fin = c->next(5s);
  ASSERT_TRUE(fin);
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 30s) << "cancel did not interrupt the wait";
  EXPECT_EQ(fin->at("type"), "finished");
  EXPECT_EQ(fin->at("status"), "cancelled");
  EXPECT_EQ(fin->at("seq"), 2);
  // A second cancel of the finished task: ok and nothing more.
  c->send_json({{"type", "cancel"}, {"id", "c2"}, {"task_id", tid}});
  auto ok2 = c->next();
  ASSERT_TRUE(ok2);
  EXPECT_EQ(ok2->at("type"), "ok");
  EXPECT_FALSE(c->next(200ms));
}

TEST(Cancel, ManyCancelsStillGiveOneFinished) {
  test_server srv;
  auto c = srv.connect("alice");
  auto tid = submit(*c, {{"count", 1000000}});
  for (int i = 0; i < 5; ++i)
    c->send_json({{"type", "cancel"}, {"id", "c"}, {"task_id", tid}});
  int finished = 0, oks = 0;
  while (auto e = c->next(1s)) {
    if (e->at("type") == "finished") ++finished;
    if (e->at("type") == "ok") ++oks;
  }
  EXPECT_EQ(finished, 1);
  EXPECT_EQ(oks, 5);
}

TEST(Cancel, ADisconnectDoesNotCancelByDefault) {
  test_server srv;
  std::string tid;
  {
    auto c = srv.connect("alice");
    tid = submit(*c, {{"count", 3}, {"interval_ms", 50}});
    c->drop();
  }
  auto c = srv.connect("alice");
  c->send_json({{"type", "resume"}, {"id", "r"}, {"task_id", tid}, {"after_seq", 0}});
  auto fin = c->next_of("finished");
  ASSERT_TRUE(fin);
  EXPECT_EQ(fin->at("status"), "succeeded");
}

TEST(Cancel, CancelOnDisconnectCancelsWhenTheLastConnectionGoes) {
  test_server srv([](config& c) { c.cancel_on_disconnect = true; });
  std::string tid;
  {
    auto c = srv.connect("alice");
    tid = submit(*c, {{"count", 100}, {"interval_ms", 60000}});
    ASSERT_TRUE(c->next_of("started"));
    c->drop();
  }
  // The cancel happens when the server notices the drop; a new connection of alice that joined
  // before that would rightly keep the task alive, so the test waits for the cancel first.
  ASSERT_TRUE(
      wait_metric(srv.port(), "taskwire_tasks_finished_total{status=\"cancelled\"}", "1", 10s));
  auto c = srv.connect("alice");
  c->send_json({{"type", "resume"}, {"id", "r"}, {"task_id", tid}, {"after_seq", 0}});
  auto fin = c->next_of("finished");
  ASSERT_TRUE(fin);
  EXPECT_EQ(fin->at("status"), "cancelled");
}

}  // namespace
}  // namespace taskwire::test
