// SPDX-License-Identifier: MIT
#pragma once
// One WebSocket connection. It owns its socket and its outbox, and is the only thing that writes
// the socket: one async_write in flight, each completion starting the next. Everything that
// reaches it from another thread (hub deliveries, shutdown) is posted onto its strand first.
// Included by http_session.cpp only; the class itself lives in the .cpp.
#include <string>

#include "server/connection_limits.hpp"
#include "server/net.hpp"
#include "server/tls.hpp"

namespace taskwire {

struct app_state;

// Takes over a connection whose upgrade request was checked, and answers the handshake.
// `slot` is the connection's place under max_connections, given back when the session ends.
void start_websocket_session(beast::tcp_stream&& stream, http::request<http::string_body>&& req,
                             app_state& app, std::string client_id,
                             std::unique_ptr<connection_limits::slot> slot);
void start_websocket_session(tls_stream&& stream, http::request<http::string_body>&& req,
                             app_state& app, std::string client_id,
                             std::unique_ptr<connection_limits::slot> slot);

}  // namespace taskwire
