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
  // The place is given back before the `finished` exists: a client that has seen it may submit
  // again at once. (It was given back just after, and a quick client was now and then refused
  // with too_many_tasks; many rounds make that race show.)
  test_server srv([](config& c) { c.max_tasks_per_client = 1; });
  auto c = srv.connect("alice");
  for (int i = 0; i < 200; ++i) {
    ASSERT_FALSE(submit(*c, {{"count", 1}}, "ticker", "r" + std::to_string(i)).empty());
    ASSERT_TRUE(c->next_of("finished"));
  }
}

TEST(Limits, ConnectionsPerAddressAreCappedWith503) {
  test_server srv([](config& c) { c.max_connections_per_ip = 2; });
  auto a = srv.connect("a");
  auto b = srv.connect("b");
  EXPECT_EQ(upgrade_status(srv.port(), "/ws?client_id=c"), 503);
  EXPECT_EQ(http_get(srv.port(), "/healthz").status, 200) << "plain HTTP is not counted";
  a->close();
  // The slot comes back when the server's session ends; ask until it has (bounded).
  int status = 0;
  for (int i = 0; i < 1000 && status != 101; ++i)
    status = upgrade_status(srv.port(), "/ws?client_id=c");
  EXPECT_EQ(status, 101);
}

TEST(Limits, TotalConnectionsAreCappedWith503) {
  test_server srv([](config& c) { c.max_connections = 1; });
  auto a = srv.connect("a");
  EXPECT_EQ(upgrade_status(srv.port(), "/ws?client_id=b"), 503);
  a->send_json({{"type", "tasks"}, {"id", "t"}});
  EXPECT_TRUE(a->next_of("tasks", "t")) << "the connection inside the limit is unaffected";
}

TEST(Limits, MessageRateIsLimitedPerConnection) {
  test_server srv([](config& c) {
    c.max_messages_per_s = 0.001;  // effectively no refill during the test
    c.message_burst = 5;
  });
  auto c = srv.connect("alice");
  for (int i = 0; i < 10; ++i)
    c->send_json({{"type", "tasks"}, {"id", std::to_string(i)}});
  int answered = 0, limited = 0;
  for (int i = 0; i < 10; ++i) {
    auto r = c->next();
    ASSERT_TRUE(r);
    if (r->at("type") == "tasks") ++answered;
    if (r->at("type") == "error" && r->at("code") == "rate_limited") ++limited;
  }
  EXPECT_EQ(answered, 5);
  EXPECT_EQ(limited, 5);
  // Another connection has its own bucket.
  auto other = srv.connect("alice");
  other->send_json({{"type", "tasks"}, {"id", "x"}});
  EXPECT_TRUE(other->next_of("tasks", "x"));
}

TEST(Limits, BrowserOriginsMustBeSameOriginOrAllowed) {
  test_server srv([](config& c) { c.allowed_origins = {"https://ui.example"}; });
  EXPECT_EQ(upgrade_status(srv.port(), "/ws", {{"Origin", "https://evil.example"}}), 403);
  EXPECT_EQ(upgrade_status(srv.port(), "/ws", {{"Origin", "null"}}), 403);
  EXPECT_EQ(upgrade_status(srv.port(), "/ws", {{"Origin", "https://ui.example"}}), 101);
  // The test client sends "Host: 127.0.0.1": a page served from there is same-origin.
  EXPECT_EQ(upgrade_status(srv.port(), "/ws", {{"Origin", "http://127.0.0.1"}}), 101);
  EXPECT_EQ(upgrade_status(srv.port(), "/ws", {{"Origin", "http://127.0.0.1.evil.example"}}), 403);
  EXPECT_EQ(upgrade_status(srv.port(), "/ws"), 101) << "a client without Origin is not a browser";
}

TEST(Limits, DefaultTaskTimeoutAppliesWhenASubmitGivesNone) {
  test_server srv([](config& c) { c.default_task_timeout_ms = 50; });
  auto c = srv.connect("alice");
  submit(*c, {{"count", 10}, {"interval_ms", 60000}});
  auto fin = c->next_of("finished");
  ASSERT_TRUE(fin);
  EXPECT_EQ(fin->at("status"), "failed");
  EXPECT_EQ(fin->at("error").at("code"), "timeout");
}

}  // namespace
}  // namespace taskwire::test
