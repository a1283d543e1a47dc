// SPDX-License-Identifier: MIT
// A task's events reach the connection that submitted it, and connections of the same client
// that resumed it, and no one else.
#include <gtest/gtest.h>

#include <set>

#include "support/test_server.hpp"

namespace taskwire::test {
namespace {

// Reads until `tid` finished; returns the task ids seen on the way.
std::set<std::string> task_ids_until_finished(ws_client& c, const std::string& tid) {
  std::set<std::string> seen;
  while (auto e = c.next()) {
    if (e->contains("task_id") && e->contains("seq"))
      seen.insert(e->at("task_id").get<std::string>());
    if (e->at("type") == "finished" && e->at("task_id") == tid) break;
  }
  return seen;
}

TEST(Routing, EachClientGetsOnlyItsOwnTasksEvents) {
  test_server srv;
  auto alice = srv.connect("alice");
  auto bob = srv.connect("bob");
  auto ta = submit(*alice, {{"count", 200}});
  auto tb = submit(*bob, {{"count", 200}});
  EXPECT_EQ(task_ids_until_finished(*alice, ta), std::set<std::string>{ta});
  EXPECT_EQ(task_ids_until_finished(*bob, tb), std::set<std::string>{tb});
}

TEST(Routing, AnotherConnectionOfTheSameClientGetsNothingUntilItResumes) {
  test_server srv;
  auto first = srv.connect("alice");
  auto second = srv.connect("alice");
  auto tid = submit(*first, {{"count", 20}});
  EXPECT_EQ(task_ids_until_finished(*first, tid), std::set<std::string>{tid});
  second->send_json({{"type", "tasks"}, {"id", "q"}});
  auto r = second->next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->at("type"), "tasks") << "the second connection got a task event: " << r->dump();
}

TEST(Routing, BothConnectionsOfAClientGetEventsAfterAResume) {
  test_server srv;
  auto first = srv.connect("alice");
  auto second = srv.connect("alice");
  auto tid = submit(*first, {{"count", 1000}, {"interval_ms", 5}});
  second->send_json({{"type", "resume"}, {"id", "r"}, {"task_id", tid}, {"after_seq", 0}});
  ASSERT_TRUE(second->next_of("ok", "r"));
  // Cancel to keep the test short; both connections see the same single finished.
  first->send_json({{"type", "cancel"}, {"id", "c"}, {"task_id", tid}});
  auto a = first->next_of("finished");
  auto b = second->next_of("finished");
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(a->at("status"), "cancelled");
}

TEST(Routing, AnotherClientCannotCancelListOrResumeMyTask) {
  test_server srv;
  auto alice = srv.connect("alice");
  auto mallory = srv.connect("mallory");
  auto tid = submit(*alice, {{"count", 100}, {"interval_ms", 20}});
  mallory->send_json({{"type", "cancel"}, {"id", "c"}, {"task_id", tid}});
  auto e = mallory->next_of("error", "c");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->at("code"), "not_found");
  mallory->send_json({{"type", "resume"}, {"id", "r"}, {"task_id", tid}, {"after_seq", 0}});
  e = mallory->next_of("error", "r");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->at("code"), "not_found");
  mallory->send_json({{"type", "tasks"}, {"id", "t"}});
  auto list = mallory->next_of("tasks", "t");
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->at("tasks").empty());
  // Alice's task was not touched.
  alice->send_json({{"type", "tasks"}, {"id", "t"}});
  list = alice->next_of("tasks", "t");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->at("tasks").size(), 1u);
  EXPECT_EQ(list->at("tasks")[0].at("state"), "running");
}

TEST(Routing, TasksListsTheClientsTasksWithStateAndSeq) {
  test_server srv;
  auto c = srv.connect("alice");
  auto done = submit(*c, {{"count", 3}}, "ticker", "a");
  ASSERT_TRUE(c->next_of("finished"));
  auto running = submit(*c, {{"count", 100}, {"interval_ms", 1000}}, "ticker", "b");
  ASSERT_TRUE(c->next_of("started"));
  c->send_json({{"type", "tasks"}, {"id", "t"}});
  auto list = c->next_of("tasks", "t");
  ASSERT_TRUE(list);
  std::map<std::string, nlohmann::json> by_id;
  for (const auto& t : list->at("tasks"))
    by_id[t.at("task_id")] = t;
  ASSERT_EQ(by_id.size(), 2u);
  EXPECT_EQ(by_id[done].at("state"), "succeeded");
  EXPECT_EQ(by_id[done].at("seq"), 5);
  EXPECT_EQ(by_id[done].at("task"), "ticker");
  EXPECT_EQ(by_id[running].at("state"), "running");
  EXPECT_EQ(by_id[running].at("seq"), 1);
}

}  // namespace
}  // namespace taskwire::test
