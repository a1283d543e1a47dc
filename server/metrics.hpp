// SPDX-License-Identifier: MIT
#pragma once
// Counters for /metrics, updated from any thread with relaxed atomics (they order nothing).
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace taskwire {

class metrics {
 public:
  explicit metrics(const std::vector<std::string>& task_kinds);

  std::atomic<std::uint64_t> connections_total{0};
  std::atomic<std::uint64_t> connections_rejected{0};
  std::atomic<std::uint64_t> events_sent{0};
  std::atomic<std::uint64_t> events_coalesced{0};
  std::atomic<std::uint64_t> frames_sent{0};
  std::atomic<std::uint64_t> bad_messages{0};
  std::atomic<std::uint64_t> slow_consumer_closes{0};

  void task_submitted(const std::string& kind);
  void task_finished(const std::string& status);  // succeeded, failed or cancelled

  struct gauges {
    std::uint64_t connections_open = 0;  // from the hub, which counts live sessions
    std::uint64_t tasks_active = 0;      // queued or running
    std::uint64_t tasks_queued = 0;      // waiting for a worker
    std::uint64_t tasks_retained = 0;
    bool ready = false;
  };
  std::string render(const gauges& g) const;

 private:
  std::map<std::string, std::atomic<std::uint64_t>> submitted_;  // keys fixed at construction
  std::array<std::atomic<std::uint64_t>, 3> finished_{};         // succeeded, failed, cancelled
};

}  // namespace taskwire
