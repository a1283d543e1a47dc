// SPDX-License-Identifier: MIT
#pragma once
// One submitted task: its identity, lifecycle, seq counter, cancellation, retained events and the
// events not yet handed to the hub. Everything mutable is guarded by the task's own mutex, which
// is never held while calling out (the router's post happens after it is released).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "server/protocol.hpp"
#include "workers/job.hpp"
#include "workers/task_context.hpp"

namespace taskwire {

enum class task_state { queued, running, succeeded, failed, cancelled };
std::string_view to_string(task_state s);
inline bool is_final(task_state s) {
  return s != task_state::queued && s != task_state::running;
}

enum class event_kind : std::uint8_t { started, progress, item, finished };

struct event {
  std::uint64_t seq = 0;
  event_kind kind = event_kind::started;
  std::shared_ptr<const std::string> frame;  // serialised once, shared by every connection
};

enum class stop_reason : std::uint8_t { none, cancel, timeout, shutdown, disconnect };

class task;

// Told when a task has events to deliver; the hub implements it by posting onto its strand.
class event_router {
 public:
  virtual ~event_router() = default;
  virtual void schedule_drain(std::shared_ptr<task> t) = 0;
};

class task final : public task_context, public std::enable_shared_from_this<task> {
 public:
  using clock = std::chrono::steady_clock;

  task(std::uint64_t key, std::string id, std::string kind, std::string client_id,
       std::unique_ptr<job> body, pool_kind pool, event_router& router);

  std::uint64_t key() const { return key_; }  // unique per process, never reused
  const std::string& id() const { return id_; }
  const std::string& kind() const { return kind_; }
  const std::string& client_id() const { return client_id_; }
  pool_kind pool() const { return pool_; }
  job& body() { return *body_; }

  task_state state() const;
  std::uint64_t last_seq() const;
  std::optional<clock::time_point> ended_at() const;

  // task_context, for the handler
  void progress(std::uint64_t done, std::optional<std::uint64_t> total,
                const nlohmann::json* extra = nullptr) override;
  void item(const nlohmann::json& item) override;
  std::stop_token stop_token() const override { return stop_.get_token(); }
  void parallel(std::size_t extra, const std::function<void()>& work) override;

  // How the runner lends the task more workers for parallel(); set before the first run.
  void set_helper_pool(std::function<void(std::function<void()>)> post) {
    helper_post_ = std::move(post);
  }

  // Lifecycle, for the runner.
  bool begin();  // queued -> running and `started`; false when the task already ended
  // Ends the task with its `finished` event; true only for the call that ended it. `ended`
  // runs (without the task's lock) after the task has ended and before its `finished` exists:
  // whatever it counts is already counted when a client sees the event.
  using ended_fn = std::function<void()>;
  bool finish(task_state status, std::string_view result_json,
              const std::optional<protocol::error>& err, const ended_fn& ended = {});
  // Ends a task that never got a worker (`started` then `finished`); false if it has begun.
  bool finish_if_queued(task_state status, const std::optional<protocol::error>& err,
                        const ended_fn& ended = {});
  void request_stop(stop_reason why);  // the first reason wins
  stop_reason why_stopped() const { return reason_.load(); }

  // Delivery, for the hub: the events emitted since the last call, in seq order.
  std::vector<event> take_pending();
  // For resume: retained events (started, items, finished, the latest progress) after `seq`.
  // `finished` (when given) says, in the same look, whether the `finished` event exists yet: a
  // task can be final a moment before it does (see finish()).
  std::vector<event> retained_after(std::uint64_t seq, bool* finished = nullptr) const;

 private:
  void emit(event_kind kind, std::string frame, std::unique_lock<std::mutex>& lock);
  void finish_locked(task_state status, std::string_view result_json,
                     const std::optional<protocol::error>& err, const ended_fn& ended,
                     std::unique_lock<std::mutex>& lock);

  const std::uint64_t key_;
  const std::string id_, kind_, client_id_;
  const std::unique_ptr<job> body_;
  const pool_kind pool_;
  event_router& router_;
  std::stop_source stop_;
  std::atomic<stop_reason> reason_{stop_reason::none};
  std::function<void(std::function<void()>)> helper_post_;

  mutable std::mutex mu_;
  task_state state_ = task_state::queued;
  std::uint64_t seq_ = 0;
  std::vector<event> pending_;  // not yet taken by the hub
  bool drain_scheduled_ = false;
  std::vector<event> retained_;  // started, items, finished
  event latest_progress_;        // seq 0 while none
  clock::time_point started_at_{};
  std::optional<clock::time_point> ended_at_;
};

}  // namespace taskwire
