// SPDX-License-Identifier: MIT
#include "server/outbox.hpp"

#include <gtest/gtest.h>

namespace taskwire {
namespace {

std::shared_ptr<const std::string> frame(const std::string& s) {
  return std::make_shared<const std::string>(s);
}

std::vector<std::string> drain(outbox& o) {
  std::vector<std::string> out;
  while (auto f = o.pop())
    out.push_back(*f->data);
  return out;
}

TEST(Outbox, RepliesGoAheadOfEventsWhichKeepTheirOrder) {
  outbox o(1 << 20);
  o.push_event(frame("e1"), 1, true);
  o.push_event(frame("e2"), 1, false);
  o.push_reply(frame("r1"));
  o.push_event(frame("e3"), 2, true);
  o.push_reply(frame("r2"));
  EXPECT_EQ(drain(o), (std::vector<std::string>{"r1", "r2", "e1", "e2", "e3"}));
  EXPECT_TRUE(o.empty());
  EXPECT_EQ(o.bytes(), 0u);
}

TEST(Outbox, BelowHighWaterNothingIsCoalesced) {
  outbox o(1000);
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(o.push_event(frame("p" + std::to_string(i)), 1, true), outbox::result::queued);
  EXPECT_EQ(drain(o).size(), 10u);
  EXPECT_EQ(o.coalesced(), 0u);
}

TEST(Outbox, AboveHighWaterTheNewestProgressReplacesTheQueuedOneAtTheEnd) {
  outbox o(100);                                        // high water: 50 bytes
  o.push_event(frame(std::string(50, 'x')), 9, false);  // an item fills to the mark
  EXPECT_EQ(o.push_event(frame("p1"), 1, true), outbox::result::queued);
  EXPECT_EQ(o.push_event(frame("i1"), 1, false), outbox::result::queued);
  EXPECT_EQ(o.push_event(frame("p2"), 1, true), outbox::result::coalesced);
  EXPECT_EQ(o.push_event(frame("q1"), 2, true), outbox::result::queued);  // another task's own
  EXPECT_EQ(o.push_event(frame("p3"), 1, true), outbox::result::coalesced);
  EXPECT_EQ(o.coalesced(), 2u);
  // p1 and p2 are gone; the item stays before the newest progress, so seq order holds.
  EXPECT_EQ(drain(o), (std::vector<std::string>{std::string(50, 'x'), "i1", "q1", "p3"}));
  EXPECT_EQ(o.bytes(), 0u);
}

TEST(Outbox, ItemsAndRepliesAreNeverDroppedButOverflowIsReported) {
  outbox o(10);
  EXPECT_EQ(o.push_event(frame("12345678"), 1, false), outbox::result::queued);
  EXPECT_EQ(o.push_event(frame("abc"), 1, false), outbox::result::overflow);
  EXPECT_EQ(o.push_reply(frame("abc")), outbox::result::overflow);
  EXPECT_EQ(drain(o), std::vector<std::string>{"12345678"});
}

TEST(Outbox, AFrameLargerThanTheCapGoesThroughAloneButNotBehindOthers) {
  outbox o(100);
  std::string big(500, 'x');
  EXPECT_EQ(o.push_event(frame(big), 1, false), outbox::result::queued);
  EXPECT_EQ(o.push_event(frame("e"), 1, false), outbox::result::overflow);
  EXPECT_EQ(drain(o), (std::vector<std::string>{big}));
  EXPECT_EQ(o.push_reply(frame("r")), outbox::result::queued);
  EXPECT_EQ(o.push_event(frame(big), 1, false), outbox::result::overflow);
}

TEST(Outbox, CloseComesAfterEveryQueuedFrameAndEndsQueueing) {
  outbox o(1000);
  o.push_event(frame("e1"), 1, false);
  o.push_close(1001, "bye");
  EXPECT_TRUE(o.closing());
  o.push_event(frame("late"), 1, false);
  EXPECT_FALSE(o.pop_close()) << "a close may not overtake a frame";
  EXPECT_EQ(drain(o), std::vector<std::string>{"e1"});
  auto c = o.pop_close();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->code, 1001);
  EXPECT_EQ(c->reason, "bye");
  EXPECT_FALSE(o.pop_close());
}

TEST(Outbox, ClearDropsEverything) {
  outbox o(100);
  o.push_event(frame(std::string(60, 'x')), 1, false);
  o.push_event(frame("p"), 1, true);
  o.push_reply(frame("r"));
  o.clear();
  EXPECT_TRUE(o.empty());
  EXPECT_EQ(o.bytes(), 0u);
  EXPECT_FALSE(o.pop());
  o.push_event(frame("p2"), 1, true);
  EXPECT_EQ(drain(o), std::vector<std::string>{"p2"});
}

}  // namespace
}  // namespace taskwire
