// SPDX-License-Identifier: MIT
#include "workers/task_registry.hpp"

#include <algorithm>
#include <cstdio>

namespace taskwire {

task_registry::task_registry(int max_tasks_per_client, std::chrono::milliseconds finished_ttl)
    : max_per_client_(max_tasks_per_client), ttl_(finished_ttl), rng_(std::random_device{}()) {}

std::shared_ptr<task> task_registry::create(const std::string& client_id, std::string kind,
                                            std::unique_ptr<job> body, pool_kind pool,
                                            event_router& router) {
  std::lock_guard lock(mu_);
  auto& mine = by_client_[client_id];
  if (mine.active >= max_per_client_) return nullptr;
  std::uint64_t key = next_key_++;
  // Random, so ids do not tell how busy the server is; the key keeps them unique.
  char id[40];
  std::snprintf(id, sizeof id, "t-%016llx%06llx", static_cast<unsigned long long>(rng_()),
                static_cast<unsigned long long>(key & 0xffffff));
  auto t =
      std::make_shared<task>(key, id, std::move(kind), client_id, std::move(body), pool, router);
  by_id_.emplace(t->id(), t);
  mine.tasks.push_back(t);
  ++mine.active;
  ++active_;
  return t;
}

void task_registry::discard(const task& t) {
  std::lock_guard lock(mu_);
  by_id_.erase(t.id());
  auto it = by_client_.find(t.client_id());
  if (it == by_client_.end()) return;
  auto& v = it->second.tasks;
  v.erase(std::remove_if(v.begin(), v.end(), [&](const auto& p) { return p.get() == &t; }),
          v.end());
  --it->second.active;
  --active_;
  if (v.empty()) by_client_.erase(it);
}

void task_registry::on_finished(const task& t) {
  std::lock_guard lock(mu_);
  if (auto it = by_client_.find(t.client_id()); it != by_client_.end()) --it->second.active;
  --active_;
}

bool task_registry::expired(const task& t, clock::time_point now) const {
  auto ended = t.ended_at();
  return ended && now - *ended > ttl_;
}

std::shared_ptr<task> task_registry::find(const std::string& client_id,
                                          const std::string& task_id) const {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(task_id);
  if (it == by_id_.end() || it->second->client_id() != client_id) return nullptr;
  if (expired(*it->second, clock::now())) return nullptr;
  return it->second;
}

std::vector<std::shared_ptr<task>> task_registry::of_client(const std::string& client_id) const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<task>> out;
  auto it = by_client_.find(client_id);
  if (it == by_client_.end()) return out;
  auto now = clock::now();
  for (const auto& t : it->second.tasks)
    if (!expired(*t, now)) out.push_back(t);
  return out;
}

std::vector<std::shared_ptr<task>> task_registry::unfinished() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<task>> out;
  for (const auto& [id, t] : by_id_)
    if (!is_final(t->state())) out.push_back(t);
  return out;
}

std::vector<std::shared_ptr<task>> task_registry::unfinished_of(
    const std::string& client_id) const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<task>> out;
  if (auto it = by_client_.find(client_id); it != by_client_.end())
    for (const auto& t : it->second.tasks)
      if (!is_final(t->state())) out.push_back(t);
  return out;
}

std::size_t task_registry::prune(clock::time_point now) {
  std::lock_guard lock(mu_);
  std::size_t dropped = 0;
  for (auto it = by_client_.begin(); it != by_client_.end();) {
    auto& v = it->second.tasks;
    auto keep = std::remove_if(v.begin(), v.end(), [&](const auto& t) {
      if (!expired(*t, now)) return false;
      by_id_.erase(t->id());
      ++dropped;
      return true;
    });
    v.erase(keep, v.end());
    if (v.empty() && it->second.active == 0)
      it = by_client_.erase(it);
    else
      ++it;
  }
  return dropped;
}

std::size_t task_registry::active() const {
  std::lock_guard lock(mu_);
  return active_;
}

std::size_t task_registry::retained() const {
  std::lock_guard lock(mu_);
  return by_id_.size();
}

}  // namespace taskwire
