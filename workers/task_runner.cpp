// SPDX-License-Identifier: MIT
#include "workers/task_runner.hpp"

namespace taskwire {

std::pair<task_state, std::optional<protocol::error>> stopped_outcome(stop_reason why) {
  switch (why) {
    case stop_reason::timeout:
      return {task_state::failed, protocol::error{"timeout", "the task ran past its timeout_ms"}};
    case stop_reason::shutdown:
      return {task_state::cancelled,
              protocol::error{"shutting_down", "the server shut down before the task ended"}};
    default:
      return {task_state::cancelled, std::nullopt};
  }
}

task_runner::task_runner(int io_workers, int cpu_workers, std::size_t max_queued,
                         finished_fn on_finished)
    : on_finished_(std::move(on_finished)),
      io_("io", io_workers, max_queued),
      cpu_("cpu", cpu_workers, max_queued) {}

task_runner::~task_runner() {
  stop();
}

namespace {
// Timer keys: a task's wait between steps uses its key, its timeout the key with the top bit.
constexpr std::uint64_t timeout_bit = std::uint64_t{1} << 63;
}  // namespace

bool task_runner::start(const std::shared_ptr<task>& t, std::optional<std::int64_t> timeout_ms) {
  // Helpers go to the task's own pool as continuations: accepted work is never refused.
  t->set_helper_pool(
      [pool = &pool_for(*t)](std::function<void()> fn) { pool->post(std::move(fn)); });
  if (!pool_for(*t).try_post([this, t] { run_slice(t, true); })) return false;
  if (timeout_ms) {
    std::weak_ptr<task> weak = t;  // a finished task is not kept alive by its timer
    timers_.schedule(t->key() | timeout_bit,
                     timer_queue::clock::now() + std::chrono::milliseconds(*timeout_ms),
                     [this, weak] {
                       if (auto strong = weak.lock()) cancel(strong, stop_reason::timeout);
                     });
  }
  return true;
}

void task_runner::cancel(const std::shared_ptr<task>& t, stop_reason why) {
  t->request_stop(why);
  auto [status, err] = stopped_outcome(t->why_stopped());
  auto ended = [this, &t] {
    ++ending_;  // until the `finished` below is handed to the router
    timers_.cancel(t->key() | timeout_bit);
    on_finished_(*t);
  };
  if (t->finish_if_queued(status, err, ended))
    --ending_;  // its `finished` is with the router now
  else
    timers_.expedite(t->key());
}

void task_runner::stop() {
  timers_.stop();
  io_.stop();
  cpu_.stop();
}

void task_runner::end(task& t, task_state status, std::string_view result_json,
                      const std::optional<protocol::error>& err) {
  // Counted (registry, metrics) before the `finished` exists: a client that sees it and then
  // submits again, or reads /metrics, finds the task already ended.
  bool ended_here = t.finish(status, result_json, err, [this, &t] {
    ++ending_;  // until the `finished` below is handed to the router
    timers_.cancel(t.key() | timeout_bit);
    on_finished_(t);
  });
  if (ended_here) --ending_;  // its `finished` is with the router now
}

void task_runner::end_stopped(task& t) {
  auto [status, err] = stopped_outcome(t.why_stopped());
  end(t, status, "null", err);
}

void task_runner::run_slice(const std::shared_ptr<task>& t, bool first) {
  if (first && !t->begin()) return;  // cancelled while it waited for a worker
  if (t->stop_requested()) return end_stopped(*t);
  step s;
  try {
    s = t->body().run(*t);
  } catch (const task_failure& f) {
    return end(*t, task_state::failed, "null", protocol::error{f.code(), f.what()});
  } catch (const std::exception& e) {
    return end(*t, task_state::failed, "null", protocol::error{"internal", e.what()});
  } catch (...) {
    return end(*t, task_state::failed, "null",
               protocol::error{"internal", "the task threw an unknown exception"});
  }
  switch (s.what) {
    case step::outcome::finished:
      return end(*t, task_state::succeeded, s.result_json, std::nullopt);
    case step::outcome::stopped:
      return end_stopped(*t);
    case step::outcome::again:
      break;
  }
  if (t->stop_requested()) return end_stopped(*t);
  timers_.schedule(t->key(), timer_queue::clock::now() + s.delay,
                   [this, t] { pool_for(*t).post([this, t] { run_slice(t, false); }); });
  // A cancel between the check above and schedule() found nothing to expedite: do it here.
  if (t->stop_requested()) timers_.expedite(t->key());
}

}  // namespace taskwire
