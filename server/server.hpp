// SPDX-License-Identifier: MIT
#pragma once
// The daemon in one object: pools, hub, listener and I/O threads, started and stopped in order.
// Asio-free header, so tests and main() include it cheaply.
#include <cstdint>
#include <memory>

#include "config/config.hpp"

namespace taskwire {

class server {
 public:
  explicit server(config cfg);
  ~server();  // shuts down (without grace) if still running
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds the listener and starts the I/O threads; /readyz answers 200 once this returns.
  // Throws std::runtime_error (port in use, bad host) without leaving anything running.
  void start();
  std::uint16_t port() const;

  // Begins the drain (any thread): /readyz 503, upgrades and submits refused, running tasks
  // get shutdown_grace_s, then are cancelled; every finished is delivered, sessions close 1001.
  // A second call ends the grace period at once.
  void shutdown();
  // Blocks until the drain is done and every thread is joined.
  void wait();

  // For the daemon: start, drain on SIGINT/SIGTERM (a second signal hurries), then return 0.
  int run_until_signal();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace taskwire
