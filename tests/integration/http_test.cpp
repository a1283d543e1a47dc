// SPDX-License-Identifier: MIT
// The plain HTTP endpoints and the checks made before an upgrade.
#include <gtest/gtest.h>

#include "support/test_server.hpp"

namespace taskwire::test {
namespace {

TEST(Http, HealthReadyMetricsAndNotFound) {
  test_server srv;
  auto h = http_get(srv.port(), "/healthz");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.body, "ok\n");
  EXPECT_EQ(http_get(srv.port(), "/readyz").status, 200);
  EXPECT_EQ(http_get(srv.port(), "/nope").status, 404);
  EXPECT_EQ(http_get(srv.port(), "/ws").status, 426);

  auto c = srv.connect("alice");
  submit(*c, {{"count", 3}});
  ASSERT_TRUE(c->next_of("finished"));
  auto m = http_get(srv.port(), "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.headers["Content-Type"].find("text/plain"), std::string::npos);
  EXPECT_NE(m.body.find("taskwire_connections_open 1\n"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("taskwire_tasks_submitted_total{task=\"ticker\"} 1\n"), std::string::npos);
  EXPECT_NE(m.body.find("taskwire_tasks_finished_total{status=\"succeeded\"} 1\n"),
            std::string::npos);
  EXPECT_NE(m.body.find("taskwire_tasks_running 0\n"), std::string::npos);
  EXPECT_NE(m.body.find("taskwire_events_sent_total 5\n"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("taskwire_events_coalesced_total 0\n"), std::string::npos);
}

TEST(Http, MalformedClientIdIsRefusedWith400) {
  test_server srv;
  EXPECT_EQ(upgrade_status(srv.port(), "/ws?client_id=bad%20id"), 400);
  EXPECT_EQ(upgrade_status(srv.port(), "/ws?client_id=" + std::string(65, 'a')), 400);
  EXPECT_EQ(upgrade_status(srv.port(), "/ws?client_id=a/b"), 400);
  EXPECT_EQ(upgrade_status(srv.port(), "/ws?client_id=" + std::string(64, 'a')), 101);
  EXPECT_EQ(upgrade_status(srv.port(), "/ws?client_id=A-z_0.9"), 101);
  EXPECT_EQ(upgrade_status(srv.port(), "/other?client_id=x"), 404);
}

TEST(Http, TokenIsRequiredOnWsAndMetricsButNotOnProbes) {
  test_server srv([](config& c) { c.auth_token = "s3cret"; });
  EXPECT_EQ(upgrade_status(srv.port(), "/ws?client_id=a"), 401);
  EXPECT_EQ(upgrade_status(srv.port(), "/ws?client_id=a&token=wrong"), 401);
  EXPECT_EQ(upgrade_status(srv.port(), "/ws?client_id=a", {{"Authorization", "Bearer wrong"}}),
            401);
  EXPECT_EQ(upgrade_status(srv.port(), "/ws?client_id=a&token=s3cret"), 101);
  EXPECT_EQ(upgrade_status(srv.port(), "/ws?client_id=a", {{"Authorization", "Bearer s3cret"}}),
            101);
  EXPECT_EQ(http_get(srv.port(), "/metrics").status, 401);
  EXPECT_EQ(http_get(srv.port(), "/metrics", {{"Authorization", "Bearer s3cret"}}).status, 200);
  EXPECT_EQ(http_get(srv.port(), "/healthz").status, 200);
  EXPECT_EQ(http_get(srv.port(), "/readyz").status, 200);
  auto c = srv.connect("alice", {{"Authorization", "Bearer s3cret"}});
  EXPECT_FALSE(submit(*c, {{"count", 1}}).empty());
}

}  // namespace
}  // namespace taskwire::test

namespace taskwire::test {
namespace {

TEST(Dashboard, ServedFromTheBinaryWithItsSecurityHeadersAndRevalidated) {
  test_server srv([](config& c) { c.auth_token = "tok"; });
  auto page = http_get(srv.port(), "/");
  ASSERT_EQ(page.status, 200) << "the page is public: the token guards /ws, not the form asking it";
  EXPECT_EQ(page.headers["Content-Type"], "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<script src=\"app.js\">"), std::string::npos);
  EXPECT_NE(page.headers["Content-Security-Policy"].find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(page.headers["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(page.headers["Cache-Control"], "no-cache");
  auto etag = page.headers["ETag"];
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(http_get(srv.port(), "/index.html").body, page.body);

  auto again = http_get(srv.port(), "/", {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(http_get(srv.port(), "/", {{"If-None-Match", "\"stale\""}}).status, 200);

  auto js = http_get(srv.port(), "/app.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.headers["Content-Type"], "text/javascript; charset=utf-8");
  EXPECT_NE(js.headers["ETag"], etag);
  EXPECT_EQ(http_get(srv.port(), "/style.css").headers["Content-Type"], "text/css; charset=utf-8");
  EXPECT_EQ(http_get(srv.port(), "/nope.js").status, 404);
  EXPECT_EQ(http_get(srv.port(), "/../CMakeLists.txt").status, 404);
}

}  // namespace
}  // namespace taskwire::test
