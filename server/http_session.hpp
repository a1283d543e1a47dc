// SPDX-License-Identifier: MIT
#pragma once
// Reads HTTP requests on one connection: answers /healthz, /readyz and /metrics (keep-alive), and
// hands a checked /ws upgrade to a WebSocket session. With TLS configured, the first bytes tell a
// TLS client hello from plain HTTP: TLS gets everything, plain HTTP the probes only.
#include <memory>

#include "server/net.hpp"

namespace boost::asio::ssl {
class context;
}

namespace taskwire {

struct app_state;

void start_http_session(tcp::socket&& socket, app_state& app,
                        std::shared_ptr<boost::asio::ssl::context> tls);

}  // namespace taskwire
