// SPDX-License-Identifier: MIT
// libFuzzer target: the config loader. The input is a config file's text, then (after a NUL)
// NUL-separated command-line arguments, so both the JSON and the text parsers get bad input.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace taskwire;
  std::string_view all(reinterpret_cast<const char*>(data), size);
  auto cut = all.find('\0');
  std::string_view file = all.substr(0, cut);
  std::vector<std::string> args;
  while (cut != std::string_view::npos) {
    all.remove_prefix(cut + 1);
    cut = all.find('\0');
    std::string arg(all.substr(0, cut));
    // --config would read a file named by the fuzzer; the file text is tested above instead.
    if (arg.rfind("--config", 0) != 0) args.push_back(std::move(arg));
  }
  try {
    config cfg;
    apply_config_text(cfg, file, "fuzz");
    (void)describe_config(cfg);
  } catch (const config_error&) {
  }
  try {
    auto none = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    auto no_names = [] { return std::vector<std::string>{}; };
    auto loaded = load_config(args, none, no_names);
    (void)describe_config(loaded.cfg);
  } catch (const config_error&) {
  }
  return 0;
}
