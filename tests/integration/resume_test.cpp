// SPDX-License-Identifier: MIT
// Tasks survive a reconnect: resume replays what was retained after after_seq, then ok, then
// the live events, with no seq repeated or skipped for a prompt reader.
#include <gtest/gtest.h>

#include "support/test_server.hpp"

namespace taskwire::test {
namespace {

TEST(Resume, AfterReconnectReplaysThenOkThenLive) {
  test_server srv;
  std::string tid;
  int last_seen = 0;
  {
    auto c = srv.connect("alice");
    tid = submit(*c, {{"count", 30}, {"interval_ms", 20}});
    for (int i = 0; i < 4; ++i) {
      auto e = c->next();
      ASSERT_TRUE(e);
      last_seen = e->at("seq");
    }
    c->drop();
  }
  auto c = srv.connect("alice");
  c->send_json({{"type", "resume"}, {"id", "r"}, {"task_id", tid}, {"after_seq", last_seen}});
  int expect = last_seen + 1;
  bool ok_seen = false;
  std::optional<nlohmann::json> fin;
  while (auto e = c->next()) {
    if (e->at("type") == "ok") {
      EXPECT_FALSE(ok_seen);
      ok_seen = true;
      continue;
    }
    int seq = e->at("seq");
    // Replay holds only the latest progress, so the replayed part may skip older progress;
    // seq still never goes back or repeats.
    EXPECT_GE(seq, expect);
    if (ok_seen) {
      EXPECT_EQ(seq, expect) << "a gap in the live part";
    }
    expect = seq + 1;
    if (e->at("type") == "finished") {
      fin = e;
      break;
    }
  }
  ASSERT_TRUE(ok_seen);
  ASSERT_TRUE(fin);
  EXPECT_EQ(fin->at("status"), "succeeded");
  EXPECT_EQ(fin->at("seq"), 32);
}

TEST(Resume, OfAFinishedTaskReplaysStartedLatestProgressAndFinished) {
  test_server srv;
  std::string tid;
  {
    auto c = srv.connect("alice");
    tid = submit(*c, {{"count", 10}});
    ASSERT_TRUE(c->next_of("finished"));
  }
  auto c = srv.connect("alice");
  c->send_json({{"type", "resume"}, {"id", "r"}, {"task_id", tid}, {"after_seq", 0}});
  std::vector<std::string> types;
  std::vector<int> seqs;
  while (auto e = c->next(2s)) {
    types.push_back(e->at("type"));
    if (e->contains("seq")) seqs.push_back(e->at("seq"));
    if (types.back() == "ok") break;
  }
  EXPECT_EQ(types, (std::vector<std::string>{"started", "progress", "finished", "ok"}));
  EXPECT_EQ(seqs, (std::vector<int>{1, 11, 12}));
  EXPECT_FALSE(c->next(200ms)) << "nothing follows the ok of a finished task";
}

TEST(Resume, AfterTheLastSeqGivesJustOk) {
  test_server srv;
  auto c = srv.connect("alice");
  auto tid = submit(*c, {{"count", 2}});
  ASSERT_TRUE(c->next_of("finished"));
  auto other = srv.connect("alice");
  other->send_json({{"type", "resume"}, {"id", "r"}, {"task_id", tid}, {"after_seq", 4}});
  auto r = other->next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->at("type"), "ok");
}

TEST(Resume, OnTheSameConnectionNeverRepeatsASeq) {
  test_server srv;
  auto c = srv.connect("alice");
  auto tid = submit(*c, {{"count", 5}});
  ASSERT_TRUE(c->next_of("finished"));
  c->send_json({{"type", "resume"}, {"id", "r"}, {"task_id", tid}, {"after_seq", 0}});
  auto r = c->next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->at("type"), "ok") << "the connection already had every event: " << r->dump();
}

TEST(Resume, ExpiredTaskIsNotFound) {
  test_server srv([](config& c) { c.finished_ttl_s = 0; });
  auto c = srv.connect("alice");
  auto tid = submit(*c, {{"count", 1}});
  ASSERT_TRUE(c->next_of("finished"));
  // With a TTL of 0 the task expires as soon as any time has passed since it ended.
  for (int i = 0; i < 100; ++i) {
    c->send_json({{"type", "resume"}, {"id", "r"}, {"task_id", tid}, {"after_seq", 0}});
    auto r = c->next();
    ASSERT_TRUE(r);
    if (r->at("type") == "error") {
      EXPECT_EQ(r->at("code"), "not_found");
      return;
    }
  }
  FAIL() << "the task never expired";
}

}  // namespace
}  // namespace taskwire::test
