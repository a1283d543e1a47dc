// SPDX-License-Identifier: MIT
// The drain: readiness off, no new work, a grace period, then cancel; every finished reaches its
// connections before they close with 1001.
#include <gtest/gtest.h>

#include "support/test_server.hpp"

namespace taskwire::test {
namespace {

TEST(Shutdown, RunningTasksEndWithFinishedThenConnectionsClose1001) {
  test_server srv([](config& c) { c.shutdown_grace_s = 60; });
  auto alice = srv.connect("alice");
  auto bob = srv.connect("bob");
  std::vector<std::string> mine;
  for (int i = 0; i < 5; ++i)
    mine.push_back(submit(*alice, {{"count", 100}, {"interval_ms", 60000}}, "ticker",
                          "a" + std::to_string(i)));
  auto quick = submit(*bob, {{"count", 100}, {"interval_ms", 5}});

  srv.get().shutdown();
  // While draining: not ready, no new submits, no new connections; the short task may finish.
  // shutdown() only posts the drain: ask until it shows, a bounded number of times.
  for (int i = 0; i < 10000 && http_get(srv.port(), "/readyz").status != 503; ++i) {
  }
  EXPECT_EQ(http_get(srv.port(), "/readyz").status, 503);
  EXPECT_EQ(http_get(srv.port(), "/healthz").status, 200);
  EXPECT_EQ(upgrade_status(srv.port(), "/ws?client_id=carol"), 503);
  alice->send_json(
      {{"type", "submit"}, {"id", "late"}, {"task", "ticker"}, {"params", {{"count", 1}}}});
  auto e = alice->next_of("error", "late");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->at("code"), "shutting_down");
  auto bob_fin = bob->next_of("finished", std::nullopt, 20s);
  ASSERT_TRUE(bob_fin);
  EXPECT_EQ(bob_fin->at("status"), "succeeded")
      << "a task that ends within the grace period ends normally";

  srv.get().shutdown();  // a second signal ends the grace period
  std::set<std::string> ended;
  while (auto f = alice->next_of("finished")) {
    EXPECT_EQ(f->at("status"), "cancelled");
    EXPECT_EQ(f->at("error").at("code"), "shutting_down");
    ended.insert(f->at("task_id").get<std::string>());
    if (ended.size() == mine.size()) break;
  }
  EXPECT_EQ(ended, std::set<std::string>(mine.begin(), mine.end()));
  auto code = alice->wait_closed();
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 1001);
  code = bob->wait_closed();
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 1001);
  srv.get().wait();
}

TEST(Shutdown, QueuedTasksAreCancelledToo) {
  test_server srv([](config& c) {
    c.io_workers = 1;
    c.shutdown_grace_s = 0;
  });
  auto c = srv.connect("alice");
  // The first ticker holds the only worker; the rest wait in the queue.
  for (int i = 0; i < 6; ++i)
    c->send_json({{"type", "submit"},
                  {"id", "r" + std::to_string(i)},
                  {"task", "ticker"},
                  {"params", {{"count", 1000000}}}});
  std::set<std::string> ids, ended;
  while (ids.size() < 6) {
    auto e = c->next();
    ASSERT_TRUE(e);
    if (e->at("type") == "accepted") ids.insert(e->at("task_id").get<std::string>());
    if (e->at("type") == "finished") ended.insert(e->at("task_id").get<std::string>());
  }
  srv.get().shutdown();
  while (ended.size() < ids.size()) {
    auto f = c->next_of("finished", std::nullopt, 60s);
    ASSERT_TRUE(f) << ended.size() << " of " << ids.size() << " finished";
    ended.insert(f->at("task_id").get<std::string>());
  }
  EXPECT_EQ(ended, ids);
  auto code = c->wait_closed(60s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 1001);
}

}  // namespace
}  // namespace taskwire::test
