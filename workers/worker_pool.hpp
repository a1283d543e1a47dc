// SPDX-License-Identifier: MIT
#pragma once
// A fixed set of worker threads fed from one queue. New work is bounded (try_post answers false
// when `max_queued` jobs wait); continuations of accepted tasks are not (post).
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace taskwire {

class worker_pool {
 public:
  worker_pool(std::string name, int threads, std::size_t max_queued);
  ~worker_pool();
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  bool try_post(std::function<void()> fn);  // false when the queue is full or stopped
  void post(std::function<void()> fn);      // dropped once stopped
  // Stops taking work, drops what waits, and joins the threads once their current job ends.
  void stop();

  std::size_t queued() const;
  int threads() const { return static_cast<int>(threads_.size()); }
  const std::string& name() const { return name_; }

 private:
  void run();
  void wake_one_locked(std::unique_lock<std::mutex>& lock);  // and unlocks

  const std::string name_;
  const std::size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopped_ = false;
  int idle_ = 0;         // workers waiting for a job
  bool waking_ = false;  // one of them has been notified and has not woken yet
  std::vector<std::jthread> threads_;
};

}  // namespace taskwire
