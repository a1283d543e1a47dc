// SPDX-License-Identifier: MIT
#include "handlers/model_file.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "handlers/gguf.hpp"
#include "handlers/safetensors.hpp"

namespace taskwire {
namespace {

constexpr std::size_t hash_chunk = 1 << 20;

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

}  // namespace

readable_file::readable_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO named like a model must not hang the worker.
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd_ < 0) throw io_failure(errno_text("cannot open"));
  if (::fstat(fd_, &st_) != 0) {
    auto msg = errno_text("cannot stat");
    ::close(fd_);
    throw io_failure(msg);
  }
  if (!S_ISREG(st_.st_mode)) {
    ::close(fd_);
    throw io_failure("not a regular file");
  }
}

readable_file::~readable_file() {
  if (fd_ >= 0) ::close(fd_);
}

std::size_t readable_file::read_at(std::uint64_t offset, char* out, std::size_t n) const {
  std::size_t got = 0;
  while (got < n) {
    auto r = ::pread(fd_, out + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw io_failure(errno_text("read failed"));
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  return got;
}

std::string readable_file::read_prefix(std::size_t n) const {
  std::string s(n, '\0');
  s.resize(read_at(0, s.data(), n));
  return s;
}

std::string detect_format(const std::string& first, std::uint64_t size, const std::string& ext) {
  if (formats::is_gguf_magic(first)) return "gguf";
  if (first.size() >= 4 && first.compare(0, 4, "PK\x03\x04") == 0) return "pytorch";
  if (formats::safetensors_header_length(first, size)) return "safetensors";
  // A file named as safetensors or GGUF whose bytes do not say so is reported in that format,
  // so that its header error shows.
  if (ext == ".safetensors" || ext == ".sft") return "safetensors";
  if (ext == ".gguf") return "gguf";
  if (ext == ".ckpt" || ext == ".pt" || ext == ".pth") return "pytorch";
  if (ext == ".onnx") return "onnx";
  return "unknown";
}

nlohmann::json read_header_summary(const readable_file& f, const std::string& format) {
  if (format == "safetensors") {
    auto first = f.read_prefix(9);
    auto len = formats::safetensors_header_length(first, f.size());
    if (!len) throw formats::format_error("safetensors header length out of range");
    std::string header(static_cast<std::size_t>(*len), '\0');
    if (f.read_at(8, header.data(), header.size()) != header.size())
      throw formats::format_error("the file ended inside the header");
    return formats::to_json(formats::parse_safetensors_header(header, f.size() - 8 - *len));
  }
  if (format == "gguf") {
    formats::byte_source src = [&f](std::uint64_t off, char* out, std::size_t n) {
      return f.read_at(off, out, n);
    };
    auto info = formats::read_gguf(src, f.size());
    return formats::to_json(info);
  }
  return nlohmann::json::object();  // pytorch is never unpickled; onnx is not read
}

std::optional<std::string> sha256_file(const readable_file& f, std::stop_token stop,
                                       const std::function<void(std::uint64_t)>& on_bytes) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("OpenSSL could not start a SHA-256 digest");
  thread_local std::vector<char> buf(hash_chunk);
  std::uint64_t offset = 0;
  for (;;) {
    if (stop.stop_requested()) return std::nullopt;
    auto n = f.read_at(offset, buf.data(), buf.size());
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf.data(), n);
    offset += n;
    if (on_bytes) on_bytes(n);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

}  // namespace taskwire
