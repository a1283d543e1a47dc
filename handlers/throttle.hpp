// SPDX-License-Identifier: MIT
#pragma once
// At most one `true` per interval, from any number of threads, the first one interval after
// construction: paces progress events (the task's opening and closing progress are its own).
#include <atomic>
#include <chrono>
#include <cstdint>

namespace taskwire {

class throttle {
 public:
  explicit throttle(std::chrono::milliseconds every) : every_ns_(every.count() * 1'000'000) {}

  bool due() {
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    auto last = last_.load(std::memory_order_relaxed);
    return now - last >= every_ns_ &&
           last_.compare_exchange_strong(last, now, std::memory_order_relaxed);
  }

 private:
  const std::int64_t every_ns_;
  std::atomic<std::int64_t> last_{std::chrono::steady_clock::now().time_since_epoch().count()};
};

}  // namespace taskwire
