// SPDX-License-Identifier: MIT
#pragma once
// The daemon's configuration: one immutable value built at start-up from the config file, the
// environment and the command line (later sources win). Nothing reads the environment after this.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace taskwire {

struct root_dir {
  std::string name;  // what clients say in "root"
  std::string path;  // canonical absolute directory
};

struct config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8765;
  int io_threads = 1;
  int io_workers = 16;
  int cpu_workers = 0;  // 0 until resolved: the number of cores
  std::size_t max_queued = 10000;
  int max_tasks_per_client = 256;
  std::size_t max_message_bytes = 1 << 20;
  std::size_t send_queue_bytes = 8 << 20;
  double finished_ttl_s = 600;
  bool cancel_on_disconnect = false;
  double shutdown_grace_s = 10;
  double handshake_timeout_s = 30;
  double idle_timeout_s = 300;
  std::string auth_token;  // empty: no token required
  std::vector<root_dir> roots;
  std::string log_level = "info";
  std::string state_dir = "./var";  // the scan cache lives here (taskwire.db)
  bool cache = true;
  bool follow_symlinks = true;  // in scans, and only to targets inside a root
  std::size_t max_connections = 10000;
  std::size_t max_connections_per_ip = 1000;
  double max_messages_per_s = 200;  // per connection, token bucket
  double message_burst = 400;
  std::vector<std::string> allowed_origins;  // empty: same-origin and non-browser clients only
  std::int64_t default_task_timeout_ms = 0;  // 0: none
  // TLS: both set, or neither. With them, https and wss on the port; plain HTTP there gets
  // the probes (/healthz, /readyz) only.
  std::string tls_cert;  // PEM certificate chain file
  std::string tls_key;   // PEM private key file
};

// Bad configuration: the message names the key or flag and what is wrong with it.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class startup_action { run, help, version, print_config };

struct loaded_config {
  config cfg;
  startup_action action = startup_action::run;
};

// Looks an environment variable up; returns nullopt when it is not set.
using env_lookup = std::function<std::optional<std::string>(const std::string&)>;
// Lists the names of the set environment variables (to reject unknown TASKWIRE_* ones).
using env_names = std::function<std::vector<std::string>()>;

// Builds the configuration; throws config_error.
loaded_config load_config(const std::vector<std::string>& args, const env_lookup& getenv,
                          const env_names& list_env);

// Applies a config file's JSON text over `cfg`; `where` names it in errors. Throws config_error.
void apply_config_text(config& cfg, std::string_view text, const std::string& where);

// The process environment, for main().
env_lookup process_env();
env_names process_env_names();

std::string usage_text();
// The effective configuration as JSON text (the token redacted).
std::string describe_config(const config& cfg);

}  // namespace taskwire
