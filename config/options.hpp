// SPDX-License-Identifier: MIT
#pragma once
// The table of configuration options: one entry per key, shared by the config file, the
// environment (TASKWIRE_<KEY>) and the command line (--<key-with-dashes>).
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace taskwire::options {

// A raw value as one source gave it: JSON from the file, or text from the environment or a flag.
struct raw_value {
  const nlohmann::ordered_json* json = nullptr;  // set for the file
  std::string text;                              // set otherwise
  std::string origin;                            // "config key 'port'", "TASKWIRE_PORT", "--port"
};

struct option {
  std::string_view key;
  std::string_view default_text;
  std::string_view help;
  bool is_flag_switch;  // a bool: "--key" alone means true
  void (*apply)(config&, const raw_value&);
};

const std::vector<option>& all();
const option* find(std::string_view key);

std::string env_name(std::string_view key);   // port -> TASKWIRE_PORT
std::string flag_name(std::string_view key);  // io_threads -> --io-threads

// "NAME=DIR" into a root whose path is made canonical; throws config_error.
root_dir parse_root(const std::string& spec, const std::string& origin);
// Makes the path canonical and checks the name and the directory; throws config_error.
root_dir make_root(const std::string& name, const std::string& dir, const std::string& origin);

}  // namespace taskwire::options
