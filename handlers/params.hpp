// SPDX-License-Identifier: MIT
#pragma once
// Reads a submit's params strictly: integers must be JSON integers (not 1.5, true or "5"), values
// in range; a null counts as absent. The first problem becomes the invalid_params message.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace taskwire {

class param_reader {
 public:
  explicit param_reader(const nlohmann::json& params) : params_(params) {}

  // Absent and no default: an error ("count is required").
  std::int64_t integer(std::string_view key, std::int64_t lo, std::int64_t hi,
                       std::optional<std::int64_t> fallback = std::nullopt);
  std::optional<std::int64_t> optional_integer(std::string_view key, std::int64_t lo,
                                               std::int64_t hi);
  bool boolean(std::string_view key, bool fallback);

  bool ok() const { return !error_; }
  const std::string& error() const { return *error_; }

 private:
  const nlohmann::json* get(std::string_view key) const;
  void fail(std::string message) {
    if (!error_) error_ = std::move(message);
  }

  const nlohmann::json& params_;
  std::optional<std::string> error_;
};

}  // namespace taskwire
