// SPDX-License-Identifier: MIT
// taskwire: the command-line client of taskwired. See `taskwire --help`.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "client/cli_options.hpp"
#include "client/run.hpp"

int main(int argc, char** argv) {
  using namespace taskwire::cli;
  cli_options o;
  try {
    o = parse_args(std::vector<std::string>(argv + 1, argv + argc),
                   [](const std::string& name) -> std::optional<std::string> {
                     const char* v = std::getenv(name.c_str());
                     return v ? std::optional<std::string>(v) : std::nullopt;
                   });
  } catch (const usage_error& e) {
    std::fprintf(stderr, "taskwire: %s\n\n%s", e.what(), usage_text().c_str());
    return exit_usage;
  }
  if (o.cmd == command::help) {
    std::fputs(usage_text().c_str(), stdout);
    return exit_succeeded;
  }
  if (o.cmd == command::version) {
    std::printf("taskwire %s\n", TASKWIRE_VERSION);
    return exit_succeeded;
  }
  return run(o, !o.json && ::isatty(STDOUT_FILENO) == 1);
}
