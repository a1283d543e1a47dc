// SPDX-License-Identifier: MIT
// A connection that stops reading: the worker is never held up, the reader's queued progress is
// coalesced (a seq gap), and nothing but progress is dropped.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace taskwire::test
