// SPDX-License-Identifier: MIT
#include "handlers/model_writer.hpp"

#include <filesystem>
#include <fstream>

namespace taskwire::formats {
namespace {

std::uint64_t elem_size(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64") return 8;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL") return 1;
  return 4;
}

std::uint64_t count(const tensor_spec& t) {
  std::uint64_t n = 1;
  for (auto d : t.shape)
    n *= d;
  return n;
}

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

void put_str(std::string& out, const std::string& s) {
  put<std::uint64_t>(out, s.size());
  out += s;
}

}  // namespace

std::string make_safetensors(const std::vector<tensor_spec>& tensors,
                             const nlohmann::json& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.is_null()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto& t : tensors) {
    auto bytes = count(t) * elem_size(t.dtype);
    header[t.name] = {
        {"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  auto text = header.dump();
  std::string out;
  put<std::uint64_t>(out, text.size());
  out += text;
  out.append(offset, '\0');
  return out;
}

std::string make_gguf(const std::vector<std::pair<std::string, nlohmann::json>>& metadata,
                      const std::vector<tensor_spec>& tensors,
                      const std::pair<std::string, std::vector<std::string>>& string_array) {
  std::string out = "GGUF";
  put<std::uint32_t>(out, 3);
  put<std::uint64_t>(out, tensors.size());
  put<std::uint64_t>(out, metadata.size() + (string_array.first.empty() ? 0 : 1));
  for (const auto& [key, v] : metadata) {
    put_str(out, key);
    if (v.is_string()) {
      put<std::uint32_t>(out, 8);
      put_str(out, v.get<std::string>());
    } else if (v.is_boolean()) {
      put<std::uint32_t>(out, 7);
      put<std::uint8_t>(out, v.get<bool>() ? 1 : 0);
    } else if (v.is_number_float()) {
      put<std::uint32_t>(out, 6);
      put<float>(out, v.get<float>());
    } else if (v.is_number_unsigned() && v.get<std::uint64_t>() <= 0xffffffffu) {
      put<std::uint32_t>(out, 4);
      put<std::uint32_t>(out, v.get<std::uint32_t>());
    } else {
      put<std::uint32_t>(out, 11);
      put<std::int64_t>(out, v.get<std::int64_t>());
    }
  }
  if (!string_array.first.empty()) {
    put_str(out, string_array.first);
    put<std::uint32_t>(out, 9);
    put<std::uint32_t>(out, 8);
    put<std::uint64_t>(out, string_array.second.size());
    for (const auto& s : string_array.second)
      put_str(out, s);
  }
  std::uint64_t offset = 0;
  for (const auto& t : tensors) {
    put_str(out, t.name);
    put<std::uint32_t>(out, static_cast<std::uint32_t>(t.shape.size()));
    for (auto d : t.shape)
      put<std::uint64_t>(out, d);
    put<std::uint32_t>(out, t.dtype == "F16" ? 1 : 0);  // ggml type: 0 F32, 1 F16
    put<std::uint64_t>(out, offset);
    offset += count(t) * elem_size(t.dtype);
  }
  out.append((32 - out.size() % 32) % 32, '\0');  // data section alignment
  out.append(offset, '\0');
  return out;
}

int write_demo_models(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(dir, ec))
    for (const auto& e : fs::recursive_directory_iterator(dir, ec))
      if (e.is_regular_file(ec)) return 0;
  auto write = [&](const std::string& rel, const std::string& bytes) {
    auto p = fs::path(dir) / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
  };
  write("checkpoints/demo-sd-tiny.safetensors",
        make_safetensors(
            {{"model.diffusion.conv_in.weight", "F16", {32, 4, 3, 3}},
             {"model.diffusion.conv_in.bias", "F16", {32}},
             {"first_stage.decoder.norm.weight", "F32", {64}}},
            {{"modelspec.title", "taskwire demo checkpoint"}, {"modelspec.architecture", "demo"}}));
  write("loras/demo-style-lora.safetensors",
        make_safetensors({{"lora_unet_down.lora_down.weight", "F16", {4, 64}},
                          {"lora_unet_down.lora_up.weight", "F16", {64, 4}}},
                         {{"ss_network_dim", "4"}, {"ss_base_model_version", "demo"}}));
  write("llm/demo-tinyllama.gguf",
        make_gguf({{"general.architecture", "llama"},
                   {"general.name", "taskwire demo llama"},
                   {"general.file_type", 1u},
                   {"llama.context_length", 2048u},
                   {"llama.block_count", 2u}},
                  {{"token_embd.weight", "F16", {64, 32}},
                   {"blk.0.attn_q.weight", "F16", {64, 64}},
                   {"output_norm.weight", "F32", {64}}},
                  {"tokenizer.ggml.tokens", {"<s>", "</s>", "hello", "world"}}));
  return 3;
}

}  // namespace taskwire::formats
