// SPDX-License-Identifier: MIT
#pragma once
// What every session shares (like chat-multi's shared_state), Beast-free. Owned by the server,
// which outlives every session: sessions die with the io_context, before this.
#include <atomic>
#include <string>

#include "config/config.hpp"
#include "handlers/registry.hpp"
#include "server/connection_limits.hpp"
#include "server/metrics.hpp"
#include "workers/task_registry.hpp"
#include "workers/task_runner.hpp"

namespace taskwire {

class hub;

struct app_state {
  const config& cfg;
  const handler_registry& handlers;
  metrics& stats;
  task_registry& tasks;
  task_runner& runner;
  hub& router;
  const std::string server_name;
  const std::vector<std::string> root_names;
  const std::shared_ptr<connection_limits> limits;  // shared: sessions give slots back late
  std::atomic<bool> ready{false};
  std::atomic<bool> draining{false};
};

}  // namespace taskwire
