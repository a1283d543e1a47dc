// SPDX-License-Identifier: MIT
// libFuzzer target: a whole GGUF file in memory, read as the scanner reads one from disk.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "handlers/gguf.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace taskwire::formats;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    auto info = parse_gguf(bytes);
    (void)to_json(info).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } catch (const format_error&) {
    // The one way a bad file may end: an item with an error.
  }
  return 0;
}
