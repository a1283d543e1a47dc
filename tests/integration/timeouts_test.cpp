// SPDX-License-Identifier: MIT
// The handshake and idle timeouts, tried the way a slowloris or a vanished peer would: raw TCP
// connections that never finish their request, and a WebSocket client that stops answering pings.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <thread>

#include "support/test_server.hpp"

namespace taskwire::test {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// A raw connection whose reads give up after `deadline`, so a server that never closes fails
// the test instead of hanging it.
struct raw_connection {
  net::io_context ioc;
  tcp::socket sock{ioc};

  raw_connection(std::uint16_t port, std::chrono::seconds deadline) {
    sock.connect({net::ip::make_address("127.0.0.1"), port});
    timeval tv{static_cast<time_t>(deadline.count()), 0};
    ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  void send(const std::string& bytes) { net::write(sock, net::buffer(bytes)); }

  // Reads until the server closes: true on end of stream, false when the deadline passed first.
  bool closed_by_server() {
    char buf[512];
    for (;;) {
      ssize_t n = ::recv(sock.native_handle(), buf, sizeof buf, 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;  // EAGAIN: the deadline
    }
  }
};

TEST(Timeouts, ASilentOrUnfinishedRequestIsClosedAfterTheHandshakeTimeout) {
  test_server srv([](config& c) { c.handshake_timeout_s = 0.3; });
  raw_connection silent(srv.port(), 20s);
  raw_connection slowloris(srv.port(), 20s);
  slowloris.send("GET /ws?client_id=a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n");
  EXPECT_TRUE(silent.closed_by_server()) << "a connection that sends nothing is kept";
  EXPECT_TRUE(slowloris.closed_by_server()) << "a request that never ends is kept";
  EXPECT_EQ(http_get(srv.port(), "/healthz").status, 200);
}

TEST(Timeouts, AClientThatStopsAnsweringPingsIsDroppedAfterTheIdleTimeout) {
  test_server srv([](config& c) { c.idle_timeout_s = 1; });
  auto gone = srv.connect("gone");
  auto fine = srv.connect("fine");
  ASSERT_TRUE(wait_metric(srv.port(), "taskwire_connections_open", "2", 10s));
  // One reply parks the reader, so from here on nothing answers the server's pings.
  gone->pause_reading();
  gone->send_json({{"type", "tasks"}, {"id", "q"}});
  EXPECT_TRUE(wait_metric(srv.port(), "taskwire_connections_open", "1", 30s))
      << "a peer that answers no ping is never dropped";
  gone->resume_reading();
  EXPECT_TRUE(gone->wait_closed(10s));
  // The other client, quiet but reading, answered every ping and is still there.
  fine->send_json({{"type", "tasks"}, {"id", "still-there"}});
  EXPECT_TRUE(fine->next_of("tasks", "still-there"));
}

TEST(Timeouts, AQuietClientWaitingOnALongTaskIsNotDropped) {
  test_server srv([](config& c) { c.idle_timeout_s = 1; });
  auto c = srv.connect("patient");
  // Three seconds of ticks a second apart, three idle timeouts, and the client says nothing.
  auto tid = submit(*c, {{"count", 3}, {"interval_ms", 1000}});
  auto fin = c->next_of("finished", std::nullopt, 30s);
  ASSERT_TRUE(fin) << "closed: " << c->wait_closed(1ms).value_or(-1);
  EXPECT_EQ(fin->at("status"), "succeeded");
  c->send_json({{"type", "tasks"}, {"id", "after"}});
  EXPECT_TRUE(c->next_of("tasks", "after"));
}

}  // namespace
}  // namespace taskwire::test
