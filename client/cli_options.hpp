// SPDX-License-Identifier: MIT
#pragma once
// The command line of the `taskwire` client: global options (before or after the command), the
// command and its own options. No networking here, so it is tested on its own.
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace taskwire::cli {

// A command line that cannot run: the client prints it with the usage and exits 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class command { scan, hash, tick, tasks, cancel, watch, help, version };

struct cli_options {
  // Global.
  std::string url = "ws://127.0.0.1:8765/ws";
  std::string token;
  std::string client_id;
  bool json = false;        // --json: one JSON frame per line (also when stdout is no terminal)
  bool insecure = false;    // --insecure: wss:// without certificate verification
  std::string ca_file;      // --cacert FILE: trust this CA (PEM) for wss://
  double reconnect_s = 30;  // how long to keep trying after a connection is lost mid-task
  std::optional<long long> timeout_ms;  // --timeout-ms on a submit

  command cmd = command::help;
  std::vector<std::string> args;  // the command's operands

  // scan
  bool hash = false;
  bool metadata = true;
  std::string root;  // --root NAME: which root a relative PATH is in
  // tick
  long long count = 0;
  long long interval_ms = 100;
};

// Reads an environment variable; std::getenv in the program, a map in the tests.
using env_lookup = std::function<std::optional<std::string>(const std::string&)>;

// Parses argv (without argv[0]). Environment: TASKWIRE_URL, TASKWIRE_TOKEN, TASKWIRE_CLIENT_ID,
// USER (for the default client_id "cli-USER"). Throws usage_error.
cli_options parse_args(const std::vector<std::string>& argv, const env_lookup& env);

std::string usage_text();

// [A-Za-z0-9_.-]{1,64}, as the server requires.
bool valid_client_id(const std::string& id);

}  // namespace taskwire::cli
