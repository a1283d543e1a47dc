// SPDX-License-Identifier: MIT
#pragma once
// Runs tasks on the io and cpu pools: begin, run the job (again after a wait when it asks),
// turn its outcome or exception into exactly one `finished`, and cancel on request.
#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>

#include "workers/task.hpp"
#include "workers/timer_queue.hpp"
#include "workers/worker_pool.hpp"

namespace taskwire {

class task_runner {
 public:
  // Called once per task, on whichever thread ended it, once it has ended and just before its
  // `finished` is emitted (so what it counts is counted when a client sees the event).
  using finished_fn = std::function<void(const task&)>;

  task_runner(int io_workers, int cpu_workers, std::size_t max_queued, finished_fn on_finished);
  ~task_runner();

  // Queues the task on its pool; false when that pool's queue is full (queue_full). With a
  // timeout the task is stopped after that long and ends failed with code `timeout`.
  bool start(const std::shared_ptr<task>& t, std::optional<std::int64_t> timeout_ms = std::nullopt);
  // Asks the task to stop. A task still queued ends at once; a waiting one wakes now.
  void cancel(const std::shared_ptr<task>& t, stop_reason why);
  // Stops the pools and the timer and joins their threads; what was not run is dropped.
  void stop();

  std::size_t queued() const { return io_.queued() + cpu_.queued(); }
  // Tasks counted as ended whose `finished` has not been handed to the router yet. Shutdown
  // waits for 0 as well as for no active task, so that every `finished` is ahead of the close.
  int ending() const { return ending_.load(); }

 private:
  worker_pool& pool_for(const task& t) { return t.pool() == pool_kind::cpu ? cpu_ : io_; }
  void run_slice(const std::shared_ptr<task>& t, bool first);
  void end(task& t, task_state status, std::string_view result_json,
           const std::optional<protocol::error>& err);
  void end_stopped(task& t);

  finished_fn on_finished_;
  std::atomic<int> ending_{0};
  worker_pool io_;
  worker_pool cpu_;
  timer_queue timers_;
};

// The status and error a stopped task ends with: timeout is a failure, the rest cancelled.
std::pair<task_state, std::optional<protocol::error>> stopped_outcome(stop_reason why);

}  // namespace taskwire
