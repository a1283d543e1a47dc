// SPDX-License-Identifier: MIT
#include "server/listener.hpp"

#include <stdexcept>

#include "server/app_state.hpp"
#include "server/http_session.hpp"
#include "server/log.hpp"

namespace taskwire {

listener::listener(net::io_context& ioc, const tcp::endpoint& endpoint, app_state& app,
                   std::shared_ptr<boost::asio::ssl::context> tls)
    : ioc_(ioc),
      acceptor_(net::make_strand(ioc)),
      retry_(acceptor_.get_executor()),
      app_(app),
      tls_(std::move(tls)) {
  auto where = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  error_code ec;
  auto check = [&](const char* what) {
    if (ec)
      throw std::runtime_error(std::string("cannot ") + what + " " + where + ": " + ec.message());
  };
  acceptor_.open(endpoint.protocol(), ec);
  check("open a socket for");
  acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  check("set SO_REUSEADDR on");
  acceptor_.bind(endpoint, ec);
  check("listen on");
  acceptor_.listen(net::socket_base::max_listen_connections, ec);
  check("listen on");
  port_ = acceptor_.local_endpoint(ec).port();
  check("read the port of");
}

void listener::run() {
  net::dispatch(acceptor_.get_executor(),
                beast::bind_front_handler(&listener::do_accept, shared_from_this()));
}

void listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    error_code ec;
    self->acceptor_.close(ec);
    self->retry_.cancel();
  });
}

void listener::do_accept() {
  acceptor_.async_accept(net::make_strand(ioc_),
                         beast::bind_front_handler(&listener::on_accept, shared_from_this()));
}

void listener::on_accept(error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    // Out of file descriptors and the like: keep accepting, after a pause so as not to spin.
    log::warn("accept failed", {{"error", ec.message()}});
    retry_.expires_after(std::chrono::milliseconds(100));
    retry_.async_wait([self = shared_from_this()](error_code e) {
      if (!e) self->do_accept();
    });
    return;
  }
  // Frames are small and latency matters (a reply, the last event of a task): without this,
  // Nagle holds a frame until the peer's delayed ACK, up to 40 ms later.
  error_code nd;
  socket.set_option(tcp::no_delay(true), nd);
  start_http_session(std::move(socket), app_, tls_);
  do_accept();
}

}  // namespace taskwire
