// SPDX-License-Identifier: MIT
// Submit to finished over a real connection: the event stream's shape and numbering.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "support/test_server.hpp"

namespace taskwire::test {
namespace {

TEST(Hello, NamesClientTasksAndRoots) {
  test_server srv;
  auto c = ws_client::connect(srv.port(), "/ws?client_id=alice");
  auto hello = c->next();
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->at("type"), "hello");
  EXPECT_EQ(hello->at("protocol"), 1);
  EXPECT_EQ(hello->at("client_id"), "alice");
  EXPECT_EQ(hello->at("server").get<std::string>().rfind("taskwire/", 0), 0u);
  EXPECT_EQ(hello->at("tasks"), nlohmann::json::array({"hash_files", "scan_models", "ticker"}));
  EXPECT_EQ(hello->at("roots"), nlohmann::json::array({"models"}));
}

TEST(Hello, MakesAClientIdWhenNoneIsGiven) {
  test_server srv;
  for (std::string target : {"/ws", "/ws?client_id="}) {
    auto c = ws_client::connect(srv.port(), target);
    auto hello = c->next();
    ASSERT_TRUE(hello);
    auto id = hello->at("client_id").get<std::string>();
    EXPECT_EQ(id.size(), 36u) << id;  // a UUID
  }
}

TEST(Submit, StreamsStartedProgressFinishedInSeqOrder) {
  test_server srv;
  auto c = srv.connect("alice");
  c->send_json({{"type", "submit"}, {"id", "r1"}, {"task", "ticker"}, {"params", {{"count", 50}}}});
  auto accepted = c->next();
  ASSERT_TRUE(accepted);
  ASSERT_EQ(accepted->at("type"), "accepted");  // before started
  EXPECT_EQ(accepted->at("id"), "r1");
  auto tid = accepted->at("task_id").get<std::string>();

  auto started = c->next();
  ASSERT_TRUE(started);
  EXPECT_EQ(started->at("type"), "started");
  EXPECT_EQ(started->at("task_id"), tid);
  EXPECT_EQ(started->at("seq"), 1);
  for (int i = 1; i <= 50; ++i) {
    auto p = c->next();
    ASSERT_TRUE(p);
    ASSERT_EQ(p->at("type"), "progress");
    EXPECT_EQ(p->at("seq"), i + 1);
    EXPECT_EQ(p->at("done"), i);
    EXPECT_EQ(p->at("total"), 50);
  }
  auto fin = c->next();
  ASSERT_TRUE(fin);
  EXPECT_EQ(fin->at("type"), "finished");
  EXPECT_EQ(fin->at("seq"), 52);
  EXPECT_EQ(fin->at("status"), "succeeded");
  EXPECT_EQ(fin->at("result"), (nlohmann::json{{"ticks", 50}}));
  EXPECT_TRUE(fin->at("error").is_null());
  EXPECT_TRUE(fin->at("elapsed_ms").is_number_integer());
  EXPECT_FALSE(c->next(200ms)) << "nothing may follow finished";
}

TEST(Submit, ZeroTicksStillStartsAndFinishes) {
  test_server srv;
  auto c = srv.connect("alice");
  auto tid = submit(*c, {{"count", 0}});
  auto s = c->next();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->at("type"), "started");
  auto f = c->next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->at("type"), "finished");
  EXPECT_EQ(f->at("seq"), 2);
  EXPECT_EQ(f->at("status"), "succeeded");
}

TEST(Submit, FailAtEndsFailedWithTaskFailed) {
  test_server srv;
  auto c = srv.connect("alice");
  auto tid = submit(*c, {{"count", 10}, {"fail_at", 4}});
  std::vector<int> done;
  std::optional<nlohmann::json> fin;
  while (auto e = c->next()) {
    if (e->at("type") == "progress") done.push_back(e->at("done"));
    if (e->at("type") == "finished") {
      fin = e;
      break;
    }
  }
  ASSERT_TRUE(fin);
  EXPECT_EQ(done, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(fin->at("status"), "failed");
  EXPECT_EQ(fin->at("error").at("code"), "task_failed");
  EXPECT_TRUE(fin->at("result").is_null());
}

TEST(Submit, TicksWithAnIntervalDoNotHoldWorkers) {
  // Twelve waiting tickers on four io workers all run at once: a waiting task holds no thread,
  // so none of them queues behind another.
  test_server srv;
  auto c = srv.connect("alice");
  for (int i = 0; i < 12; ++i)
    c->send_json({{"type", "submit"},
                  {"id", "r" + std::to_string(i)},
                  {"task", "ticker"},
                  {"params", {{"count", 3}, {"interval_ms", 20}}}});
  std::set<std::string> accepted, started_before_any_finished, finished;
  while (finished.size() < 12) {
    auto e = c->next();
    ASSERT_TRUE(e) << "only " << finished.size() << " finished";
    auto type = e->at("type").get<std::string>();
    if (type == "accepted") accepted.insert(e->at("task_id").get<std::string>());
    if (type == "started" && finished.empty())
      started_before_any_finished.insert(e->at("task_id").get<std::string>());
    if (type == "finished") {
      EXPECT_EQ(e->at("status"), "succeeded");
      finished.insert(e->at("task_id").get<std::string>());
    }
  }
  EXPECT_EQ(accepted.size(), 12u);
  EXPECT_EQ(finished, accepted);
  EXPECT_EQ(started_before_any_finished.size(), 12u) << "some tickers waited for a worker";
}

TEST(Submit, TimeoutEndsTheTaskFailedWithTimeout) {
  test_server srv;
  auto c = srv.connect("alice");
  c->send_json({{"type", "submit"},
                {"id", "r1"},
                {"task", "ticker"},
                {"params", {{"count", 1000}, {"interval_ms", 1000}}},
                {"timeout_ms", 50}});
  ASSERT_TRUE(c->next_of("accepted", "r1"));
  auto fin = c->next_of("finished");
  ASSERT_TRUE(fin);
  EXPECT_EQ(fin->at("status"), "failed");
  EXPECT_EQ(fin->at("error").at("code"), "timeout");
}

TEST(Submit, TasksOfOneClientEachCountFromOne) {
  test_server srv;
  auto c = srv.connect("alice");
  for (std::string id : {"a", "b"})
    c->send_json({{"type", "submit"}, {"id", id}, {"task", "ticker"}, {"params", {{"count", 30}}}});
  std::map<std::string, int> last;
  int finished = 0;
  while (finished < 2) {
    auto e = c->next();
    ASSERT_TRUE(e);
    if (!e->contains("seq")) continue;
    auto tid = e->at("task_id").get<std::string>();
    int seq = e->at("seq");
    EXPECT_EQ(seq, last[tid] + 1) << "task " << tid;
    last[tid] = seq;
    if (e->at("type") == "finished") ++finished;
  }
  ASSERT_EQ(last.size(), 2u);
  for (const auto& [tid, seq] : last)
    EXPECT_EQ(seq, 32) << tid;
}

}  // namespace
}  // namespace taskwire::test
