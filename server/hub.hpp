// SPDX-License-Identifier: MIT
#pragma once
// Routing between tasks and connections: client_id -> live sessions, task -> subscribed sessions,
// both held by weak_ptr and owned by the hub's strand (no mutex). Workers reach it only through
// event_router::schedule_drain; sessions only through the calls below. Every call may come from
// any thread: it posts onto the strand, and the strand posts onto each session's own executor.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "workers/task.hpp"

namespace boost::asio {
class io_context;
}

namespace taskwire {

// A connection as the hub sees it. Implementations only post to their own executor here.
class subscriber {
 public:
  virtual ~subscriber() = default;
  virtual const std::string& client_id() const = 0;
  // A task's next events, in seq order, shared by every subscriber.
  virtual void deliver(std::uint64_t task_key,
                       std::shared_ptr<const std::vector<event>> events) = 0;
  // A resume's replay, then its ok reply, then (through deliver) live events.
  virtual void deliver_replay(std::uint64_t task_key, std::vector<event> events,
                              std::shared_ptr<const std::string> ok) = 0;
  // Close with 1001 behind everything already queued.
  virtual void going_away() = 0;
};

class hub final : public event_router {
 public:
  // Called on the strand when a client's last connection has closed.
  using client_gone_fn = std::function<void(const std::string& client_id)>;

  hub(boost::asio::io_context& ioc, client_gone_fn on_client_gone);
  ~hub() override;

  void join(const std::shared_ptr<subscriber>& s);
  void leave(const subscriber* s, const std::string& client_id);
  // Before the task is queued, so that its first event finds the submitter subscribed.
  void subscribe(const std::shared_ptr<task>& t, std::weak_ptr<subscriber> s);
  void forget(const std::shared_ptr<task>& t);  // a task that was never queued
  void resume(const std::shared_ptr<task>& t, std::weak_ptr<subscriber> s, std::uint64_t after_seq,
              std::shared_ptr<const std::string> ok);
  // Every connection gets going_away(), after every event drained so far.
  void close_all();

  std::size_t connections() const { return connections_.load(); }

  void schedule_drain(std::shared_ptr<task> t) override;

 private:
  struct state;
  std::unique_ptr<state> s_;
  std::atomic<std::size_t> connections_{0};
};

}  // namespace taskwire
