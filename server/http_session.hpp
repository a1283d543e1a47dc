// SPDX-License-Identifier: MIT
#pragma once
// Reads HTTP requests on one connection: answers /healthz, /readyz and /metrics (keep-alive), and
// hands a checked /ws upgrade to a WebSocket session.
#include "server/net.hpp"

namespace taskwire {

struct app_state;

void start_http_session(tcp::socket&& socket, app_state& app);

}  // namespace taskwire
