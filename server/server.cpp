// SPDX-License-Identifier: MIT
#include "server/server.hpp"

#include <boost/asio/ip/address.hpp>
#include <condition_variable>
#include <optional>
#include <thread>

#include "server/app_state.hpp"
#include "server/hub.hpp"
#include "server/listener.hpp"
#include "server/log.hpp"
#include "server/net.hpp"
#include "server/tls.hpp"

namespace taskwire {
namespace {

std::vector<std::string> root_names(const config& cfg) {
  std::vector<std::string> out;
  for (const auto& r : cfg.roots)
    out.push_back(r.name);
  return out;
}

tcp::endpoint resolve(net::io_context& ioc, const config& cfg) {
  error_code ec;
  auto addr = net::ip::make_address(cfg.host, ec);
  if (!ec) return {addr, cfg.port};
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(cfg.host, std::to_string(cfg.port), ec);
  if (ec || results.empty())
    throw std::runtime_error("host '" + cfg.host +
                             "' is not an address that resolves: " + ec.message());
  return results.begin()->endpoint();
}

}  // namespace

// Declaration order is destruction order reversed: the io_context outlives the hub and the
// sessions it destroys never reach app state (they do nothing in their destructors).
struct server::impl {
  explicit impl(config c)
      : cfg(std::move(c)),
        handlers(builtin_handlers()),
        stats(handlers.names()),
        tasks(cfg.max_tasks_per_client,
              std::chrono::milliseconds(static_cast<std::int64_t>(cfg.finished_ttl_s * 1000))),
        router(ioc, [this](const std::string& client_id) { on_client_gone(client_id); }),
        runner(cfg.io_workers, cfg.cpu_workers, cfg.max_queued,
               [this](const task& t) { on_task_finished(t); }),
        app{cfg,
            handlers,
            stats,
            tasks,
            runner,
            router,
            "taskwire/" TASKWIRE_VERSION,
            root_names(cfg),
            std::make_shared<connection_limits>(cfg.max_connections, cfg.max_connections_per_ip)},
        control(net::make_strand(ioc)),
        prune_timer(control),
        step_timer(control) {}

  void on_task_finished(const task& t) {
    tasks.on_finished(t);
    auto status = std::string(to_string(t.state()));
    stats.task_finished(status);
    log::info("task finished",
              {{"client_id", t.client_id()}, {"task_id", t.id()}, {"status", status}});
  }

  void on_client_gone(const std::string& client_id) {
    if (!cfg.cancel_on_disconnect) return;
    for (const auto& t : tasks.unfinished_of(client_id)) {
      log::info("cancelling task of a disconnected client",
                {{"client_id", client_id}, {"task_id", t->id()}});
      runner.cancel(t, stop_reason::disconnect);
    }
  }

  void schedule_prune() {
    prune_timer.expires_after(std::chrono::seconds(5));
    prune_timer.async_wait([this](error_code ec) {
      if (ec) return;
      if (auto n = tasks.prune(std::chrono::steady_clock::now()))
        log::debug("expired finished tasks", {{"count", std::to_string(n)}});
      schedule_prune();
    });
  }

  // --- the drain, in steps on the control strand -------------------------------------------
  using clock = std::chrono::steady_clock;

  void begin_drain() {
    if (app.draining.exchange(true)) {
      hurry = true;
      return;
    }
    app.ready = false;
    log::info("shutting down: draining", {{"running", std::to_string(tasks.active())},
                                          {"grace_s", std::to_string(cfg.shutdown_grace_s)}});
    deadline = clock::now() + std::chrono::duration_cast<clock::duration>(
                                  std::chrono::duration<double>(cfg.shutdown_grace_s));
    wait_grace();
  }

  void after(std::chrono::milliseconds d, void (impl::*next)()) {
    step_timer.expires_after(d);
    step_timer.async_wait([this, next](error_code ec) {
      if (!ec) (this->*next)();
    });
  }

  void wait_grace() {
    if (all_ended() || hurry || clock::now() >= deadline) return cancel_rest();
    after(std::chrono::milliseconds(20), &impl::wait_grace);
  }

  // No task active and every `finished` handed to the hub (see task_runner::ending).
  bool all_ended() const { return tasks.active() == 0 && runner.ending() == 0; }

  void cancel_rest() {
    auto rest = tasks.unfinished();
    if (!rest.empty())
      log::info("shutting down: cancelling tasks", {{"count", std::to_string(rest.size())}});
    for (const auto& t : rest)
      runner.cancel(t, stop_reason::shutdown);
    deadline = clock::now() + std::chrono::seconds(5);
    wait_finished();
  }

  void wait_finished() {
    if (all_ended() || clock::now() >= deadline) return close_sessions();
    after(std::chrono::milliseconds(5), &impl::wait_finished);
  }

  void close_sessions() {
    if (auto n = tasks.active())
      log::warn("shutting down with tasks that did not stop", {{"count", std::to_string(n)}});
    // Every finished is in the hub's queue by now, so each 1001 close goes out behind it.
    router.close_all();
    deadline = clock::now() + std::chrono::seconds(2);
    wait_closed();
  }

  void wait_closed() {
    if (router.connections() == 0 || clock::now() >= deadline) return stop_io();
    after(std::chrono::milliseconds(5), &impl::wait_closed);
  }

  void stop_io() {
    if (lst) lst->stop();
    prune_timer.cancel();
    if (signals) signals->cancel();
    log::info("shutdown complete");
    ioc.stop();  // idle keep-alive HTTP connections are dropped with the io_context
  }

  void wait_signal() {
    signals->async_wait([this](error_code ec, int sig) {
      if (ec) return;
      log::info("signal received", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
      begin_drain();
      wait_signal();
    });
  }

  config cfg;
  handler_registry handlers;
  metrics stats;
  task_registry tasks;
  net::io_context ioc;
  hub router;
  task_runner runner;
  app_state app;
  net::strand<net::io_context::executor_type> control;
  net::steady_timer prune_timer;
  net::steady_timer step_timer;
  std::optional<net::signal_set> signals;
  std::shared_ptr<listener> lst;
  std::vector<std::thread> threads;
  clock::time_point deadline;
  bool hurry = false;  // control strand only
  bool started = false;
  bool joined = false;
};

server::server(config cfg) : impl_(std::make_unique<impl>(std::move(cfg))) {
  log::set_level(log::parse_level(impl_->cfg.log_level));
}

server::~server() {
  if (impl_->started && !impl_->joined) {
    shutdown();
    shutdown();  // no grace: a destructor should not wait for tasks
    wait();
  }
  impl_->runner.stop();
}

void server::start() {
  auto& m = *impl_;
  std::shared_ptr<ssl::context> tls;
  if (!m.cfg.tls_cert.empty()) tls = make_tls_context(m.cfg.tls_cert, m.cfg.tls_key);
  m.lst = std::make_shared<listener>(m.ioc, resolve(m.ioc, m.cfg), m.app, std::move(tls));
  m.lst->run();
  m.schedule_prune();
  m.started = true;
  for (int i = 0; i < m.cfg.io_threads; ++i)
    m.threads.emplace_back([&m] {
      for (;;) {
        try {
          m.ioc.run();
          return;
        } catch (const std::exception& e) {
          log::error("uncaught exception on an I/O thread", {{"error", e.what()}});
        }
      }
    });
  m.app.ready = true;
  if (m.cfg.roots.empty()) log::warn("no roots configured: tasks that read files are refused");
  log::info("ready", {{"host", m.cfg.host},
                      {"port", std::to_string(m.lst->port())},
                      {"tls", m.cfg.tls_cert.empty() ? "off" : "on"},
                      {"io_threads", std::to_string(m.cfg.io_threads)},
                      {"io_workers", std::to_string(m.cfg.io_workers)},
                      {"cpu_workers", std::to_string(m.cfg.cpu_workers)}});
}

std::uint16_t server::port() const {
  return impl_->lst ? impl_->lst->port() : 0;
}

void server::shutdown() {
  net::post(impl_->control, [m = impl_.get()] { m->begin_drain(); });
}

void server::wait() {
  auto& m = *impl_;
  for (auto& t : m.threads)
    if (t.joinable()) t.join();
  m.threads.clear();
  m.runner.stop();
  m.joined = true;
}

int server::run_until_signal() {
  auto& m = *impl_;
  m.signals.emplace(m.ioc, SIGINT, SIGTERM);
  m.wait_signal();
  start();
  wait();
  return 0;
}

}  // namespace taskwire
