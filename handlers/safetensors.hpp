// SPDX-License-Identifier: MIT
#pragma once
// The safetensors header: an 8-byte little-endian length, then that many bytes of JSON that map
// tensor names to {dtype, shape, data_offsets}, plus an optional "__metadata__" object. Pure
// functions over bytes, bounded, so they can be fuzzed; errors throw format_error.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "handlers/format_error.hpp"

namespace taskwire::formats {

inline constexpr std::uint64_t safetensors_max_header = 100ull << 20;

struct safetensors_info {
  std::uint64_t tensors = 0;
  std::uint64_t parameters = 0;
  std::map<std::string, std::uint64_t> dtypes;  // dtype -> tensor count
  nlohmann::json metadata;                      // "__metadata__", or null
};

// The header length from the first 8 bytes, when it is plausible for a file of this size
// (at least "{}", at most safetensors_max_header, within the file) and the JSON starts with '{'.
std::optional<std::uint64_t> safetensors_header_length(std::string_view first_bytes,
                                                       std::uint64_t file_size);

// `header` is the JSON text; `data_len` the bytes after it (data_offsets must fit there).
safetensors_info parse_safetensors_header(std::string_view header, std::uint64_t data_len);

nlohmann::json to_json(const safetensors_info& info);

}  // namespace taskwire::formats
