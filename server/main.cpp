// SPDX-License-Identifier: MIT
// taskwired: runs in the foreground (systemd, Docker) until SIGINT or SIGTERM.
#include <cstdio>
#include <exception>

#include "config/config.hpp"
#include "server/log.hpp"
#include "server/server.hpp"

int main(int argc, char** argv) {
  using namespace taskwire;
  loaded_config lc;
  try {
    lc = load_config(std::vector<std::string>(argv + 1, argv + argc), process_env(),
                     process_env_names());
  } catch (const config_error& e) {
    std::fprintf(stderr, "taskwired: configuration error: %s\n", e.what());
    return 2;
  }
  switch (lc.action) {
    case startup_action::help:
      std::fputs(usage_text().c_str(), stdout);
      return 0;
    case startup_action::version:
      std::printf("taskwired %s (protocol 1)\n", TASKWIRE_VERSION);
      return 0;
    case startup_action::print_config:
      std::fputs(describe_config(lc.cfg).c_str(), stdout);
      return 0;
    case startup_action::run:
      break;
  }
  try {
    server s(lc.cfg);
    return s.run_until_signal();
  } catch (const config_error& e) {
    // Found only when the server starts (a certificate OpenSSL cannot use).
    std::fprintf(stderr, "taskwired: configuration error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    log::error("start-up failed", {{"error", e.what()}});
    std::fprintf(stderr, "taskwired: %s\n", e.what());
    return 1;
  }
}
