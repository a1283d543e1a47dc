// SPDX-License-Identifier: MIT
#pragma once
// What the plain HTTP endpoints answer and whether a /ws request may upgrade; socket-free so the
// rules are unit-tested without a connection.
#include <string>
#include <string_view>

#include "server/app_state.hpp"

namespace taskwire::routes {

struct reply {
  reply() = default;
  reply(int s, std::string type, std::string text)
      : status(s), content_type(std::move(type)), body(std::move(text)) {}
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::string cache_control = "no-store";
  std::string etag;   // quoted; sent when not empty
  bool page = false;  // the dashboard: sent with its security headers (CSP and more)
};

// GET /healthz, /readyz, /metrics, and the dashboard (/ and its files, 304 when `if_none_match`
// names the current version); 404 for anything else, 405 for a method other than GET/HEAD.
reply handle(std::string_view method, std::string_view target, std::string_view authorization,
             app_state& app, std::string_view if_none_match = {});

struct upgrade_decision {
  bool allowed = false;
  reply refusal;          // when not allowed: 400, 401, 404 or 503
  std::string client_id;  // when allowed: given, or a new UUID
};

// `origin` and `host` are the request's headers ("" when absent): a browser's Origin must be the
// page's own host or one of allowed_origins (403 otherwise); a client without Origin is fine.
upgrade_decision check_upgrade(std::string_view target, std::string_view authorization,
                               std::string_view origin, std::string_view host,
                               const app_state& app);

bool valid_client_id(std::string_view id);
// Token check in constant time for equal lengths.
bool token_matches(std::string_view given, std::string_view expected);

}  // namespace taskwire::routes
