// SPDX-License-Identifier: MIT
#include "config/options.hpp"

#include "server/protocol.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <system_error>

namespace taskwire::options {
namespace {

using nlohmann::ordered_json;

[[noreturn]] void bad(const raw_value& v, const std::string& why) {
  throw config_error(v.origin + ": " + why);
}

long long to_int(const raw_value& v, long long lo, long long hi) {
  long long n = 0;
  if (v.json) {
    if (!v.json->is_number_integer()) bad(v, "must be an integer");
    if (v.json->is_number_unsigned() &&
        v.json->get<unsigned long long>() >
            static_cast<unsigned long long>(std::numeric_limits<long long>::max()))
      bad(v, "is out of range");
    n = v.json->get<long long>();
  } else {
    const char* b = v.text.data();
    const char* e = b + v.text.size();
    auto [p, ec] = std::from_chars(b, e, n);
    if (ec != std::errc{} || p != e || v.text.empty())
      bad(v, "must be an integer, not '" + v.text + "'");
  }
  if (n < lo || n > hi)
    bad(v, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  return n;
}

double to_double(const raw_value& v, double lo, double hi) {
  double d = 0;
  if (v.json) {
    if (!v.json->is_number()) bad(v, "must be a number");
    d = v.json->get<double>();
  } else {
    const char* b = v.text.data();
    const char* e = b + v.text.size();
    auto [p, ec] = std::from_chars(b, e, d);
    if (ec != std::errc{} || p != e || v.text.empty())
      bad(v, "must be a number, not '" + v.text + "'");
  }
  if (!(d >= lo && d <= hi))
    bad(v, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  return d;
}

bool to_bool(const raw_value& v) {
  if (v.json) {
    if (!v.json->is_boolean()) bad(v, "must be true or false");
    return v.json->get<bool>();
  }
  if (v.text == "true" || v.text == "1" || v.text == "yes" || v.text == "on") return true;
  if (v.text == "false" || v.text == "0" || v.text == "no" || v.text == "off") return false;
  bad(v, "must be true or false, not '" + v.text + "'");
}

std::string to_string(const raw_value& v) {
  if (v.json) {
    if (!v.json->is_string()) bad(v, "must be a string");
    return v.json->get<std::string>();
  }
  return v.text;
}

// A path that must name a readable file now, so a typo fails at start-up and not at the
// first connection.
std::string readable_file(const raw_value& v) {
  auto path = to_string(v);
  if (path.empty()) return path;  // unset
  std::ifstream in(path, std::ios::binary);
  if (!in) bad(v, "cannot read '" + path + "'");
  return path;
}

// "a,b,,c" -> {a, b, c}: how the environment and flags give lists.
std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

// A JSON list of strings, or comma-separated text.
std::vector<std::string> to_list(const raw_value& v) {
  std::vector<std::string> out;
  if (v.json) {
    if (!v.json->is_array()) bad(v, "must be a list of strings");
    for (const auto& x : *v.json) {
      if (!x.is_string() || x.get<std::string>().empty())
        bad(v, "must be a list of non-empty strings");
      out.push_back(x.get<std::string>());
    }
    return out;
  }
  return split_commas(v.text);
}

std::vector<root_dir> to_roots(const raw_value& v) {
  std::vector<root_dir> roots;
  if (v.json) {
    if (v.json->is_object()) {
      for (const auto& [name, dir] : v.json->items()) {
        if (!dir.is_string()) bad(v, "root '" + name + "' must be a directory path string");
        roots.push_back(make_root(name, dir.get<std::string>(), v.origin));
      }
    } else if (v.json->is_array()) {
      for (const auto& spec : *v.json) {
        if (!spec.is_string()) bad(v, "each entry must be a \"NAME=DIR\" string");
        roots.push_back(parse_root(spec.get<std::string>(), v.origin));
      }
    } else {
      bad(v, "must be an object {\"NAME\": \"DIR\"} or a list of \"NAME=DIR\"");
    }
  } else {
    for (const auto& spec : split_commas(v.text))
      roots.push_back(parse_root(spec, v.origin));
  }
  for (std::size_t i = 0; i < roots.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (roots[i].name == roots[j].name) bad(v, "root '" + roots[i].name + "' is given twice");
  return roots;
}

const std::vector<option> table = {
    {"host", "127.0.0.1", "address to listen on", false,
     [](config& c, const raw_value& v) {
       c.host = to_string(v);
       if (c.host.empty()) bad(v, "must not be empty");
     }},
    {"port", "8765", "TCP port for HTTP and WebSocket (0: any free port)", false,
     [](config& c, const raw_value& v) {
       c.port = static_cast<std::uint16_t>(to_int(v, 0, 65535));
     }},
    {"io_threads", "1", "threads running the network I/O loop", false,
     [](config& c, const raw_value& v) { c.io_threads = static_cast<int>(to_int(v, 1, 256)); }},
    {"io_workers", "16", "worker threads of the io pool (file-system work)", false,
     [](config& c, const raw_value& v) { c.io_workers = static_cast<int>(to_int(v, 1, 1024)); }},
    {"cpu_workers", "number of cores", "worker threads of the cpu pool (hashing)", false,
     [](config& c, const raw_value& v) { c.cpu_workers = static_cast<int>(to_int(v, 1, 1024)); }},
    {"max_queued", "10000", "tasks waiting for a worker, per pool, before submits get queue_full",
     false,
     [](config& c, const raw_value& v) {
       c.max_queued = static_cast<std::size_t>(to_int(v, 1, 100000000));
     }},
    {"max_tasks_per_client", "256",
     "unfinished tasks one client_id may have before submits get too_many_tasks", false,
     [](config& c, const raw_value& v) {
       c.max_tasks_per_client = static_cast<int>(to_int(v, 1, 1000000));
     }},
    {"max_message_bytes", "1048576", "largest client message; a larger one closes with 1009", false,
     [](config& c, const raw_value& v) {
       c.max_message_bytes = static_cast<std::size_t>(to_int(v, 1024, 1LL << 30));
     }},
    {"send_queue_bytes", "8388608",
     "bytes queued for one connection; above half, progress events are coalesced", false,
     [](config& c, const raw_value& v) {
       c.send_queue_bytes = static_cast<std::size_t>(to_int(v, 65536, 1LL << 34));
     }},
    {"finished_ttl_s", "600", "seconds a finished task stays listed and resumable", false,
     [](config& c, const raw_value& v) { c.finished_ttl_s = to_double(v, 0, 86400 * 365.0); }},
    {"cancel_on_disconnect", "false", "cancel a client's tasks when its last connection closes",
     true, [](config& c, const raw_value& v) { c.cancel_on_disconnect = to_bool(v); }},
    {"shutdown_grace_s", "10", "seconds running tasks get to end on SIGTERM before cancellation",
     false, [](config& c, const raw_value& v) { c.shutdown_grace_s = to_double(v, 0, 3600); }},
    {"handshake_timeout_s", "30", "seconds allowed for the HTTP request and WebSocket handshake",
     false, [](config& c, const raw_value& v) { c.handshake_timeout_s = to_double(v, 0.1, 3600); }},
    {"idle_timeout_s", "300",
     "seconds of silence before a connection is dropped (pings are sent at half of it)", false,
     [](config& c, const raw_value& v) { c.idle_timeout_s = to_double(v, 1, 86400); }},
    {"auth_token", "(none)", "token clients must present (Bearer header or ?token=)", false,
     [](config& c, const raw_value& v) { c.auth_token = to_string(v); }},
    {"roots", "(none)", "directories tasks may read, NAME=DIR; the first is the default root",
     false, [](config& c, const raw_value& v) { c.roots = to_roots(v); }},
    {"state_dir", "./var", "directory for the scan cache (taskwire.db)", false,
     [](config& c, const raw_value& v) {
       c.state_dir = to_string(v);
       if (c.state_dir.empty()) bad(v, "must not be empty");
     }},
    {"cache", "true", "keep hashes and headers in state_dir/taskwire.db (--no-cache: off)", true,
     [](config& c, const raw_value& v) { c.cache = to_bool(v); }},
    {"follow_symlinks", "true", "follow symlinks in scans (only to targets inside a root)", true,
     [](config& c, const raw_value& v) { c.follow_symlinks = to_bool(v); }},
    {"max_connections", "10000", "WebSocket connections in all; past it upgrades get HTTP 503",
     false,
     [](config& c, const raw_value& v) {
       c.max_connections = static_cast<std::size_t>(to_int(v, 1, 10000000));
     }},
    {"max_connections_per_ip", "1000", "WebSocket connections from one address; past it HTTP 503",
     false,
     [](config& c, const raw_value& v) {
       c.max_connections_per_ip = static_cast<std::size_t>(to_int(v, 1, 10000000));
     }},
    {"max_messages_per_s", "200",
     "client messages per second per connection (rate_limited past it)", false,
     [](config& c, const raw_value& v) { c.max_messages_per_s = to_double(v, 0.001, 1e9); }},
    {"message_burst", "400",
     "client messages a connection may send at once before the rate applies", false,
     [](config& c, const raw_value& v) { c.message_burst = to_double(v, 1, 1e9); }},
    {"auth_token_file", "(none)",
     "read auth_token from this file (surrounding white space dropped)", false,
     [](config& c, const raw_value& v) {
       auto path = to_string(v);
       std::ifstream in(path, std::ios::binary);
       if (!in) bad(v, "cannot read '" + path + "'");
       std::string token((std::istreambuf_iterator<char>(in)), {});
       auto b = token.find_first_not_of(" \t\r\n");
       auto e = token.find_last_not_of(" \t\r\n");
       if (b == std::string::npos) bad(v, "'" + path + "' holds no token");
       c.auth_token = token.substr(b, e - b + 1);
     }},
    {"tls_cert", "(none)", "PEM certificate chain: serve https and wss (needs tls_key)", false,
     [](config& c, const raw_value& v) { c.tls_cert = readable_file(v); }},
    {"tls_key", "(none)", "PEM private key for tls_cert", false,
     [](config& c, const raw_value& v) { c.tls_key = readable_file(v); }},
    {"allowed_origins", "(none)",
     "browser Origins allowed to connect, e.g. https://ui.example (same-origin always is)", false,
     [](config& c, const raw_value& v) { c.allowed_origins = to_list(v); }},
    {"default_task_timeout_ms", "0", "timeout_ms for submits that give none (0: no timeout)", false,
     [](config& c, const raw_value& v) { c.default_task_timeout_ms = to_int(v, 0, 1LL << 31); }},
    {"log_level", "info", "debug, info, warn or error", false,
     [](config& c, const raw_value& v) {
       c.log_level = to_string(v);
       if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" &&
           c.log_level != "error")
         bad(v, "must be debug, info, warn or error, not '" + c.log_level + "'");
     }},
};

}  // namespace

const std::vector<option>& all() {
  return table;
}

const option* find(std::string_view key) {
  for (const auto& o : table)
    if (o.key == key) return &o;
  return nullptr;
}

std::string env_name(std::string_view key) {
  std::string s = "TASKWIRE_";
  for (char ch : key)
    s += static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch);
  return s;
}

std::string flag_name(std::string_view key) {
  std::string s = "--";
  for (char ch : key)
    s += ch == '_' ? '-' : ch;
  return s;
}

root_dir make_root(const std::string& name, const std::string& dir, const std::string& origin) {
  if (!protocol::valid_identifier(name))
    throw config_error(origin + ": root name '" + name + "' must match [A-Za-z0-9_.-]{1,64}");
  if (dir.empty()) throw config_error(origin + ": root '" + name + "' has an empty directory");
  std::error_code ec;
  auto canon = std::filesystem::canonical(dir, ec);
  if (ec) throw config_error(origin + ": root '" + name + "': " + dir + ": " + ec.message());
  if (!std::filesystem::is_directory(canon, ec))
    throw config_error(origin + ": root '" + name + "': " + dir + " is not a directory");
  return {name, canon.string()};
}

root_dir parse_root(const std::string& spec, const std::string& origin) {
  auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0)
    throw config_error(origin + ": expected NAME=DIR, got '" + spec + "'");
  return make_root(spec.substr(0, eq), spec.substr(eq + 1), origin);
}

}  // namespace taskwire::options
