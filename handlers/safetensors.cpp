// SPDX-License-Identifier: MIT
#include "handlers/safetensors.hpp"

#include "server/protocol.hpp"

namespace taskwire::formats {
namespace {

// Bytes per element of the dtypes the format defines; an unknown dtype skips the size check.
std::optional<std::uint64_t> dtype_size(std::string_view d) {
  if (d == "F64" || d == "I64" || d == "U64") return 8;
  if (d == "F32" || d == "I32" || d == "U32") return 4;
  if (d == "F16" || d == "BF16" || d == "I16" || d == "U16") return 2;
  if (d == "I8" || d == "U8" || d == "BOOL" || d == "F8_E4M3" || d == "F8_E5M2") return 1;
  return std::nullopt;
}

std::uint64_t read_le64(std::string_view b) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | static_cast<unsigned char>(b[static_cast<std::size_t>(i)]);
  return v;
}

}  // namespace

std::optional<std::uint64_t> safetensors_header_length(std::string_view first,
                                                       std::uint64_t file_size) {
  if (first.size() < 9 || file_size < 10) return std::nullopt;
  auto n = read_le64(first);
  if (n < 2 || n > safetensors_max_header || n > file_size - 8) return std::nullopt;
  if (first[8] != '{') return std::nullopt;
  return n;
}

safetensors_info parse_safetensors_header(std::string_view header, std::uint64_t data_len) {
  if (protocol::json_depth(header, 64) > 64) throw format_error("header JSON is nested too deeply");
  auto doc = nlohmann::json::parse(header, nullptr, false);
  if (doc.is_discarded()) throw format_error("header is not valid JSON");
  if (!doc.is_object()) throw format_error("header is not a JSON object");
  safetensors_info info;
  for (const auto& [name, entry] : doc.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) throw format_error("__metadata__ is not an object");
      info.metadata = entry;
      continue;
    }
    auto where = "tensor '" + name.substr(0, 200) + "': ";
    if (!entry.is_object()) throw format_error(where + "entry is not an object");
    auto dtype = entry.find("dtype");
    auto shape = entry.find("shape");
    auto offsets = entry.find("data_offsets");
    if (dtype == entry.end() || !dtype->is_string()) throw format_error(where + "no dtype");
    if (shape == entry.end() || !shape->is_array()) throw format_error(where + "no shape");
    if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2)
      throw format_error(where + "data_offsets is not [begin, end]");
    std::uint64_t count = 1;
    for (const auto& d : *shape) {
      if (!protocol::is_integer(d) || d.get<std::int64_t>() < 0)
        throw format_error(where + "bad shape");
      if (__builtin_mul_overflow(count, d.get<std::uint64_t>(), &count))
        throw format_error(where + "shape overflows");
    }
    const auto& b = (*offsets)[0];
    const auto& e = (*offsets)[1];
    if (!protocol::is_integer(b) || !protocol::is_integer(e) || b.get<std::int64_t>() < 0 ||
        e.get<std::int64_t>() < b.get<std::int64_t>() || e.get<std::uint64_t>() > data_len)
      throw format_error(where + "data_offsets out of the file");
    const auto& type = dtype->get_ref<const std::string&>();
    if (auto size = dtype_size(type)) {
      std::uint64_t bytes = 0;
      if (__builtin_mul_overflow(count, *size, &bytes) ||
          bytes != e.get<std::uint64_t>() - b.get<std::uint64_t>())
        throw format_error(where + "data size does not match dtype and shape");
    }
    ++info.tensors;
    if (__builtin_add_overflow(info.parameters, count, &info.parameters))
      throw format_error("parameter count overflows");
    ++info.dtypes[type];
  }
  return info;
}

nlohmann::json to_json(const safetensors_info& info) {
  nlohmann::json j = {
      {"tensors", info.tensors}, {"parameters", info.parameters}, {"dtypes", info.dtypes}};
  if (!info.metadata.is_null()) j["metadata"] = info.metadata;
  return j;
}

}  // namespace taskwire::formats
