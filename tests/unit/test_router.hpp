// SPDX-License-Identifier: MIT
#pragma once
// An event_router for tests: collects every event the tasks hand over, in the order taken,
// and lets a test wait for a task's finished with a deadline.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "workers/task.hpp"

namespace taskwire::test {

class test_router : public event_router {
 public:
  void schedule_drain(std::shared_ptr<task> t) override {
    std::lock_guard lock(mu_);
    ++drains_;
    for (auto& ev : t->take_pending()) {
      if (ev.kind == event_kind::finished) ++finished_;
      events_.push_back(nlohmann::json::parse(*ev.frame));
    }
    cv_.notify_all();
  }

  bool wait_finished(int n, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return finished_ >= n; });
  }

  std::vector<nlohmann::json> events() {
    std::lock_guard lock(mu_);
    return events_;
  }
  std::vector<nlohmann::json> of(const std::string& task_id) {
    std::lock_guard lock(mu_);
    std::vector<nlohmann::json> out;
    for (const auto& e : events_)
      if (e.at("task_id") == task_id) out.push_back(e);
    return out;
  }
  int drains() {
    std::lock_guard lock(mu_);
    return drains_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<nlohmann::json> events_;
  int finished_ = 0;
  int drains_ = 0;
};

}  // namespace taskwire::test
