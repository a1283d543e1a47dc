// SPDX-License-Identifier: MIT
#pragma once
// Every task the server knows, by id and by client, with the per-client limit and retention:
// a finished task stays listed and resumable for finished_ttl_s. Guarded by one mutex.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "workers/task.hpp"

namespace taskwire {

class task_registry {
 public:
  using clock = std::chrono::steady_clock;

  task_registry(int max_tasks_per_client, std::chrono::milliseconds finished_ttl);

  // nullptr when the client already has max_tasks_per_client unfinished tasks.
  std::shared_ptr<task> create(const std::string& client_id, std::string kind,
                               std::unique_ptr<job> body, pool_kind pool, event_router& router);
  // Forgets a task that was created but never queued (the pool refused it).
  void discard(const task& t);
  // Called once per task, after its `finished` was emitted.
  void on_finished(const task& t);

  // The client's task, or nullptr when unknown, expired or another client's.
  std::shared_ptr<task> find(const std::string& client_id, const std::string& task_id) const;
  std::vector<std::shared_ptr<task>> of_client(const std::string& client_id) const;
  std::vector<std::shared_ptr<task>> unfinished() const;
  std::vector<std::shared_ptr<task>> unfinished_of(const std::string& client_id) const;

  // Drops tasks that ended more than finished_ttl ago; returns how many.
  std::size_t prune(clock::time_point now);

  std::size_t active() const;  // queued or running
  std::size_t retained() const;

 private:
  bool expired(const task& t, clock::time_point now) const;

  const int max_per_client_;
  const std::chrono::milliseconds ttl_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<task>> by_id_;
  struct client_tasks {
    std::vector<std::shared_ptr<task>> tasks;  // in submit order
    int active = 0;
  };
  std::unordered_map<std::string, client_tasks> by_client_;
  std::size_t active_ = 0;
  std::uint64_t next_key_ = 1;
  std::mt19937_64 rng_;
};

}  // namespace taskwire
