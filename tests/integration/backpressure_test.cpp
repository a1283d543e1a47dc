// SPDX-License-Identifier: MIT
// A connection that stops reading: the worker is never held up, the reader's queued progress is
// coalesced (a seq gap), and nothing but progress is dropped.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "handlers/model_writer.hpp"
#include "support/test_server.hpp"

namespace taskwire::test {
namespace {

TEST(Backpressure, ASlowReadersProgressIsCoalescedAndNothingElseIsLost) {
  test_server srv([](config& c) {
    c.send_queue_bytes = 65536;
    c.max_messages_per_s = 1e6;  // the watcher below asks as fast as it is answered
    c.message_burst = 1e6;
  });
  auto slow = srv.connect("alice");
  auto watcher = srv.connect("alice");
  slow->pause_reading();
  // Far more than loopback's socket buffers hold, so the server's queue has to coalesce.
  constexpr int ticks = 300000;
  slow->send_json(
      {{"type", "submit"}, {"id", "s"}, {"task", "ticker"}, {"params", {{"count", ticks}}}});
  // The task finishes on its own while nobody reads: ask on another connection.
  std::string state;
  auto deadline = std::chrono::steady_clock::now() + 120s;
  while (state != "succeeded" && std::chrono::steady_clock::now() < deadline) {
    watcher->send_json({{"type", "tasks"}, {"id", "q"}});
    auto list = watcher->next_of("tasks", "q");
    ASSERT_TRUE(list);
    if (!list->at("tasks").empty()) state = list->at("tasks")[0].at("state");
  }
  ASSERT_EQ(state, "succeeded") << "the worker was held up by a reader that does not read";

  slow->resume_reading();
  std::uint64_t last = 0, events = 0;
  bool accepted = false, finished = false;
  while (auto e = slow->next(30s)) {
    if (e->at("type") == "accepted") {
      accepted = true;
      continue;
    }
    ASSERT_TRUE(e->contains("seq")) << e->dump();
    std::uint64_t seq = e->at("seq");
    ASSERT_GT(seq, last) << "seq went back or repeated";
    if (seq != last + 1) {
      EXPECT_EQ(e->at("type"), "progress") << "only progress may follow a gap";
    }
    last = seq;
    ++events;
    if (e->at("type") == "finished") {
      EXPECT_EQ(e->at("status"), "succeeded");
      finished = true;
      break;
    }
  }
  EXPECT_TRUE(accepted);
  ASSERT_TRUE(finished) << "finished is never dropped; last seq " << last << ", " << events
                        << " events, closed: " << slow->wait_closed(1ms).value_or(0);
  EXPECT_EQ(last, ticks + 2u);
  EXPECT_LT(events, ticks + 2u) << "nothing was coalesced";
  auto m = http_get(srv.port(), "/metrics");
  EXPECT_EQ(m.body.find("taskwire_events_coalesced_total 0\n"), std::string::npos);
  EXPECT_NE(m.body.find("taskwire_slow_consumer_closes_total 0\n"), std::string::npos);
}

// `links` hard links to one safetensors file whose metadata makes each scan item about
// `item_bytes` long: many large items from a small disk footprint.
void write_linked_models(const std::filesystem::path& dir, int links, std::size_t item_bytes) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  auto first = dir / "m0.safetensors";
  std::ofstream(first, std::ios::binary)
      << formats::make_safetensors({{"w", "F32", {2}}}, {{"notes", std::string(item_bytes, 'n')}});
  for (int i = 1; i < links; ++i)
    fs::create_hard_link(first, dir / ("m" + std::to_string(i) + ".safetensors"));
}

// Asks on its own connection until the task reaches `state` or the deadline passes.
bool wait_task_state(test_server& srv, const std::string& client_id, const std::string& tid,
                     const std::string& state) {
  auto c = srv.connect(client_id);
  auto deadline = std::chrono::steady_clock::now() + 60s;
  for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
    auto id = "q" + std::to_string(i);
    c->send_json({{"type", "tasks"}, {"id", id}});
    auto list = c->next_of("tasks", id);
    if (!list) return false;
    for (const auto& t : list->at("tasks"))
      if (t.at("task_id") == tid && t.at("state") == state) return true;
    std::this_thread::sleep_for(20ms);  // the poll interval
  }
  return false;
}

struct collected {
  int items = 0;
  std::optional<nlohmann::json> finished;
  bool ok = false;
  std::uint64_t last_seq = 0;
  bool seq_went_back = false;
};

// Reads a task's events (and the resume's ok) until both the finished and, if asked, the ok.
collected collect(ws_client& c, const std::string& tid, bool want_ok) {
  collected r;
  while (auto e = c.next(60s)) {
    if (e->at("type") == "ok") r.ok = true;
    if (e->value("task_id", "") == tid) {
      std::uint64_t seq = e->at("seq");
      r.seq_went_back = r.seq_went_back || seq <= r.last_seq;
      r.last_seq = seq;
      if (e->at("type") == "item") ++r.items;
      if (e->at("type") == "finished") r.finished = e;
    }
    if (r.finished && (r.ok || !want_ok)) break;
  }
  return r;
}

TEST(Backpressure, AReaderThatFallsTooFarBehindIsClosed1008AndItsTaskGoesOnForAResume) {
  // 25 MB of items against a 64 KiB queue and loopback's socket buffers: a reader that reads
  // nothing must be let go, not buffered without end.
  test_server srv([](config& c) { c.send_queue_bytes = 65536; });
  constexpr int files = 1000;
  write_linked_models(srv.root() / "many", files, 25000);
  std::string tid;
  {
    auto slow = srv.connect("alice");
    tid = submit(*slow, {{"path", "many"}, {"metadata", true}}, "scan_models");
    ASSERT_FALSE(tid.empty());
    slow->pause_reading();
    // The server closes while nobody reads; reading again lets the close frame through.
    auto watcher = srv.connect("watcher");
    auto deadline = std::chrono::steady_clock::now() + 60s;
    bool closed = false;
    while (!closed && std::chrono::steady_clock::now() < deadline) {
      auto m = http_get(srv.port(), "/metrics");
      closed = m.body.find("\ntaskwire_slow_consumer_closes_total 1\n") != std::string::npos;
      if (!closed) std::this_thread::sleep_for(20ms);  // the poll interval
    }
    ASSERT_TRUE(closed) << "a reader that reads nothing was never let go";
    slow->resume_reading();
    EXPECT_EQ(slow->wait_closed(30s), 1008);
    EXPECT_EQ(slow->close_reason(), "slow consumer");
  }
  // Its task went on to the end; a new connection resumes it and gets every item through the
  // paced replay, 25 MB through a 64 KiB queue.
  ASSERT_TRUE(wait_task_state(srv, "alice", tid, "succeeded"));
  auto again = srv.connect("alice");
  again->send_json({{"type", "resume"}, {"id", "r"}, {"task_id", tid}, {"after_seq", 0}});
  auto r = collect(*again, tid, true);
  ASSERT_TRUE(r.finished) << "items so far: " << r.items;
  EXPECT_EQ(r.finished->at("status"), "succeeded");
  EXPECT_EQ(r.items, files);
  EXPECT_TRUE(r.ok);
  EXPECT_FALSE(r.seq_went_back);
  EXPECT_FALSE(again->wait_closed(1ms)) << "the replay itself overflowed the queue";
}

TEST(Backpressure, AReplayLargerThanTheSendQueueIsPacedNotRefused) {
  test_server srv([](config& c) { c.send_queue_bytes = 65536; });
  constexpr int files = 300;
  write_linked_models(srv.root() / "many", files, 2000);  // 600 KB of items
  std::string tid;
  {
    auto c = srv.connect("alice");
    tid = submit(*c, {{"path", "many"}, {"metadata", true}}, "scan_models");
    c->drop();
  }
  ASSERT_TRUE(wait_task_state(srv, "alice", tid, "succeeded"));
  // Two resumes at once on one connection: one replay, each resume answered with its ok.
  auto c = srv.connect("alice");
  c->send_json({{"type", "resume"}, {"id", "r1"}, {"task_id", tid}, {"after_seq", 0}});
  c->send_json({{"type", "resume"}, {"id", "r2"}, {"task_id", tid}, {"after_seq", 0}});
  int items = 0, oks = 0, finished = 0;
  std::uint64_t last = 0;
  while (auto e = c->next(30s)) {
    if (e->at("type") == "ok") {
      ++oks;
      if (oks == 2) break;
      continue;
    }
    std::uint64_t seq = e->at("seq");
    ASSERT_GT(seq, last) << "a seq repeated on one connection";
    last = seq;
    items += e->at("type") == "item";
    finished += e->at("type") == "finished";
  }
  EXPECT_EQ(oks, 2);
  EXPECT_EQ(items, files);
  EXPECT_EQ(finished, 1);
  EXPECT_FALSE(c->wait_closed(1ms));
}

}  // namespace
}  // namespace taskwire::test
