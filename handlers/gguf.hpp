// SPDX-License-Identifier: MIT
#pragma once
// The GGUF header (llama.cpp's format): magic, version, tensor and key/value counts, typed
// metadata, then tensor infos. Read front to back through a byte source, every count and length
// checked against what is left of the file, so a hostile header cannot make it allocate or
// loop beyond the file's own size. Errors throw format_error.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "handlers/format_error.hpp"

namespace taskwire::formats {

// Reads up to `n` bytes at `offset` into `out`; returns how many were read (0 at the end).
using byte_source = std::function<std::size_t(std::uint64_t offset, char* out, std::size_t n)>;

struct gguf_info {
  std::uint32_t version = 0;
  std::uint64_t tensors = 0;
  std::uint64_t parameters = 0;
  std::string architecture;                            // general.architecture
  std::string name;                                    // general.name
  nlohmann::json file_type;                            // general.file_type, or null
  nlohmann::json metadata = nlohmann::json::object();  // every scalar key (long strings left out)
};

inline constexpr std::size_t gguf_max_string = 1 << 20;    // any one key or string value
inline constexpr std::size_t gguf_max_kept_string = 4096;  // longer strings stay out of metadata
inline constexpr std::uint32_t gguf_max_dims = 8;

bool is_gguf_magic(std::string_view first_bytes);

gguf_info read_gguf(const byte_source& source, std::uint64_t file_size);
gguf_info parse_gguf(std::string_view bytes);  // the whole file in memory (tests, fuzzing)

nlohmann::json to_json(const gguf_info& info);

}  // namespace taskwire::formats
