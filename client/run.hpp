// SPDX-License-Identifier: MIT
#pragma once
// The client's one connection to taskwired and the commands that use it.
#include "client/cli_options.hpp"

namespace taskwire::cli {

enum exit_status : int {
  exit_succeeded = 0,
  exit_failed = 1,  // a task failed or was cancelled, or the server refused the request
  exit_usage = 2,
  exit_no_connection = 3,
  exit_interrupted = 130,  // Ctrl-C: the tasks were cancelled on the server
};

// Runs the command to its end. `terminal`: stdout is a terminal and --json was not given, so
// progress is drawn as bars; otherwise every message is printed as one JSON line.
int run(const cli_options& o, bool terminal);

}  // namespace taskwire::cli
