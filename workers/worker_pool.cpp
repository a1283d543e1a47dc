// SPDX-License-Identifier: MIT
#include "workers/worker_pool.hpp"

#include <pthread.h>

namespace taskwire {

worker_pool::worker_pool(std::string name, int threads, std::size_t max_queued)
    : name_(std::move(name)), max_queued_(max_queued) {
  threads_.reserve(static_cast<std::size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this](std::stop_token st) { run(st); });
    std::string tname = (name_ + "-" + std::to_string(i)).substr(0, 15);
    pthread_setname_np(threads_.back().native_handle(), tname.c_str());
  }
}

worker_pool::~worker_pool() {
  stop();
}

bool worker_pool::try_post(std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    if (stopped_ || queue_.size() >= max_queued_) return false;
    queue_.push_back(std::move(fn));
  }
  cv_.notify_one();
  return true;
}

void worker_pool::post(std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    queue_.push_back(std::move(fn));
  }
  cv_.notify_one();
}

std::size_t worker_pool::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void worker_pool::stop() {
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    dropped.swap(queue_);
  }
  for (auto& t : threads_)
    t.request_stop();
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  // Jobs are destroyed here, outside the lock: they may own tasks whose destructors run.
}

void worker_pool::run(std::stop_token st) {
  for (;;) {
    std::function<void()> fn;
    {
      std::unique_lock lock(mu_);
      if (!cv_.wait(lock, st, [this] { return !queue_.empty(); })) return;
      fn = std::move(queue_.front());
      queue_.pop_front();
    }
    fn();  // jobs catch their own exceptions (the runner wraps every handler call)
  }
}

}  // namespace taskwire
