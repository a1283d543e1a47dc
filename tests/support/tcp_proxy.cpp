// SPDX-License-Identifier: MIT
#include "support/tcp_proxy.hpp"

#include <array>
#include <future>
#include <thread>
#include <vector>

#include "server/net.hpp"

namespace taskwire::test {

// Everything runs on the proxy's one thread; cut_all() is posted onto it.
struct tcp_proxy::impl {
  struct pair {
    tcp::socket a, b;
    std::array<char, 16384> ab{}, ba{};
    explicit pair(tcp::socket client) : a(std::move(client)), b(a.get_executor()) {}
    void close() {
      error_code ec;
      a.close(ec);
      b.close(ec);
    }
  };

  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
  tcp::endpoint server;
  std::uint16_t port = acceptor.local_endpoint().port();  // read before the thread starts
  std::vector<std::weak_ptr<pair>> pairs;
  std::thread thread;

  explicit impl(std::uint16_t server_port)
      : server(net::ip::make_address("127.0.0.1"), server_port) {
    accept();
    thread = std::thread([this] { ioc.run(); });
  }

  void accept() {
    acceptor.async_accept([this](error_code ec, tcp::socket s) {
      if (ec) return;
      auto p = std::make_shared<pair>(std::move(s));
      pairs.push_back(p);
      p->b.async_connect(server, [this, p](error_code ec2) {
        if (ec2) return p->close();
        relay(p, p->a, p->b, p->ab);
        relay(p, p->b, p->a, p->ba);
      });
      accept();
    });
  }

  // from -> to, until either side fails; then both close.
  void relay(std::shared_ptr<pair> p, tcp::socket& from, tcp::socket& to,
             std::array<char, 16384>& buf) {
    from.async_read_some(
        net::buffer(buf), [this, p, &from, &to, &buf](error_code ec, std::size_t n) {
          if (ec) return p->close();
          net::async_write(to, net::buffer(buf.data(), n),
                           [this, p, &from, &to, &buf](error_code ec2, std::size_t) {
                             if (ec2) return p->close();
                             relay(p, from, to, buf);
                           });
        });
  }
};

tcp_proxy::tcp_proxy(std::uint16_t server_port) : impl_(std::make_unique<impl>(server_port)) {}

tcp_proxy::~tcp_proxy() {
  net::post(impl_->ioc, [i = impl_.get()] {
    error_code ec;
    i->acceptor.close(ec);
    for (auto& w : i->pairs)
      if (auto p = w.lock()) p->close();
  });
  impl_->thread.join();
}

std::uint16_t tcp_proxy::port() const {
  return impl_->port;
}

int tcp_proxy::cut_all() {
  std::promise<int> done;
  net::post(impl_->ioc, [&] {
    int n = 0;
    for (auto& w : impl_->pairs)
      if (auto p = w.lock()) {
        p->close();
        ++n;
      }
    impl_->pairs.clear();
    done.set_value(n);
  });
  return done.get_future().get();
}

}  // namespace taskwire::test
