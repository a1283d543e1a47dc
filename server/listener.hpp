// SPDX-License-Identifier: MIT
#pragma once
// Accepts TCP connections and starts an HTTP session on a strand of its own for each.
#include <memory>

#include "server/net.hpp"

namespace boost::asio::ssl {
class context;
}

namespace taskwire {

struct app_state;

class listener : public std::enable_shared_from_this<listener> {
 public:
  // Binds and listens at once; throws std::runtime_error with a readable message on failure
  // (a port in use must stop start-up, not leave a dead listener).
  // `tls`, when set, makes the port serve https and wss (plain HTTP gets the probes only).
  listener(net::io_context& ioc, const tcp::endpoint& endpoint, app_state& app,
           std::shared_ptr<boost::asio::ssl::context> tls);

  void run();
  void stop();  // any thread
  std::uint16_t port() const { return port_; }

 private:
  void do_accept();
  void on_accept(error_code ec, tcp::socket socket);

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_;
  app_state& app_;
  const std::shared_ptr<boost::asio::ssl::context> tls_;
  std::uint16_t port_ = 0;
};

}  // namespace taskwire
