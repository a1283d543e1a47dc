// SPDX-License-Identifier: MIT
// The header readers on valid files and on every kind of corruption: an error, never a crash.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "handlers/gguf.hpp"
#include "handlers/model_writer.hpp"
#include "handlers/safetensors.hpp"

namespace taskwire::formats {
namespace {

using nlohmann::json;

TEST(Safetensors, ValidFileSummary) {
  auto file = make_safetensors({{"a", "F32", {4, 4}}, {"b", "F16", {8}}, {"c", "F16", {2, 2}}},
                               {{"title", "x"}});
  auto len = safetensors_header_length(file.substr(0, 9), file.size());
  ASSERT_TRUE(len);
  auto info = parse_safetensors_header(file.substr(8, *len), file.size() - 8 - *len);
  EXPECT_EQ(info.tensors, 3u);
  EXPECT_EQ(info.parameters, 16u + 8u + 4u);
  EXPECT_EQ(info.dtypes, (std::map<std::string, std::uint64_t>{{"F16", 2}, {"F32", 1}}));
  EXPECT_EQ(info.metadata, (json{{"title", "x"}}));
  auto j = to_json(info);
  EXPECT_EQ(j.at("dtypes").at("F16"), 2);
}

TEST(Safetensors, HeaderLengthMustFitTheFile) {
  auto file = make_safetensors({{"a", "F32", {1}}});
  EXPECT_TRUE(safetensors_header_length(file.substr(0, 9), file.size()));
  EXPECT_FALSE(safetensors_header_length(file.substr(0, 9), 20)) << "longer than the file";
  EXPECT_FALSE(safetensors_header_length(std::string("\x01\0\0\0\0\0\0\0{", 9), 100))
      << "too short";
  std::string huge("\0\0\0\0\0\0\x10\0{", 9);  // 2^52
  EXPECT_FALSE(safetensors_header_length(huge, 1ull << 60)) << "over the 100 MiB cap";
  EXPECT_FALSE(safetensors_header_length(std::string("\x05\0\0\0\0\0\0\0[", 9), 100))
      << "not an object";
  EXPECT_FALSE(safetensors_header_length("short", 100));
}

TEST(Safetensors, EveryCorruptHeaderIsAFormatError) {
  const std::uint64_t data = 64;
  for (std::string bad : {
           "{",
           "[]",
           "nope",
           R"({"__metadata__": 5})",
           R"({"t": 5})",
           R"({"t": {}})",
           R"({"t": {"dtype": "F32", "shape": [2]}})",
           R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0]}})",
           R"({"t": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}})",
           R"({"t": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}})",
           R"({"t": {"dtype": 7, "shape": [2], "data_offsets": [0, 8]}})",
           R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}})",
           R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 65]}})",
           R"({"t": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})",
           R"({"t": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]}})",
       }) {
    EXPECT_THROW(parse_safetensors_header(bad, data), format_error) << bad;
  }
  std::string deep = R"({"__metadata__": )" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_THROW(parse_safetensors_header(deep, data), format_error);
  // An unknown dtype is allowed; only its size cannot be checked.
  auto info = parse_safetensors_header(
      R"({"t": {"dtype": "F4X", "shape": [3], "data_offsets": [0, 5]}})", data);
  EXPECT_EQ(info.parameters, 3u);
}

TEST(Gguf, ValidFileSummary) {
  auto file = make_gguf({{"general.architecture", "llama"},
                         {"general.name", "tiny"},
                         {"general.file_type", 1u},
                         {"llama.context_length", 4096u},
                         {"rope.scale", 1.5},
                         {"flag", true},
                         {"big", std::string(5000, 'x')}},
                        {{"a", "F32", {4, 8}}, {"b", "F16", {16}}},
                        {"tokenizer.ggml.tokens", {"a", "b", "c"}});
  auto info = parse_gguf(file);
  EXPECT_EQ(info.version, 3u);
  EXPECT_EQ(info.tensors, 2u);
  EXPECT_EQ(info.parameters, 48u);
  EXPECT_EQ(info.architecture, "llama");
  EXPECT_EQ(info.name, "tiny");
  EXPECT_EQ(info.file_type, 1);
  EXPECT_EQ(info.metadata.at("llama.context_length"), 4096);
  EXPECT_EQ(info.metadata.at("flag"), true);
  EXPECT_FALSE(info.metadata.contains("tokenizer.ggml.tokens")) << "arrays are skipped";
  EXPECT_FALSE(info.metadata.contains("big")) << "long strings stay out";
  auto j = to_json(info);
  EXPECT_EQ(j.at("architecture"), "llama");
}

TEST(Gguf, EveryTruncationIsAFormatError) {
  auto file =
      make_gguf({{"general.architecture", "llama"}}, {{"a", "F32", {4}}}, {"toks", {"x", "y"}});
  // The header ends where the tensor infos do; every cut before that must fail cleanly.
  std::size_t header_end = file.size() - 16;
  while (header_end > 0 && file[header_end - 1] == '\0')
    --header_end;
  for (std::size_t cut = 0; cut + 8 < header_end; ++cut)
    EXPECT_THROW(parse_gguf(file.substr(0, cut)), format_error) << "cut at " << cut;
}

TEST(Gguf, HostileCountsAndLengthsAreRefused) {
  auto with = [](std::uint32_t version, std::uint64_t tensors, std::uint64_t kvs,
                 const std::string& rest) {
    std::string f = "GGUF";
    f.append(reinterpret_cast<const char*>(&version), 4);
    f.append(reinterpret_cast<const char*>(&tensors), 8);
    f.append(reinterpret_cast<const char*>(&kvs), 8);
    return f + rest;
  };
  EXPECT_THROW(parse_gguf("GGUX" + std::string(20, '\0')), format_error);
  EXPECT_THROW(parse_gguf(with(9, 0, 0, "")), format_error) << "unknown version";
  EXPECT_THROW(parse_gguf(with(3, ~0ull, 0, std::string(100, '\0'))), format_error);
  EXPECT_THROW(parse_gguf(with(3, 0, ~0ull, std::string(100, '\0'))), format_error);
  std::string long_key(8, '\xff');  // a key length of 2^64-1
  EXPECT_THROW(parse_gguf(with(3, 0, 1, long_key + std::string(64, 'k'))), format_error);
  // An array claiming 2^40 u32 elements in a small file.
  std::string arr;
  std::uint64_t klen = 1, count = 1ull << 40;
  std::uint32_t t_array = 9, t_u32 = 4;
  arr.append(reinterpret_cast<const char*>(&klen), 8);
  arr += "k";
  arr.append(reinterpret_cast<const char*>(&t_array), 4);
  arr.append(reinterpret_cast<const char*>(&t_u32), 4);
  arr.append(reinterpret_cast<const char*>(&count), 8);
  EXPECT_THROW(parse_gguf(with(3, 0, 1, arr + std::string(64, '\0'))), format_error);
  // An unknown value type.
  std::string kv;
  std::uint32_t t_bad = 99;
  kv.append(reinterpret_cast<const char*>(&klen), 8);
  kv += "k";
  kv.append(reinterpret_cast<const char*>(&t_bad), 4);
  EXPECT_THROW(parse_gguf(with(3, 0, 1, kv + std::string(64, '\0'))), format_error);
}

TEST(Gguf, TooManyDimensionsIsRefused) {
  auto file = make_gguf({}, {{"a", "F32", {1, 1, 1, 1, 1, 1, 1, 1, 1}}});
  EXPECT_THROW(parse_gguf(file), format_error);
}

TEST(DemoModels, AreValidAndWrittenOnlyIntoAnEmptyFolder) {
  auto dir = std::filesystem::temp_directory_path() / ("twdemo-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  EXPECT_EQ(write_demo_models(dir.string()), 3);
  EXPECT_EQ(write_demo_models(dir.string()), 0);
  std::ifstream in(dir / "llm/demo-tinyllama.gguf", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(parse_gguf(bytes).architecture, "llama");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace taskwire::formats
