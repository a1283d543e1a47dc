// SPDX-License-Identifier: MIT
#include "workers/task.hpp"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <nlohmann/json.hpp>

namespace taskwire {

std::string_view to_string(task_state s) {
  switch (s) {
    case task_state::queued:
      return "queued";
    case task_state::running:
      return "running";
    case task_state::succeeded:
      return "succeeded";
    case task_state::failed:
      return "failed";
    case task_state::cancelled:
      return "cancelled";
  }
  return "unknown";
}

step step::finished(const nlohmann::json& result) {
  return {
      outcome::finished, {}, result.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

task::task(std::uint64_t key, std::string id, std::string kind, std::string client_id,
           std::unique_ptr<job> body, pool_kind pool, event_router& router)
    : key_(key),
      id_(std::move(id)),
      kind_(std::move(kind)),
      client_id_(std::move(client_id)),
      body_(std::move(body)),
      pool_(pool),
      router_(router) {}

task_state task::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

std::uint64_t task::last_seq() const {
  std::lock_guard lock(mu_);
  return seq_;
}

std::optional<task::clock::time_point> task::ended_at() const {
  std::lock_guard lock(mu_);
  return ended_at_;
}

// Called with the lock held; releases it before telling the router, so no lock is held across
// the post. Seq order equals pending_ order because both are set under the same lock.
void task::emit(event_kind kind, std::string frame, std::unique_lock<std::mutex>& lock) {
  event ev{seq_, kind, std::make_shared<const std::string>(std::move(frame))};
  if (kind == event_kind::progress)
    latest_progress_ = ev;
  else
    retained_.push_back(ev);
  pending_.push_back(std::move(ev));
  bool schedule = !drain_scheduled_;
  drain_scheduled_ = true;
  lock.unlock();
  if (schedule) router_.schedule_drain(shared_from_this());
}

void task::progress(std::uint64_t done, std::optional<std::uint64_t> total,
                    const nlohmann::json* extra) {
  std::unique_lock lock(mu_);
  if (state_ != task_state::running) return;
  ++seq_;
  emit(event_kind::progress, protocol::progress(id_, seq_, done, total, extra), lock);
}

void task::item(const nlohmann::json& item) {
  std::unique_lock lock(mu_);
  if (state_ != task_state::running) return;
  ++seq_;
  emit(event_kind::item, protocol::item(id_, seq_, item), lock);
}

bool task::begin() {
  std::unique_lock lock(mu_);
  if (state_ != task_state::queued) return false;
  state_ = task_state::running;
  started_at_ = clock::now();
  ++seq_;
  emit(event_kind::started, protocol::started(id_, seq_), lock);
  return true;
}

void task::finish_locked(task_state status, std::string_view result_json,
                         const std::optional<protocol::error>& err, const ended_fn& ended,
                         std::unique_lock<std::mutex>& lock) {
  auto now = clock::now();
  state_ = status;  // from here nothing else is emitted and no other finish succeeds
  ended_at_ = now;
  if (ended) {
    lock.unlock();  // `ended` takes other locks (the registry's), never under this one
    ended();
    lock.lock();
  }
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - started_at_).count();
  ++seq_;
  emit(event_kind::finished,
       protocol::finished(id_, seq_, to_string(status), result_json, err,
                          static_cast<std::uint64_t>(std::max<long long>(0, elapsed))),
       lock);
}

bool task::finish(task_state status, std::string_view result_json,
                  const std::optional<protocol::error>& err, const ended_fn& ended) {
  std::unique_lock lock(mu_);
  if (state_ != task_state::running) return false;
  finish_locked(status, result_json, err, ended, lock);
  return true;
}

bool task::finish_if_queued(task_state status, const std::optional<protocol::error>& err,
                            const ended_fn& ended) {
  std::unique_lock lock(mu_);
  if (state_ != task_state::queued) return false;
  // `started` still comes first, so every task's stream has the same shape.
  state_ = task_state::running;
  started_at_ = clock::now();
  ++seq_;
  event ev{seq_, event_kind::started,
           std::make_shared<const std::string>(protocol::started(id_, seq_))};
  retained_.push_back(ev);
  pending_.push_back(std::move(ev));
  finish_locked(status, "null", err, ended, lock);
  return true;
}

void task::parallel(std::size_t extra, const std::function<void()>& work) {
  struct shared {
    std::mutex mu;
    std::condition_variable cv;
    int running = 0;
    bool closed = false;  // set once this thread is done: late helpers must not touch `work`
    std::exception_ptr error;
  };
  auto st = std::make_shared<shared>();
  auto guarded = [st, &work] {
    try {
      work();
    } catch (...) {
      std::lock_guard lock(st->mu);
      if (!st->error) st->error = std::current_exception();
    }
  };
  if (helper_post_)
    for (std::size_t i = 0; i < extra; ++i)
      helper_post_([st, guarded] {
        {
          std::lock_guard lock(st->mu);
          if (st->closed) return;
          ++st->running;
        }
        guarded();
        std::lock_guard lock(st->mu);
        --st->running;
        st->cv.notify_all();
      });
  guarded();
  std::unique_lock lock(st->mu);
  st->closed = true;
  st->cv.wait(lock, [&] { return st->running == 0; });
  if (st->error) std::rethrow_exception(st->error);
}

void task::request_stop(stop_reason why) {
  auto none = stop_reason::none;
  reason_.compare_exchange_strong(none, why);
  stop_.request_stop();
}

std::vector<event> task::take_pending() {
  std::lock_guard lock(mu_);
  drain_scheduled_ = false;
  std::vector<event> out;
  out.swap(pending_);
  return out;
}

std::vector<event> task::retained_after(std::uint64_t seq, bool* finished) const {
  std::lock_guard lock(mu_);
  if (finished) *finished = !retained_.empty() && retained_.back().kind == event_kind::finished;
  std::vector<event> out;
  bool progress_due = latest_progress_.seq > seq;  // merged in at its place in seq order
  for (const auto& ev : retained_) {
    if (progress_due && latest_progress_.seq < ev.seq) {
      out.push_back(latest_progress_);
      progress_due = false;
    }
    if (ev.seq > seq) out.push_back(ev);
  }
  if (progress_due) out.push_back(latest_progress_);
  return out;
}

}  // namespace taskwire
