// SPDX-License-Identifier: MIT
#include "client/cli_options.hpp"

#include <algorithm>
#include <charconv>
#include <map>

namespace taskwire::cli {
namespace {

long long to_integer(const std::string& flag, const std::string& text, long long lo, long long hi) {
  long long n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || p != text.data() + text.size() || text.empty())
    throw usage_error(flag + " must be an integer, not '" + text + "'");
  if (n < lo || n > hi)
    throw usage_error(flag + " must be between " + std::to_string(lo) + " and " +
                      std::to_string(hi));
  return n;
}

double to_seconds(const std::string& flag, const std::string& text) {
  double d = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (ec != std::errc{} || p != text.data() + text.size() || text.empty() || !(d >= 0) || d > 86400)
    throw usage_error(flag + " must be a number of seconds (0..86400), not '" + text + "'");
  return d;
}

const std::map<std::string, command>& commands() {
  static const std::map<std::string, command> m{
      {"scan", command::scan},   {"hash", command::hash},      {"tick", command::tick},
      {"tasks", command::tasks}, {"cancel", command::cancel},  {"watch", command::watch},
      {"help", command::help},   {"version", command::version}};
  return m;
}

std::string default_client_id(const env_lookup& env) {
  // One id per user on a machine: `taskwire tasks` and `taskwire watch` in another terminal see
  // what this user started.
  std::string user = env("USER").value_or("");
  std::string id = "cli";
  if (!user.empty()) {
    id += '-';
    for (char ch : user)
      id += valid_client_id(std::string(1, ch)) ? ch : '_';
  }
  return id.substr(0, 64);
}

}  // namespace

bool valid_client_id(const std::string& id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == '-';
  });
}

cli_options parse_args(const std::vector<std::string>& argv, const env_lookup& env) {
  cli_options o;
  if (auto v = env("TASKWIRE_URL"); v && !v->empty()) o.url = *v;
  if (auto v = env("TASKWIRE_TOKEN"); v) o.token = *v;
  if (auto v = env("TASKWIRE_CLIENT_ID"); v && !v->empty()) o.client_id = *v;

  std::optional<command> cmd;
  std::vector<std::string> operands;
  // Command options seen, to refuse one that does not belong to the command.
  std::vector<std::pair<std::string, std::vector<command>>> used;
  bool only_operands = false;

  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (only_operands || a.empty() || a[0] != '-' || a == "-") {
      if (!cmd && !only_operands) {
        auto it = commands().find(a);
        if (it == commands().end()) throw usage_error("unknown command '" + a + "'");
        cmd = it->second;
      } else {
        operands.push_back(a);
      }
      continue;
    }
    if (a == "--") {
      only_operands = true;
      continue;
    }
    // --flag=value or --flag value
    std::string flag = a;
    std::optional<std::string> inline_value;
    if (auto eq = a.find('='); eq != std::string::npos && a.rfind("--", 0) == 0) {
      flag = a.substr(0, eq);
      inline_value = a.substr(eq + 1);
    }
    auto value = [&]() -> std::string {
      if (inline_value) return *inline_value;
      if (i + 1 >= argv.size()) throw usage_error(flag + " needs a value");
      return argv[++i];
    };
    auto no_value = [&] {
      if (inline_value) throw usage_error(flag + " takes no value");
    };
    if (flag == "--url") {
      o.url = value();
    } else if (flag == "--token") {
      o.token = value();
    } else if (flag == "--client-id") {
      o.client_id = value();
    } else if (flag == "--json") {
      no_value();
      o.json = true;
    } else if (flag == "--insecure") {
      no_value();
      o.insecure = true;
    } else if (flag == "--cacert") {
      o.ca_file = value();
    } else if (flag == "--reconnect-s") {
      o.reconnect_s = to_seconds(flag, value());
    } else if (flag == "--timeout-ms") {
      o.timeout_ms = to_integer(flag, value(), 1, 2147483648LL);
      used.push_back({flag, {command::scan, command::hash, command::tick}});
    } else if (flag == "--hash") {
      no_value();
      o.hash = true;
      used.push_back({flag, {command::scan}});
    } else if (flag == "--no-metadata") {
      no_value();
      o.metadata = false;
      used.push_back({flag, {command::scan}});
    } else if (flag == "--root") {
      o.root = value();
      used.push_back({flag, {command::scan}});
    } else if (flag == "--interval-ms") {
      o.interval_ms = to_integer(flag, value(), 0, 60000);
      used.push_back({flag, {command::tick}});
    } else if (flag == "--help" || flag == "-h") {
      no_value();
      o.cmd = command::help;
      return o;
    } else if (flag == "--version") {
      no_value();
      o.cmd = command::version;
      return o;
    } else {
      throw usage_error("unknown option '" + flag + "'");
    }
  }

  if (!cmd) throw usage_error("no command given");
  o.cmd = *cmd;
  for (const auto& [flag, allowed] : used)
    if (std::find(allowed.begin(), allowed.end(), o.cmd) == allowed.end())
      throw usage_error(flag + " does not apply to this command");

  auto operands_between = [&](std::size_t lo, std::size_t hi, const char* what) {
    if (operands.size() < lo || operands.size() > hi) throw usage_error(what);
  };
  switch (o.cmd) {
    case command::scan:
      operands_between(0, 1, "scan takes at most one PATH");
      break;
    case command::hash:
      operands_between(1, 10000, "hash needs at least one FILE (and at most 10000)");
      break;
    case command::tick:
      operands_between(1, 1, "tick needs the number of ticks: taskwire tick N");
      o.count = to_integer("N", operands[0], 0, 1000000);
      break;
    case command::tasks:
      operands_between(0, 0, "tasks takes no operands");
      break;
    case command::cancel:
      operands_between(1, 1, "cancel needs one TASK_ID");
      break;
    case command::watch:
      operands_between(0, 1, "watch takes at most one TASK_ID");
      break;
    case command::help:
    case command::version:
      break;
  }
  o.args = std::move(operands);

  if (o.client_id.empty()) o.client_id = default_client_id(env);
  if (!valid_client_id(o.client_id))
    throw usage_error("--client-id must be 1 to 64 of A-Z a-z 0-9 _ . -, not '" + o.client_id +
                      "'");
  if (o.url.rfind("ws://", 0) != 0 && o.url.rfind("wss://", 0) != 0)
    throw usage_error("--url must start with ws:// or wss://, not '" + o.url + "'");
  return o;
}

std::string usage_text() {
  return R"(usage: taskwire [OPTIONS] COMMAND [ARGS]

Commands:
  scan [PATH] [--hash] [--no-metadata] [--root NAME]
                      index the model files under PATH (default: the first root)
  hash FILE...        SHA-256 of files (printed like sha256sum)
  tick N [--interval-ms M]
                      a ticker task of N steps, M ms apart (default 100)
  tasks               list this client's tasks
  cancel TASK_ID      cancel a task
  watch [TASK_ID]     follow a task (default: every running task of this client)

Paths are sent as given: absolute, or relative to the root (the first one by default).

Options (before or after the command):
  --url URL           ws://HOST:PORT/ws or wss://... (env TASKWIRE_URL;
                      default ws://127.0.0.1:8765/ws)
  --token TOKEN       the server's auth_token (env TASKWIRE_TOKEN, which keeps it out of ps)
  --client-id ID      whose tasks these are (env TASKWIRE_CLIENT_ID; default cli-$USER)
  --json              one JSON message per line, also the default when stdout is not a terminal
  --timeout-ms MS     fail the task if it runs longer
  --reconnect-s S     keep trying this long when the connection drops mid-task (default 30)
  --cacert FILE       trust this CA certificate for wss://
  --insecure          wss:// without verifying the certificate
  -h, --help          this text;  --version  the client's version

Ctrl-C cancels the task on the server and exits 130; SIGTERM or SIGHUP leaves it running
(follow it again with `taskwire watch TASK_ID`).
Exit codes: 0 succeeded, 1 failed or cancelled, 2 usage, 3 cannot connect, 130 Ctrl-C.
)";
}

}  // namespace taskwire::cli
