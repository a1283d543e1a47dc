// SPDX-License-Identifier: MIT
#include "server/http_session.hpp"

#include <boost/beast/websocket/rfc6455.hpp>
#include <optional>

#include "server/app_state.hpp"
#include "server/http_routes.hpp"
#include "server/log.hpp"
#include "server/websocket_session.hpp"

namespace taskwire {
namespace {

constexpr std::size_t header_limit = 16 * 1024;
constexpr std::size_t body_limit = 64 * 1024;

class http_session : public std::enable_shared_from_this<http_session> {
 public:
  http_session(tcp::socket&& socket, app_state& app) : stream_(std::move(socket)), app_(app) {}

  void run() {
    // On the connection's strand from the start, like every later handler.
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&http_session::do_read, shared_from_this()));
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->header_limit(header_limit);
    parser_->body_limit(body_limit);
    stream_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(app_.cfg.handshake_timeout_s)));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&http_session::on_read, shared_from_this()));
  }

  void on_read(error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      return;
    }
    if (ec) {
      if (ec != beast::error::timeout && ec != net::error::operation_aborted)
        log::debug("http read failed", {{"error", ec.message()}});
      return;
    }
    auto& req = parser_->get();
    auto auth = req[http::field::authorization];
    std::string_view auth_sv(auth.data(), auth.size());
    std::string_view target(req.target().data(), req.target().size());

    if (websocket::is_upgrade(req)) {
      auto origin = req[http::field::origin];
      auto host = req[http::field::host];
      auto d = routes::check_upgrade(target, auth_sv, {origin.data(), origin.size()},
                                     {host.data(), host.size()}, app_);
      if (d.allowed) {
        error_code ec;
        auto ip = stream_.socket().remote_endpoint(ec).address().to_string();
        if (auto slot = app_.limits->try_acquire(ip)) {
          start_websocket_session(std::move(stream_), parser_->release(), app_,
                                  std::move(d.client_id), std::move(slot));
          return;
        }
        d.refusal = {503, "text/plain; charset=utf-8", "too many connections\n"};
      }
      app_.stats.connections_rejected.fetch_add(1, std::memory_order_relaxed);
      log::info("upgrade refused", {{"status", std::to_string(d.refusal.status)}});
      return send(d.refusal, req.version(), false);
    }
    auto method = req.method_string();
    auto r = routes::handle({method.data(), method.size()}, target, auth_sv, app_);
    send(r, req.version(), req.keep_alive(), req.method() == http::verb::head);
  }

  void send(const routes::reply& r, unsigned version, bool keep_alive, bool head = false) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(r.status), version);
    res->set(http::field::server, app_.server_name);
    res->set(http::field::content_type, r.content_type);
    res->set(http::field::cache_control, "no-store");
    res->keep_alive(keep_alive);
    if (!head) res->body() = r.body;
    res->prepare_payload();
    if (head) res->content_length(r.body.size());
    http::async_write(stream_, *res, [self = shared_from_this(), res](error_code ec, std::size_t) {
      self->on_write(ec, res->keep_alive());
    });
  }

  void on_write(error_code ec, bool keep_alive) {
    if (ec) return;
    if (!keep_alive) {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      return;
    }
    do_read();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  app_state& app_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace

void start_http_session(tcp::socket&& socket, app_state& app) {
  std::make_shared<http_session>(std::move(socket), app)->run();
}

}  // namespace taskwire
