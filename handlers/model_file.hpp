// SPDX-License-Identifier: MIT
#pragma once
// A file opened for reading as a regular file, never blocking on a FIFO or device, and what is
// read from it: its first bytes, its format and header summary, its SHA-256.
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>

namespace taskwire {

// A file that cannot be opened or read; its message becomes an item's `error`.
class io_failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class readable_file {
 public:
  // Throws io_failure, also when the path is not a regular file.
  explicit readable_file(const std::string& path);
  ~readable_file();
  readable_file(const readable_file&) = delete;
  readable_file& operator=(const readable_file&) = delete;

  const struct stat& info() const { return st_; }
  std::uint64_t size() const { return static_cast<std::uint64_t>(st_.st_size); }
  // Up to n bytes at offset (fewer at the end of the file); throws io_failure.
  std::size_t read_at(std::uint64_t offset, char* out, std::size_t n) const;
  std::string read_prefix(std::size_t n) const;

 private:
  int fd_ = -1;
  struct stat st_ {};
};

// The format from the first bytes, else from the extension: safetensors, gguf, pytorch, onnx,
// unknown. `ext` is lower case with its dot.
std::string detect_format(const std::string& first_bytes, std::uint64_t size,
                          const std::string& ext);

// Header summary for the item (tensors, parameters, dtypes, metadata...; empty for formats
// without a readable header). Throws formats::format_error or io_failure.
nlohmann::json read_header_summary(const readable_file& f, const std::string& format);

// SHA-256 hex with OpenSSL's EVP API in large reads; nullopt when stopped part-way.
// `on_bytes` is told each chunk's size.
std::optional<std::string> sha256_file(const readable_file& f, std::stop_token stop,
                                       const std::function<void(std::uint64_t)>& on_bytes = {});

}  // namespace taskwire
