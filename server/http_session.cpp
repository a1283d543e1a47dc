// SPDX-License-Identifier: MIT
#include "server/http_session.hpp"

#include <boost/beast/core/detect_ssl.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <optional>
#include <type_traits>

#include "server/app_state.hpp"
#include "server/http_routes.hpp"
#include "server/log.hpp"
#include "server/tls.hpp"
#include "server/websocket_session.hpp"

namespace taskwire {
namespace {

constexpr std::size_t header_limit = 16 * 1024;
constexpr std::size_t body_limit = 64 * 1024;

std::chrono::steady_clock::duration handshake_timeout(const app_state& app) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(app.cfg.handshake_timeout_s));
}

// Plain HTTP on a TLS port: load balancers and container health checks probe without TLS.
bool is_probe(std::string_view target) {
  auto path = target.substr(0, target.find('?'));
  return path == "/healthz" || path == "/readyz";
}

// Stream is beast::tcp_stream or tls_stream.
template <class Stream>
class http_session : public std::enable_shared_from_this<http_session<Stream>> {
  static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

 public:
  // `buffer` holds bytes already read (by the TLS detection); `probes_only` for plain HTTP on a
  // TLS port.
  http_session(Stream&& stream, beast::flat_buffer&& buffer, app_state& app, bool probes_only)
      : stream_(std::move(stream)),
        buffer_(std::move(buffer)),
        app_(app),
        probes_only_(probes_only) {}

  void run() {
    // On the connection's strand from the start, like every later handler.
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (is_tls) {
        beast::get_lowest_layer(self->stream_).expires_after(handshake_timeout(self->app_));
        self->stream_.async_handshake(
            ssl::stream_base::server, self->buffer_.data(),
            [self](error_code ec, std::size_t used) {
              if (ec) {
                if (ec != beast::error::timeout)
                  log::debug("tls handshake failed", {{"error", ec.message()}});
                return;
              }
              self->buffer_.consume(used);
              self->do_read();
            });
      } else {
        self->do_read();
      }
    });
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->header_limit(header_limit);
    parser_->body_limit(body_limit);
    beast::get_lowest_layer(stream_).expires_after(handshake_timeout(app_));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&http_session::on_read, this->shared_from_this()));
  }

  void on_read(error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) return close();
    if (ec) {
      if (ec != beast::error::timeout && ec != net::error::operation_aborted)
        log::debug("http read failed", {{"error", ec.message()}});
      return;
    }
    auto& req = parser_->get();
    auto auth = req[http::field::authorization];
    std::string_view auth_sv(auth.data(), auth.size());
    std::string_view target(req.target().data(), req.target().size());

    if (probes_only_ && !is_probe(target)) {
      return send({403, "text/plain; charset=utf-8", "this port requires TLS: use https or wss\n"},
                  req.version(), false);
    }
    if (websocket::is_upgrade(req)) {
      auto origin = req[http::field::origin];
      auto host = req[http::field::host];
      auto d = routes::check_upgrade(target, auth_sv, {origin.data(), origin.size()},
                                     {host.data(), host.size()}, app_);
      if (d.allowed) {
        error_code ec;
        auto ip =
            beast::get_lowest_layer(stream_).socket().remote_endpoint(ec).address().to_string();
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
    auto inm = req[http::field::if_none_match];
    auto r = routes::handle({method.data(), method.size()}, target, auth_sv, app_,
                            {inm.data(), inm.size()});
    send(r, req.version(), req.keep_alive(), req.method() == http::verb::head);
  }

  void send(const routes::reply& r, unsigned version, bool keep_alive, bool head = false) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(r.status), version);
    res->set(http::field::server, app_.server_name);
    res->set(http::field::content_type, r.content_type);
    res->set(http::field::cache_control, r.cache_control);
    if (!r.etag.empty()) res->set(http::field::etag, r.etag);
    if (r.page) {
      // The dashboard talks to its own origin only; no framing, no sniffing, no referrer.
      res->set("Content-Security-Policy",
               "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
      res->set("X-Content-Type-Options", "nosniff");
      res->set("Referrer-Policy", "no-referrer");
    }
    res->keep_alive(keep_alive);
    if (!head) res->body() = r.body;
    res->prepare_payload();
    if (head) res->content_length(r.body.size());
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res](error_code ec, std::size_t) {
                        self->on_write(ec, res->keep_alive());
                      });
  }

  void on_write(error_code ec, bool keep_alive) {
    if (ec) return;
    if (!keep_alive) return close();
    do_read();
  }

  void close() {
    if constexpr (is_tls) {
      // The TLS close_notify, bounded: a peer that never answers it must not hold the socket.
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = this->shared_from_this()](error_code) {});
    } else {
      error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  app_state& app_;
  const bool probes_only_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

// With TLS configured: reads just enough to tell a TLS client hello from plain HTTP.
class detect_session : public std::enable_shared_from_this<detect_session> {
 public:
  detect_session(tcp::socket&& socket, app_state& app, std::shared_ptr<ssl::context> tls)
      : stream_(std::move(socket)), app_(app), tls_(std::move(tls)) {}

  void run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->stream_.expires_after(handshake_timeout(self->app_));
      beast::async_detect_ssl(self->stream_, self->buffer_,
                              beast::bind_front_handler(&detect_session::on_detect, self));
    });
  }

 private:
  void on_detect(error_code ec, bool tls) {
    if (ec) return;  // closed or timed out before saying anything
    if (tls) {
      // Each connection's SSL object holds a reference to the context's SSL_CTX.
      std::make_shared<http_session<tls_stream>>(tls_stream(std::move(stream_), *tls_),
                                                 std::move(buffer_), app_, false)
          ->run();
    } else {
      std::make_shared<http_session<beast::tcp_stream>>(std::move(stream_), std::move(buffer_),
                                                        app_, true)
          ->run();
    }
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  app_state& app_;
  const std::shared_ptr<ssl::context> tls_;
};

}  // namespace

void start_http_session(tcp::socket&& socket, app_state& app, std::shared_ptr<ssl::context> tls) {
  if (tls)
    std::make_shared<detect_session>(std::move(socket), app, std::move(tls))->run();
  else
    std::make_shared<http_session<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)),
                                                      beast::flat_buffer(), app, false)
        ->run();
}

}  // namespace taskwire
