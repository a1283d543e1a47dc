// SPDX-License-Identifier: MIT
#include "server/http_routes.hpp"

#include "server/web_assets.hpp"

#include <boost/url/parse.hpp>
#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>
#include <optional>

#include "server/hub.hpp"
#include "server/protocol.hpp"

namespace taskwire::routes {
namespace {

struct target_parts {
  std::string path;
  std::optional<std::string> client_id;
  std::optional<std::string> token;
  bool ok = true;
};

target_parts split_target(std::string_view target) {
  target_parts out;
  auto url = boost::urls::parse_origin_form(target);
  if (!url) {
    out.ok = false;
    return out;
  }
  out.path = url->path();
  for (auto p : url->params()) {
    if (p.key == "client_id" && !out.client_id) out.client_id = p.value;
    if (p.key == "token" && !out.token) out.token = p.value;
  }
  return out;
}

bool authorized(const app_state& app, std::string_view authorization,
                const std::optional<std::string>& query_token) {
  const auto& expected = app.cfg.auth_token;
  if (expected.empty()) return true;
  constexpr std::string_view bearer = "Bearer ";
  if (authorization.size() > bearer.size() && authorization.substr(0, bearer.size()) == bearer &&
      token_matches(authorization.substr(bearer.size()), expected))
    return true;
  return query_token && token_matches(*query_token, expected);
}

std::string new_client_id() {
  thread_local boost::uuids::random_generator gen;
  return boost::uuids::to_string(gen());
}

}  // namespace

bool valid_client_id(std::string_view id) {
  return protocol::valid_identifier(id);
}

bool token_matches(std::string_view given, std::string_view expected) {
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < given.size(); ++i)
    diff |= static_cast<unsigned char>(given[i] ^
                                       expected[i % (expected.empty() ? 1 : expected.size())]);
  return diff == 0 && !expected.empty();
}

reply handle(std::string_view method, std::string_view target, std::string_view authorization,
             app_state& app, std::string_view if_none_match) {
  auto parts = split_target(target);
  if (!parts.ok) return {400, "text/plain; charset=utf-8", "bad request target\n"};
  const auto* asset = web::find_asset(parts.path == "/" ? "/index.html" : parts.path);
  bool known = parts.path == "/healthz" || parts.path == "/readyz" || parts.path == "/metrics" ||
               parts.path == "/ws" || asset;
  if (!known) return {404, "text/plain; charset=utf-8", "not found\n"};
  if (method != "GET" && method != "HEAD")
    return {405, "text/plain; charset=utf-8", "method not allowed\n"};
  if (asset) {
    // Public files: the token guards /ws and /metrics, not the page that asks for it. Cached,
    // but revalidated, so a new daemon's dashboard is seen at once.
    reply r{200, std::string(asset->content_type), std::string(asset->body)};
    r.cache_control = "no-cache";
    r.etag = std::string(asset->etag);
    r.page = true;
    if (!if_none_match.empty() && if_none_match == asset->etag) {
      r.status = 304;
      r.body.clear();
    }
    return r;
  }
  if (parts.path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
  if (parts.path == "/readyz") {
    if (app.draining) return {503, "text/plain; charset=utf-8", "draining\n"};
    if (!app.ready) return {503, "text/plain; charset=utf-8", "starting\n"};
    return {200, "text/plain; charset=utf-8", "ready\n"};
  }
  if (parts.path == "/metrics") {
    if (!authorized(app, authorization, parts.token))
      return {401, "text/plain; charset=utf-8", "unauthorized\n"};
    metrics::gauges g;
    g.connections_open = app.router.connections();
    g.tasks_active = app.tasks.active();
    g.tasks_queued = app.runner.queued();
    g.tasks_retained = app.tasks.retained();
    g.ready = app.ready && !app.draining;
    return {200, "text/plain; version=0.0.4; charset=utf-8", app.stats.render(g)};
  }
  return {426, "text/plain; charset=utf-8", "this endpoint needs a WebSocket upgrade\n"};
}

upgrade_decision check_upgrade(std::string_view target, std::string_view authorization,
                               std::string_view origin, std::string_view host,
                               const app_state& app) {
  upgrade_decision d;
  auto parts = split_target(target);
  if (!parts.ok || parts.path != "/ws") {
    d.refusal = {404, "text/plain; charset=utf-8", "not found\n"};
    return d;
  }
  if (!authorized(app, authorization, parts.token)) {
    d.refusal = {401, "text/plain; charset=utf-8", "unauthorized\n"};
    return d;
  }
  if (parts.client_id && !parts.client_id->empty() && !valid_client_id(*parts.client_id)) {
    d.refusal = {400, "text/plain; charset=utf-8", "client_id must match [A-Za-z0-9_.-]{1,64}\n"};
    return d;
  }
  if (!origin.empty()) {
    bool same = !host.empty() && (origin == "http://" + std::string(host) ||
                                  origin == "https://" + std::string(host));
    bool listed = false;
    for (const auto& o : app.cfg.allowed_origins)
      listed = listed || origin == o;
    if (!same && !listed) {
      d.refusal = {403, "text/plain; charset=utf-8", "origin not allowed\n"};
      return d;
    }
  }
  if (app.draining) {
    d.refusal = {503, "text/plain; charset=utf-8", "shutting down\n"};
    return d;
  }
  d.allowed = true;
  d.client_id = parts.client_id && !parts.client_id->empty() ? *parts.client_id : new_client_id();
  return d;
}

}  // namespace taskwire::routes
