// SPDX-License-Identifier: MIT
#include "workers/timer_queue.hpp"

#include <pthread.h>
#include <sys/prctl.h>

namespace taskwire {

timer_queue::timer_queue() : thread_([this](std::stop_token st) { run(st); }) {
  pthread_setname_np(thread_.native_handle(), "timers");
}

timer_queue::~timer_queue() {
  stop();
}

void timer_queue::schedule(std::uint64_t key, clock::time_point when, std::function<void()> fn) {
  bool earliest = false;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    if (auto old = entries_.find(key); old != entries_.end()) {
      by_time_.erase(old->second.at);
      entries_.erase(old);
    }
    auto at = by_time_.emplace(when, key);
    entries_.emplace(key, entry{at, std::move(fn)});
    earliest = at == by_time_.begin();
  }
  // The thread already waits for an earlier entry (or is running them): a thousand tickers
  // rescheduling themselves must not wake it a thousand times for nothing.
  if (earliest) cv_.notify_one();
}

void timer_queue::expedite(std::uint64_t key) {
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    by_time_.erase(it->second.at);
    it->second.at = by_time_.emplace(clock::time_point::min(), key);
  }
  cv_.notify_one();
}

void timer_queue::cancel(std::uint64_t key) {
  std::function<void()> dropped;  // destroyed outside the lock
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  by_time_.erase(it->second.at);
  dropped = std::move(it->second.fn);
  entries_.erase(it);
}

void timer_queue::stop() {
  std::unordered_map<std::uint64_t, entry> dropped;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    by_time_.clear();
    dropped.swap(entries_);
  }
  thread_.request_stop();
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void timer_queue::run(std::stop_token st) {
  // Up to 1 ms of slack on this thread's sleeps lets the kernel serve many timers with one
  // wake-up (a thousand tickers with a 10 ms interval are due every 10 us otherwise); the loop
  // below then runs every entry that is due. Intervals and timeouts are in milliseconds anyway.
  (void)prctl(PR_SET_TIMERSLACK, 1'000'000UL, 0, 0, 0);
  std::unique_lock lock(mu_);
  while (!st.stop_requested()) {
    if (by_time_.empty()) {
      cv_.wait(lock, st, [this] { return !by_time_.empty(); });
      continue;
    }
    auto first = by_time_.begin();
    if (first->first > clock::now()) {
      auto when = first->first;
      cv_.wait_until(lock, st, when,
                     [this, when] { return !by_time_.empty() && by_time_.begin()->first < when; });
      continue;
    }
    auto key = first->second;
    by_time_.erase(first);
    auto node = entries_.extract(key);
    if (node.empty()) continue;
    lock.unlock();
    node.mapped().fn();  // runs without the lock: it may schedule again
    node = {};           // the callback's captures die outside the lock too
    lock.lock();
  }
}

}  // namespace taskwire
