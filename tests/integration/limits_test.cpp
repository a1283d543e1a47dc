// SPDX-License-Identifier: MIT
// Per-client task limit and the slow-reader rules, over real connections.
#include <gtest/gtest.h>

#include "support/test_server.hpp"

namespace taskwire::test {
namespace {

TEST(Limits, TooManyTasksPerClient) {
  test_server srv([](config& c) { c.max_tasks_per_client = 2; });
  auto alice = srv.connect("alice");
  submit(*alice, {{"count", 10}, {"interval_ms", 60000}}, "ticker", "a");
  submit(*alice, {{"count", 10}, {"interval_ms", 60000}}, "ticker", "b");
  alice->send_json(
      {{"type", "submit"}, {"id", "c"}, {"task", "ticker"}, {"params", {{"count", 1}}}});
  auto e = alice->next_of("error", "c");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->at("code"), "too_many_tasks");
  // The limit is per client: another client is not affected.
  auto bob = srv.connect("bob");
  EXPECT_FALSE(submit(*bob, {{"count", 1}}).empty());
}

TEST(Limits, FinishedTasksFreeTheirPlace) {
  test_server srv([](config& c) { c.max_tasks_per_client = 1; });
  auto c = srv.connect("alice");
  for (int i = 0; i < 3; ++i) {
    ASSERT_FALSE(submit(*c, {{"count", 1}}, "ticker", "r" + std::to_string(i)).empty());
    ASSERT_TRUE(c->next_of("finished"));
  }
}

}  // namespace
}  // namespace taskwire::test
