// SPDX-License-Identifier: MIT
#pragma once
// Writes small, valid safetensors and GGUF files: the demo models scripts/run puts in an empty
// root, and the fixtures the tests corrupt.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace taskwire::formats {

struct tensor_spec {
  std::string name;
  std::string dtype;  // safetensors dtype (F32, F16, ...); for GGUF: F32 or F16
  std::vector<std::uint64_t> shape;
};

// The whole file: 8-byte header length, header JSON, zeroed tensor data.
std::string make_safetensors(const std::vector<tensor_spec>& tensors,
                             const nlohmann::json& metadata = nullptr);

// A GGUF v3 file. Scalar metadata from JSON (string, integer as int64/uint32 by sign and
// size, float as f32, bool); `string_array` adds one array of strings under that key.
std::string make_gguf(const std::vector<std::pair<std::string, nlohmann::json>>& metadata,
                      const std::vector<tensor_spec>& tensors,
                      const std::pair<std::string, std::vector<std::string>>& string_array = {});

// Writes a few demo models under `dir` (checkpoints/, loras/, llm/) when it holds no file yet;
// returns how many files it wrote.
int write_demo_models(const std::string& dir);

}  // namespace taskwire::formats
