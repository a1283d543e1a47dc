// SPDX-License-Identifier: MIT
#pragma once
// What the client knows of each task it follows, and how that reads on a terminal: one progress
// line per task (done/total, rate, ETA), one line per item, one summary at the end. Pure
// functions of the events and a clock, so they are tested without a server or a terminal.
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace taskwire::cli {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;

struct task_view {
  std::string task_id;
  std::string kind;   // ticker, scan_models, hash_files (empty until known)
  std::string label;  // what the user asked for: "scan checkpoints", "tick 20"
  std::uint64_t last_seq = 0;
  bool started = false;
  bool finished = false;
  double done = 0;
  std::optional<double> total;
  std::string file;  // scan: the large file being hashed
  double file_done = 0, file_total = 0;
  std::uint64_t items = 0;
  json finished_event;  // the whole finished event

  // The rate is smoothed over samples at least 250 ms apart, so one burst does not swing the ETA.
  steady::time_point first_progress{}, sample_at{};
  double sample_done = 0;
  double rate = 0;  // units per second

  // Applies one event of this task (seq already checked by the caller). `now` feeds the rate.
  void apply(const json& event, steady::time_point now);
  std::string status() const;  // succeeded, failed, cancelled, or "" while running
};

std::string format_bytes(double bytes);
std::string format_count(double n);           // 1234567 -> "1.2M"
std::string format_duration(double seconds);  // "0.4 s", "42 s", "3m05s", "2h07m"

// One progress line of at most `width` columns.
std::string progress_line(const task_view& t, int width, steady::time_point now);
// One line for an item event, or "" when the kind prints none.
std::string item_line(const task_view& t, const json& item);
// The line that ends a task: status, result and time.
std::string summary_line(const task_view& t);

}  // namespace taskwire::cli
