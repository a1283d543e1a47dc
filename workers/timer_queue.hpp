// SPDX-License-Identifier: MIT
#pragma once
// Runs callbacks at a time on one thread of its own, so that a task waiting between steps
// (a ticker's interval) holds no worker. A waiting entry can be brought forward (cancellation).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace taskwire {

class timer_queue {
 public:
  using clock = std::chrono::steady_clock;

  timer_queue();
  ~timer_queue();
  timer_queue(const timer_queue&) = delete;
  timer_queue& operator=(const timer_queue&) = delete;

  // `key` names the entry for expedite(); one entry per key at a time.
  void schedule(std::uint64_t key, clock::time_point when, std::function<void()> fn);
  // Runs the entry for `key` now, if one waits.
  void expedite(std::uint64_t key);
  // Drops the entry for `key`, if one waits.
  void cancel(std::uint64_t key);
  // Drops every waiting entry and joins the thread.
  void stop();

 private:
  void run(std::stop_token st);

  std::mutex mu_;
  std::condition_variable_any cv_;
  std::multimap<clock::time_point, std::uint64_t> by_time_;
  struct entry {
    std::multimap<clock::time_point, std::uint64_t>::iterator at;
    std::function<void()> fn;
  };
  std::unordered_map<std::uint64_t, entry> entries_;
  bool stopped_ = false;
  std::jthread thread_;
};

}  // namespace taskwire
