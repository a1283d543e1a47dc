// SPDX-License-Identifier: MIT
#pragma once
// A validated task, ready to run on a worker, and how it reports what happened.
#include <chrono>
#include <nlohmann/json_fwd.hpp>
#include <stdexcept>
#include <string>

#include "workers/task_context.hpp"

namespace taskwire {

// What one run of a job ended with. A job that waits (a ticker between ticks) returns `again`
// instead of sleeping, so that waiting tasks hold no worker thread.
struct step {
  enum class outcome { finished, stopped, again };
  outcome what = outcome::finished;
  std::chrono::milliseconds delay{0};  // for `again`
  std::string result_json = "null";    // for `finished`: the result object, serialised

  static step finished(const nlohmann::json& result);
  static step stopped() { return {outcome::stopped, {}, "null"}; }
  static step again(std::chrono::milliseconds delay) { return {outcome::again, delay, "null"}; }
};

// Thrown by a job to end its task `failed` with a protocol error code (task_failed, io_error...).
class task_failure : public std::runtime_error {
 public:
  task_failure(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

class job {
 public:
  virtual ~job() = default;
  // Runs on a worker of the handler's pool; called again after `delay` while it returns `again`.
  virtual step run(task_context& ctx) = 0;
};

enum class pool_kind { io, cpu };

}  // namespace taskwire
