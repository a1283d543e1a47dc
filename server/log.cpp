// SPDX-License-Identifier: MIT
#include "server/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace taskwire::log {
namespace {

std::atomic<level> threshold{level::info};
std::mutex out_mu;

const char* name(level l) {
  switch (l) {
    case level::debug:
      return "DEBUG";
    case level::info:
      return "INFO";
    case level::warn:
      return "WARN";
    case level::error:
      return "ERROR";
  }
  return "INFO";
}

void append_value(std::string& line, const std::string& v) {
  bool plain = !v.empty();
  for (char c : v)
    plain = plain && c > ' ' && c != '"' && c != '=' && c != '\\';
  if (plain) {
    line += v;
    return;
  }
  line += '"';
  for (char c : v) {
    if (c == '"' || c == '\\') line += '\\';
    line += (c == '\n' || c == '\r') ? ' ' : c;
  }
  line += '"';
}

}  // namespace

void set_level(level l) {
  threshold = l;
}
bool enabled(level l) {
  return l >= threshold.load(std::memory_order_relaxed);
}

level parse_level(std::string_view n) {
  if (n == "debug") return level::debug;
  if (n == "warn") return level::warn;
  if (n == "error") return level::error;
  return level::info;
}

void write(level l, std::string_view message, std::initializer_list<field> fields) {
  if (!enabled(l)) return;
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[96];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  std::string line = stamp;
  line += ' ';
  line += name(l);
  line += ' ';
  line += message;
  for (const auto& f : fields) {
    line += ' ';
    line += f.key;
    line += '=';
    append_value(line, f.value);
  }
  line += '\n';
  std::lock_guard lock(out_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace taskwire::log
