// SPDX-License-Identifier: MIT
#include "workers/worker_pool.hpp"

#include <pthread.h>

namespace taskwire {

worker_pool::worker_pool(std::string name, int threads, std::size_t max_queued)
    : name_(std::move(name)), max_queued_(max_queued) {
  threads_.reserve(static_cast<std::size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { run(); });
    std::string tname = (name_ + "-" + std::to_string(i)).substr(0, 15);
    pthread_setname_np(threads_.back().native_handle(), tname.c_str());
  }
}

worker_pool::~worker_pool() {
  stop();
}

bool worker_pool::try_post(std::function<void()> fn) {
  std::unique_lock lock(mu_);
  if (stopped_ || queue_.size() >= max_queued_) return false;
  queue_.push_back(std::move(fn));
  wake_one_locked(lock);
  return true;
}

void worker_pool::post(std::function<void()> fn) {
  std::unique_lock lock(mu_);
  if (stopped_) return;
  queue_.push_back(std::move(fn));
  wake_one_locked(lock);
}

// One sleeping worker is woken at a time: the one woken wakes the next if work is still left
// when it takes its job. A burst of short jobs (a thousand tickers due in the same millisecond)
// then wakes as many workers as it keeps busy, not one per job; a burst of long ones still
// wakes every worker it needs, one after the other.
void worker_pool::wake_one_locked(std::unique_lock<std::mutex>& lock) {
  bool wake = idle_ > 0 && !waking_;
  if (wake) waking_ = true;
  lock.unlock();
  if (wake) cv_.notify_one();
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
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  // Jobs are destroyed here, outside the lock: they may own tasks whose destructors run.
}

void worker_pool::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    while (queue_.empty() && !stopped_) {
      ++idle_;
      cv_.wait(lock);
      --idle_;
      waking_ = false;  // whoever wakes (notified or not) lets the next post wake another
    }
    if (stopped_) return;
    std::function<void()> fn = std::move(queue_.front());
    queue_.pop_front();
    if (!queue_.empty())
      wake_one_locked(lock);
    else
      lock.unlock();
    fn();          // jobs catch their own exceptions (the runner wraps every handler call)
    fn = nullptr;  // its captures die outside the lock
    lock.lock();
  }
}

}  // namespace taskwire
