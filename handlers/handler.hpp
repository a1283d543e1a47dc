// SPDX-License-Identifier: MIT
#pragma once
// A task kind: validates a submit's params (on the I/O thread, before `accepted`) and makes the
// job that a worker runs. Adding a kind is one file with one of these and a line in registry.cpp.
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string_view>

#include "config/config.hpp"
#include "server/protocol.hpp"
#include "workers/job.hpp"

namespace taskwire {

struct prepared_job {
  std::unique_ptr<job> body;                // set when the params are valid
  std::optional<protocol::error> rejected;  // invalid_params, forbidden_path, not_found
};

class handler {
 public:
  virtual ~handler() = default;
  virtual std::string_view name() const = 0;
  virtual pool_kind pool() const = 0;
  // Must not throw and must not block for long: it runs on the I/O thread.
  virtual prepared_job prepare(const nlohmann::json& params, const config& cfg) const = 0;
};

inline prepared_job reject(std::string code, std::string message) {
  return {nullptr, protocol::error{std::move(code), std::move(message)}};
}

}  // namespace taskwire
