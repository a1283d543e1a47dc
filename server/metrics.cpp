// SPDX-License-Identifier: MIT
#include "server/metrics.hpp"

namespace taskwire {
namespace {

constexpr const char* statuses[] = {"succeeded", "failed", "cancelled"};

void counter(std::string& out, const char* name, const char* help, std::uint64_t v,
             const char* type = "counter") {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
  out += name;
  out += ' ';
  out += std::to_string(v);
  out += '\n';
}

}  // namespace

metrics::metrics(const std::vector<std::string>& task_kinds) {
  for (const auto& k : task_kinds)
    submitted_[k];
}

void metrics::task_submitted(const std::string& kind) {
  if (auto it = submitted_.find(kind); it != submitted_.end())
    it->second.fetch_add(1, std::memory_order_relaxed);
}

void metrics::task_finished(const std::string& status) {
  for (std::size_t i = 0; i < 3; ++i)
    if (status == statuses[i]) finished_[i].fetch_add(1, std::memory_order_relaxed);
}

std::string metrics::render(const gauges& g) const {
  auto r = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  std::string out;
  counter(out, "taskwire_ready", "1 when the server accepts work, 0 while starting or draining",
          g.ready ? 1 : 0, "gauge");
  counter(out, "taskwire_connections_open", "WebSocket connections open", g.connections_open,
          "gauge");
  counter(out, "taskwire_connections_total", "WebSocket connections accepted",
          r(connections_total));
  counter(out, "taskwire_connections_rejected_total",
          "HTTP upgrade requests refused (400, 401, 503)", r(connections_rejected));
  out += "# HELP taskwire_tasks_submitted_total Tasks accepted, by kind\n";
  out += "# TYPE taskwire_tasks_submitted_total counter\n";
  for (const auto& [kind, n] : submitted_)
    out += "taskwire_tasks_submitted_total{task=\"" + kind + "\"} " + std::to_string(r(n)) + "\n";
  counter(out, "taskwire_tasks_running", "Tasks queued or running", g.tasks_active, "gauge");
  counter(out, "taskwire_tasks_queued", "Tasks waiting for a worker", g.tasks_queued, "gauge");
  counter(out, "taskwire_tasks_retained", "Tasks kept for tasks and resume", g.tasks_retained,
          "gauge");
  out += "# HELP taskwire_tasks_finished_total Tasks ended, by status\n";
  out += "# TYPE taskwire_tasks_finished_total counter\n";
  for (std::size_t i = 0; i < 3; ++i)
    out += std::string("taskwire_tasks_finished_total{status=\"") + statuses[i] + "\"} " +
           std::to_string(r(finished_[i])) + "\n";
  counter(out, "taskwire_events_sent_total", "Task events written to connections", r(events_sent));
  counter(out, "taskwire_events_coalesced_total",
          "Progress events replaced by a newer one for a slow reader", r(events_coalesced));
  counter(out, "taskwire_frames_sent_total", "WebSocket frames written (events and replies)",
          r(frames_sent));
  counter(out, "taskwire_bad_messages_total", "Client messages answered with an error",
          r(bad_messages));
  counter(out, "taskwire_slow_consumer_closes_total",
          "Connections closed 1008 because their send queue overflowed", r(slow_consumer_closes));
  return out;
}

}  // namespace taskwire
