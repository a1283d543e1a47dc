// SPDX-License-Identifier: MIT
#pragma once
// What a handler sees of its task: events out, a stop token in. Handlers never see a session or
// a socket; every call here may be made from any worker thread and never blocks on a client.
#include <cstdint>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <stop_token>

namespace taskwire {

class task_context {
 public:
  virtual ~task_context() = default;

  // done/total units of work; total is nullopt while unknown. `extra` (an object, may be null)
  // adds fields to the progress event.
  virtual void progress(std::uint64_t done, std::optional<std::uint64_t> total,
                        const nlohmann::json* extra = nullptr) = 0;
  // One result record, retained for resume and never dropped for a slow reader.
  virtual void item(const nlohmann::json& item) = 0;
  // Requested by cancel, timeout or shutdown; check it between units of work.
  virtual std::stop_token stop_token() const = 0;

  // Runs `work` on this thread and on up to `extra` more workers of the task's pool, and returns
  // once every call that started has returned. `work` should take units from a shared queue
  // until none are left: a helper that gets a worker late finds nothing to do, and one that
  // never gets a worker is skipped, so this never waits on a busy pool. An exception from any
  // call is rethrown here.
  virtual void parallel(std::size_t extra, const std::function<void()>& work) = 0;

  bool stop_requested() const { return stop_token().stop_requested(); }
};

}  // namespace taskwire
