// SPDX-License-Identifier: MIT
#include "handlers/params.hpp"

#include <nlohmann/json.hpp>

#include "server/protocol.hpp"

namespace taskwire {

const nlohmann::json* param_reader::get(std::string_view key) const {
  auto it = params_.find(key);
  if (it == params_.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<std::int64_t> param_reader::optional_integer(std::string_view key, std::int64_t lo,
                                                           std::int64_t hi) {
  const auto* v = get(key);
  if (!v) return std::nullopt;
  std::string name(key);
  if (!protocol::is_integer(*v)) {
    fail(name + " must be an integer");
    return std::nullopt;
  }
  auto n = v->get<std::int64_t>();
  if (n < lo || n > hi) {
    fail(name + " must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    return std::nullopt;
  }
  return n;
}

std::int64_t param_reader::integer(std::string_view key, std::int64_t lo, std::int64_t hi,
                                   std::optional<std::int64_t> fallback) {
  if (!get(key)) {
    if (!fallback) fail(std::string(key) + " is required");
    return fallback.value_or(lo);
  }
  return optional_integer(key, lo, hi).value_or(lo);
}

bool param_reader::boolean(std::string_view key, bool fallback) {
  const auto* v = get(key);
  if (!v) return fallback;
  if (!v->is_boolean()) {
    fail(std::string(key) + " must be true or false");
    return fallback;
  }
  return v->get<bool>();
}

}  // namespace taskwire
