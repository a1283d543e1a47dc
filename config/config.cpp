// SPDX-License-Identifier: MIT
#include "config/config.hpp"

#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "config/options.hpp"

extern char** environ;

namespace taskwire {
namespace {

using nlohmann::ordered_json;

void apply_file(config& cfg, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw config_error("--config: cannot read '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  apply_config_text(cfg, text.str(), "config file '" + path + "'");
}

void apply_env(config& cfg, const env_lookup& getenv, const env_names& list_env) {
  for (const auto& name : list_env()) {
    if (name.rfind("TASKWIRE_", 0) != 0 || name == "TASKWIRE_CONFIG") continue;
    bool known = false;
    for (const auto& o : options::all())
      known = known || options::env_name(o.key) == name;
    if (!known) throw config_error("environment: unknown variable " + name);
  }
  for (const auto& o : options::all()) {
    auto name = options::env_name(o.key);
    if (auto v = getenv(name)) o.apply(cfg, {nullptr, *v, name});
  }
}

// Splits "--key=value" / "--key value"; returns the key's option (nullptr for special flags).
struct flag_arg {
  std::string name;
  std::optional<std::string> inline_value;
};

flag_arg split_flag(const std::string& arg) {
  auto eq = arg.find('=');
  if (eq == std::string::npos) return {arg, std::nullopt};
  return {arg.substr(0, eq), arg.substr(eq + 1)};
}

}  // namespace

void apply_config_text(config& cfg, std::string_view text, const std::string& where) {
  auto doc = ordered_json::parse(text, nullptr, false);
  if (doc.is_discarded()) throw config_error(where + ": not valid JSON");
  if (!doc.is_object()) throw config_error(where + ": must be a JSON object");
  for (const auto& [key, value] : doc.items()) {
    const auto* opt = options::find(key);
    if (!opt) throw config_error(where + ": unknown key '" + key + "'");
    opt->apply(cfg, {&value, {}, where + ", key '" + key + "'"});
  }
}

loaded_config load_config(const std::vector<std::string>& args, const env_lookup& getenv,
                          const env_names& list_env) {
  loaded_config out;
  config& cfg = out.cfg;
  cfg.cpu_workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  // First pass: the actions and the config file, which the other flags override.
  std::optional<std::string> config_path = getenv("TASKWIRE_CONFIG");
  for (std::size_t i = 0; i < args.size(); ++i) {
    auto [name, value] = split_flag(args[i]);
    if (name == "--help" || name == "-h") out.action = startup_action::help;
    if (name == "--version") out.action = startup_action::version;
    if (name == "--print-config") out.action = startup_action::print_config;
    if (name == "--config") {
      if (!value && i + 1 >= args.size()) throw config_error("--config: needs a file path");
      config_path = value ? *value : args[++i];
    }
  }
  if (out.action == startup_action::help || out.action == startup_action::version) return out;

  if (config_path) apply_file(cfg, *config_path);
  apply_env(cfg, getenv, list_env);

  std::vector<root_dir> flag_roots;
  for (std::size_t i = 0; i < args.size(); ++i) {
    auto [name, value] = split_flag(args[i]);
    if (name == "--help" || name == "-h" || name == "--version" || name == "--print-config")
      continue;
    if (name == "--config") {
      if (!value) ++i;
      continue;
    }
    if (name.rfind("--", 0) != 0) throw config_error("unexpected argument '" + args[i] + "'");
    std::string key = name.substr(2);
    for (auto& ch : key)
      ch = ch == '-' ? '_' : ch;
    if (key == "token") key = "auth_token";
    if (key == "no_cache") {
      if (value) throw config_error("--no-cache takes no value");
      key = "cache";
      value = "false";
    }
    const auto* opt = key == "root" ? nullptr : options::find(key);
    if (key != "root" && (!opt || key == "roots"))
      throw config_error("unknown option '" + name + "' (see --help)");
    if (!value) {
      if (opt && opt->is_flag_switch) {
        value = "true";
      } else {
        if (i + 1 >= args.size()) throw config_error(name + ": needs a value");
        value = args[++i];
      }
    }
    if (key == "root")
      flag_roots.push_back(options::parse_root(*value, "--root"));
    else
      opt->apply(cfg, {nullptr, *value, name});
  }
  if (cfg.tls_cert.empty() != cfg.tls_key.empty())
    throw config_error(cfg.tls_cert.empty() ? "tls_key is set but tls_cert is not"
                                            : "tls_cert is set but tls_key is not");
  if (!flag_roots.empty()) {
    for (std::size_t i = 0; i < flag_roots.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (flag_roots[i].name == flag_roots[j].name)
          throw config_error("--root: root '" + flag_roots[i].name + "' is given twice");
    cfg.roots = std::move(flag_roots);
  }
  return out;
}

env_lookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    if (const char* v = std::getenv(name.c_str())) return std::string(v);
    return std::nullopt;
  };
}

env_names process_env_names() {
  return [] {
    std::vector<std::string> names;
    for (char** e = environ; e && *e; ++e) {
      std::string entry(*e);
      names.push_back(entry.substr(0, entry.find('=')));
    }
    return names;
  };
}

std::string usage_text() {
  std::ostringstream s;
  s << "Usage: taskwired [OPTIONS]\n"
       "A WebSocket server that runs background tasks and streams their progress.\n\n"
       "  --config PATH        JSON config file (also TASKWIRE_CONFIG)\n"
       "  --root NAME=DIR      a directory tasks may read; repeatable, the first is the default\n"
       "  --token TOKEN        same as --auth-token\n"
       "  --no-cache           same as --cache=false\n"
       "  --print-config       print the effective configuration as JSON and exit\n"
       "  --help, --version\n\n"
       "Every option below is also a config file key and an environment variable\n"
       "(TASKWIRE_<KEY>); flags win over the environment, which wins over the file.\n\n";
  for (const auto& o : options::all()) {
    std::string flag = options::flag_name(o.key);
    s << "  " << flag << std::string(flag.size() < 24 ? 24 - flag.size() : 1, ' ') << o.help
      << " (default: " << o.default_text << ")\n";
  }
  return s.str();
}

std::string describe_config(const config& cfg) {
  ordered_json j;
  j["host"] = cfg.host;
  j["port"] = cfg.port;
  j["io_threads"] = cfg.io_threads;
  j["io_workers"] = cfg.io_workers;
  j["cpu_workers"] = cfg.cpu_workers;
  j["max_queued"] = cfg.max_queued;
  j["max_tasks_per_client"] = cfg.max_tasks_per_client;
  j["max_message_bytes"] = cfg.max_message_bytes;
  j["send_queue_bytes"] = cfg.send_queue_bytes;
  j["finished_ttl_s"] = cfg.finished_ttl_s;
  j["cancel_on_disconnect"] = cfg.cancel_on_disconnect;
  j["shutdown_grace_s"] = cfg.shutdown_grace_s;
  j["handshake_timeout_s"] = cfg.handshake_timeout_s;
  j["idle_timeout_s"] = cfg.idle_timeout_s;
  j["auth_token"] = cfg.auth_token.empty() ? "" : "(set)";
  j["roots"] = ordered_json::object();
  for (const auto& r : cfg.roots)
    j["roots"][r.name] = r.path;
  j["log_level"] = cfg.log_level;
  j["state_dir"] = cfg.state_dir;
  j["cache"] = cfg.cache;
  j["follow_symlinks"] = cfg.follow_symlinks;
  j["max_connections"] = cfg.max_connections;
  j["max_connections_per_ip"] = cfg.max_connections_per_ip;
  j["max_messages_per_s"] = cfg.max_messages_per_s;
  j["message_burst"] = cfg.message_burst;
  j["allowed_origins"] = cfg.allowed_origins;
  j["default_task_timeout_ms"] = cfg.default_task_timeout_ms;
  j["tls_cert"] = cfg.tls_cert;
  j["tls_key"] = cfg.tls_key;
  // A path may hold any bytes; found by the config fuzzer, --print-config once threw on them.
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace taskwire
