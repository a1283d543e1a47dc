// SPDX-License-Identifier: MIT
// libFuzzer target: the start of a .safetensors file (length prefix, JSON header, data).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "handlers/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace taskwire::formats;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    safetensors_info info;
    if (auto len = safetensors_header_length(bytes.substr(0, 8), size)) {
      // As the scanner does it: the header, and the bytes after it for the offsets.
      info = parse_safetensors_header(bytes.substr(8, static_cast<std::size_t>(*len)),
                                      size - 8 - *len);
    } else {
      // An implausible prefix: still give the JSON part to the header parser.
      info = parse_safetensors_header(bytes, 1u << 20);
    }
    (void)to_json(info).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } catch (const format_error&) {
    // The one way a bad file may end: an item with an error.
  }
  return 0;
}
