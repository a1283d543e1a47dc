// SPDX-License-Identifier: MIT
#include "client/task_view.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace taskwire::cli {
namespace {

double seconds(steady::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// A number of the task's unit: bytes for hash_files, plain counts otherwise.
std::string amount(const task_view& t, double v) {
  return t.kind == "hash_files" ? format_bytes(v) : format_count(v);
}

std::string unit_name(const task_view& t) {
  if (t.kind == "scan_models") return " entries";
  if (t.kind == "ticker") return " ticks";
  return "";
}

double number_or(const json& j, const char* key, double fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

std::string string_or(const json& j, const char* key, const std::string& fallback = "") {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// Cuts to `width` columns, counting UTF-8 sequences as one column each.
std::string clip(const std::string& s, int width) {
  int cols = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
    if (++cols > width) return s.substr(0, i);
  }
  return s;
}

}  // namespace

void task_view::apply(const json& e, steady::time_point now) {
  last_seq = std::max(last_seq, e.value("seq", std::uint64_t{0}));
  auto type = string_or(e, "type");
  if (type == "started") {
    started = true;
  } else if (type == "progress") {
    started = true;
    done = number_or(e, "done", done);
    auto tot = e.find("total");
    if (tot != e.end() && tot->is_number())
      total = tot->get<double>();
    else
      total.reset();
    file = string_or(e, "file");
    file_done = number_or(e, "file_bytes_done", 0);
    file_total = number_or(e, "file_bytes", 0);
    if (first_progress == steady::time_point{}) {
      first_progress = sample_at = now;
      sample_done = done;
    } else if (now - sample_at >= std::chrono::milliseconds(250)) {
      double inst = (done - sample_done) / seconds(now - sample_at);
      rate = rate == 0 ? inst : 0.6 * rate + 0.4 * inst;
      sample_at = now;
      sample_done = done;
    }
  } else if (type == "item") {
    ++items;
  } else if (type == "finished") {
    finished = true;
    finished_event = e;
  }
}

std::string task_view::status() const {
  return finished ? string_or(finished_event, "status", "failed") : "";
}

std::string format_bytes(double b) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (std::fabs(b) >= 1024 && u < 5) {
    b /= 1024;
    ++u;
  }
  if (u == 0) return fixed(b, 0) + " B";
  return fixed(b, b < 10 ? 2 : b < 100 ? 1 : 0) + " " + units[u];
}

std::string format_count(double n) {
  if (std::fabs(n) < 10000) return fixed(n, 0);
  if (std::fabs(n) < 1e6) return fixed(n / 1e3, n < 1e5 ? 1 : 0) + "k";
  if (std::fabs(n) < 1e9) return fixed(n / 1e6, n < 1e8 ? 1 : 0) + "M";
  return fixed(n / 1e9, 1) + "G";
}

std::string format_duration(double s) {
  if (!(s >= 0) || std::isinf(s)) return "?";
  if (s < 10) return fixed(s, 1) + " s";
  if (s < 60) return fixed(s, 0) + " s";
  auto whole = static_cast<long long>(s + 0.5);
  char buf[32];
  if (whole < 3600)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", whole / 60, whole % 60);
  else
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", whole / 3600, (whole % 3600) / 60);
  return buf;
}

std::string progress_line(const task_view& t, int width, steady::time_point now) {
  width = std::max(width, 20);
  std::string head = t.label.empty() ? t.task_id : t.label;
  if (head.size() > 24) head = head.substr(0, 23) + "~";
  head.resize(24, ' ');

  if (!t.started) return clip(head + " waiting to start", width);
  std::string counts;
  std::string tail;
  std::optional<double> fraction;
  if (t.total && *t.total > 0) {
    fraction = std::clamp(t.done / *t.total, 0.0, 1.0);
    counts = fixed(*fraction * 100, 0) + "%  " + amount(t, t.done) + "/" + amount(t, *t.total);
  } else {
    counts = amount(t, t.done) + unit_name(t);
  }
  if (t.rate > 0) {
    tail += "  " + amount(t, t.rate) + (t.kind == "hash_files" ? "/s" : unit_name(t) + "/s");
    if (fraction && *t.total > t.done)
      tail += "  ETA " + format_duration((*t.total - t.done) / t.rate);
  } else if (t.first_progress != steady::time_point{}) {
    tail += "  " + format_duration(seconds(now - t.first_progress));
  }
  if (!t.file.empty() && t.file_total > 0)
    tail += "  hashing " + t.file + " " + fixed(100 * t.file_done / t.file_total, 0) + "%";

  std::string bar;
  int bar_width = std::min(30, width - 24 - static_cast<int>(counts.size()) - 6);
  if (bar_width >= 10) {
    bar = "[";
    if (fraction) {
      int full = static_cast<int>(*fraction * bar_width + 1e-9);
      bar += std::string(static_cast<std::size_t>(full), '#');
      bar += std::string(static_cast<std::size_t>(bar_width - full), '-');
    } else {
      // No total yet (a scan counts as it walks): a marker that moves with the count.
      int pos = static_cast<int>(t.done) % bar_width;
      for (int i = 0; i < bar_width; ++i)
        bar += i == pos ? '=' : ' ';
    }
    bar += "] ";
  }
  return clip(head + " " + bar + counts + tail, width);
}

std::string item_line(const task_view& t, const json& item) {
  if (!item.is_object()) return "";
  auto path = string_or(item, "path", "?");
  if (t.kind == "hash_files") {
    // The format of sha256sum, so the lines can be checked with `sha256sum -c`.
    return string_or(item, "sha256", "?") + "  " + path;
  }
  if (t.kind != "scan_models") return "";
  if (auto err = string_or(item, "error"); !err.empty()) return path + "  error: " + err;
  std::string line = path + "  " + string_or(item, "format", "unknown") + "  " +
                     format_bytes(number_or(item, "size", 0));
  if (auto p = item.find("parameters"); p != item.end() && p->is_number())
    line += "  " + format_count(p->get<double>()) + " params";
  if (auto a = string_or(item, "architecture"); !a.empty()) line += "  " + a;
  if (auto h = string_or(item, "sha256"); !h.empty()) line += "  sha256 " + h.substr(0, 16);
  if (item.value("cached", false)) line += "  (cached)";
  return line;
}

std::string summary_line(const task_view& t) {
  const json& f = t.finished_event;
  std::string status = t.status();
  std::string mark = status == "succeeded" ? "done" : status;
  std::string head = (t.label.empty() ? t.task_id : t.label) + ": " + mark;
  const json empty = json::object();
  const json& result = f.contains("result") && f["result"].is_object() ? f["result"] : empty;
  std::string what;
  if (t.kind == "scan_models" && !result.empty()) {
    what = format_count(number_or(result, "files", 0)) + " files, " +
           format_bytes(number_or(result, "bytes", 0)) + ", " +
           format_count(number_or(result, "errors", 0)) + " errors, " +
           format_count(number_or(result, "cached", 0)) + " from the cache";
  } else if (t.kind == "hash_files" && !result.empty()) {
    what = format_count(number_or(result, "files", 0)) + " files, " +
           format_bytes(number_or(result, "bytes", 0));
  } else if (t.kind == "ticker" && !result.empty()) {
    what = format_count(number_or(result, "ticks", 0)) + " ticks";
  } else if (!result.empty()) {
    what = result.dump();
  }
  if (auto e = f.find("error"); e != f.end() && e->is_object()) {
    if (!what.empty()) what += "; ";
    what += string_or(*e, "code", "error") + ": " + string_or(*e, "message");
  }
  if (auto ms = f.find("elapsed_ms"); ms != f.end() && ms->is_number()) {
    what += (what.empty() ? "" : " ") + std::string("in ") +
            format_duration(ms->get<double>() / 1000.0);
  }
  return head + (what.empty() ? "" : " (" + what + ")") + "  [" + t.task_id + "]";
}

}  // namespace taskwire::cli
