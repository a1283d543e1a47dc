// SPDX-License-Identifier: MIT
#include "handlers/gguf.hpp"

#include <cmath>
#include <cstring>
#include <vector>

namespace taskwire::formats {
namespace {

enum value_type : std::uint32_t {
  u8 = 0,
  i8 = 1,
  u16 = 2,
  i16 = 3,
  u32 = 4,
  i32 = 5,
  f32 = 6,
  boolean = 7,
  string = 8,
  array = 9,
  u64 = 10,
  i64 = 11,
  f64 = 12,
};

std::uint64_t fixed_size(std::uint32_t t) {
  switch (t) {
    case u8:
    case i8:
    case boolean:
      return 1;
    case u16:
    case i16:
      return 2;
    case u32:
    case i32:
    case f32:
      return 4;
    case u64:
    case i64:
    case f64:
      return 8;
    default:
      return 0;
  }
}

// Buffered, bounded, forward-only reader over the source.
class cursor {
 public:
  cursor(const byte_source& src, std::uint64_t size) : src_(src), size_(size) {}

  std::uint64_t left() const { return size_ - pos_; }

  void read(void* out, std::size_t n) {
    if (n > left()) throw format_error("header runs past the end of the file");
    auto* dst = static_cast<char*>(out);
    while (n > 0) {
      if (at_ == buf_.size()) fill();
      auto take = std::min(n, buf_.size() - at_);
      std::memcpy(dst, buf_.data() + at_, take);
      at_ += take;
      pos_ += take;
      dst += take;
      n -= take;
    }
  }

  void skip(std::uint64_t n) {
    if (n > left()) throw format_error("header runs past the end of the file");
    auto in_buf = std::min<std::uint64_t>(n, buf_.size() - at_);
    at_ += static_cast<std::size_t>(in_buf);
    pos_ += in_buf;
    n -= in_buf;
    if (n > 0) {  // past the buffer: drop it and jump
      pos_ += n;
      buf_.clear();
      at_ = 0;
      file_pos_ = pos_;
    }
  }

  template <class T>
  T get() {
    T v{};
    read(&v, sizeof v);  // GGUF is little-endian, as is every machine taskwire targets
    return v;
  }

  std::string get_string(std::uint64_t len_size) {
    std::uint64_t n = len_size == 4 ? get<std::uint32_t>() : get<std::uint64_t>();
    if (n > gguf_max_string || n > left()) throw format_error("a string length is out of bounds");
    std::string s(static_cast<std::size_t>(n), '\0');
    read(s.data(), s.size());
    return s;
  }

 private:
  void fill() {
    buf_.resize(64 * 1024);
    auto got = src_(file_pos_, buf_.data(), buf_.size());
    if (got == 0) throw format_error("the file ended inside the header");
    buf_.resize(got);
    file_pos_ += got;
    at_ = 0;
  }

  const byte_source& src_;
  const std::uint64_t size_;
  std::uint64_t pos_ = 0;       // logical position
  std::uint64_t file_pos_ = 0;  // where the next fill reads
  std::vector<char> buf_;
  std::size_t at_ = 0;
};

nlohmann::json read_scalar(cursor& c, std::uint32_t type, std::uint64_t len_size) {
  switch (type) {
    case u8:
      return c.get<std::uint8_t>();
    case i8:
      return c.get<std::int8_t>();
    case u16:
      return c.get<std::uint16_t>();
    case i16:
      return c.get<std::int16_t>();
    case u32:
      return c.get<std::uint32_t>();
    case i32:
      return c.get<std::int32_t>();
    case u64:
      return c.get<std::uint64_t>();
    case i64:
      return c.get<std::int64_t>();
    case f32: {
      float f = c.get<float>();
      return std::isfinite(f) ? nlohmann::json(f) : nlohmann::json(nullptr);
    }
    case f64: {
      double d = c.get<double>();
      return std::isfinite(d) ? nlohmann::json(d) : nlohmann::json(nullptr);
    }
    case boolean:
      return c.get<std::uint8_t>() != 0;
    case string:
      return c.get_string(len_size);
    default:
      throw format_error("unknown metadata value type " + std::to_string(type));
  }
}

// Arrays (token lists and the like) are walked, never kept.
void skip_array(cursor& c, std::uint64_t len_size, int depth) {
  if (depth > 4) throw format_error("arrays nested too deeply");
  auto type = c.get<std::uint32_t>();
  std::uint64_t count = len_size == 4 ? c.get<std::uint32_t>() : c.get<std::uint64_t>();
  if (auto size = fixed_size(type)) {
    if (count > c.left() / size) throw format_error("an array is longer than the file");
    c.skip(count * size);
    return;
  }
  // Each string or array element takes at least its length field.
  if (count > c.left() / len_size) throw format_error("an array is longer than the file");
  for (std::uint64_t i = 0; i < count; ++i) {
    if (type == string) {
      std::uint64_t n = len_size == 4 ? c.get<std::uint32_t>() : c.get<std::uint64_t>();
      c.skip(n);
    } else if (type == array) {
      skip_array(c, len_size, depth + 1);
    } else {
      throw format_error("unknown array element type " + std::to_string(type));
    }
  }
}

}  // namespace

bool is_gguf_magic(std::string_view first) {
  return first.size() >= 4 && first.substr(0, 4) == "GGUF";
}

gguf_info read_gguf(const byte_source& source, std::uint64_t file_size) {
  cursor c(source, file_size);
  char magic[4];
  c.read(magic, 4);
  if (std::memcmp(magic, "GGUF", 4) != 0) throw format_error("no GGUF magic");
  gguf_info info;
  info.version = c.get<std::uint32_t>();
  if (info.version < 1 || info.version > 3)
    throw format_error("unsupported GGUF version " + std::to_string(info.version));
  std::uint64_t len_size = info.version == 1 ? 4 : 8;  // v1 used 32-bit counts and lengths
  std::uint64_t n_tensors = len_size == 4 ? c.get<std::uint32_t>() : c.get<std::uint64_t>();
  std::uint64_t n_kv = len_size == 4 ? c.get<std::uint32_t>() : c.get<std::uint64_t>();
  // The smallest key/value is a length, a type and one byte; the smallest tensor info a
  // length, n_dims, a type and an offset.
  if (n_kv > c.left() / (len_size + 4 + 1)) throw format_error("metadata count exceeds the file");
  if (n_tensors > c.left() / (len_size + 4 + 4 + 8))
    throw format_error("tensor count exceeds the file");

  for (std::uint64_t i = 0; i < n_kv; ++i) {
    auto key = c.get_string(len_size);
    auto type = c.get<std::uint32_t>();
    if (type == array) {
      skip_array(c, len_size, 0);
      continue;
    }
    auto value = read_scalar(c, type, len_size);
    if (key == "general.architecture" && value.is_string()) info.architecture = value;
    if (key == "general.name" && value.is_string()) info.name = value;
    if (key == "general.file_type") info.file_type = value;
    if (value.is_string() && value.get_ref<const std::string&>().size() > gguf_max_kept_string)
      continue;
    info.metadata[key] = std::move(value);
  }
  for (std::uint64_t i = 0; i < n_tensors; ++i) {
    auto name = c.get_string(len_size);
    auto n_dims = c.get<std::uint32_t>();
    if (n_dims > gguf_max_dims) throw format_error("a tensor has too many dimensions");
    std::uint64_t count = 1;
    for (std::uint32_t d = 0; d < n_dims; ++d) {
      std::uint64_t dim = len_size == 4 ? c.get<std::uint32_t>() : c.get<std::uint64_t>();
      if (__builtin_mul_overflow(count, dim, &count))
        throw format_error("a tensor's shape overflows");
    }
    c.get<std::uint32_t>();  // ggml type
    c.get<std::uint64_t>();  // offset in the data section
    if (__builtin_add_overflow(info.parameters, count, &info.parameters))
      throw format_error("parameter count overflows");
  }
  info.tensors = n_tensors;
  return info;
}

gguf_info parse_gguf(std::string_view bytes) {
  byte_source src = [bytes](std::uint64_t off, char* out, std::size_t n) -> std::size_t {
    if (off >= bytes.size()) return 0;
    auto take = std::min<std::uint64_t>(n, bytes.size() - off);
    std::memcpy(out, bytes.data() + off, static_cast<std::size_t>(take));
    return static_cast<std::size_t>(take);
  };
  return read_gguf(src, bytes.size());
}

nlohmann::json to_json(const gguf_info& info) {
  nlohmann::json j = {{"version", info.version},
                      {"tensors", info.tensors},
                      {"parameters", info.parameters},
                      {"architecture", info.architecture},
                      {"name", info.name},
                      {"file_type", info.file_type},
                      {"metadata", info.metadata}};
  if (info.architecture.empty()) j["architecture"] = nullptr;
  if (info.name.empty()) j["name"] = nullptr;
  return j;
}

}  // namespace taskwire::formats
