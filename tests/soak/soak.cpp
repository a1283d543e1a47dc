// SPDX-License-Identifier: MIT
// taskwire-soak: starts taskwired on a free port and lets many clients misbehave at it for a
// bounded time. Each client, at random, submits tickers and scans, cancels, sends garbage and
// oversized frames, drops its TCP connection mid-task, reconnects and resumes. At the end it
// resumes everything it has not seen end and checks that
//   - every task the server accepted reached its client's finished exactly once,
//   - seq never repeated or went back for a task (across reconnects and resumes),
//   - every connection closed only when the client made it (drop, oversized frame),
//   - /healthz answered throughout,
//   - the daemon's RSS after the run is within 10% of its RSS after warm-up,
//   - the daemon exits 0 on SIGTERM (under ASan: no leak, no error).
// It prints one JSON line of figures and exits 0 only when all of that held.
//
//   taskwire-soak --daemon build/asan/taskwired [--seconds 60] [--clients 200] [--seed N]
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "handlers/model_writer.hpp"
#include "server/net.hpp"
#include "support/child_process.hpp"

namespace taskwire::soak {
namespace {

using json = nlohmann::json;
using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
template <class T>
using awaitable = net::awaitable<T>;

constexpr std::size_t max_message_bytes = 65536;

struct options {
  std::string daemon;
  double seconds = 60;
  int clients = 200;
  unsigned seed = 1;
  double pace = 1;  // multiplies the pause between a client's actions (a sanitizer build is slower)
  // Unfinished tasks a client keeps at most (well under max_tasks_per_client). With 200 clients
  // this, not the pace, sets the load: a client submits again as soon as a task ends.
  int open_tasks = 12;
  double ttl = 0;  // finished_ttl_s of the daemon; 0: a quarter of the run, 15 to 60 s
};

// --- the daemon under test -----------------------------------------------------------------

// The daemon logs every task: of its output only the lines that matter are kept (the ready line
// with the port, errors, and anything that is not a log line, such as a sanitizer report); the
// warnings are counted.
class daemon_process {
 public:
  daemon_process(const std::string& path, const std::vector<std::string>& args)
      : counts_(std::make_shared<counts>()), child_(path, args, options_for(counts_)) {}

  std::uint16_t wait_port(std::chrono::seconds limit) {
    auto ready = child_.wait_line(" INFO ready ", limit);
    auto at = ready ? ready->find(" port=") : std::string::npos;
    return at == std::string::npos ? 0
                                   : static_cast<std::uint16_t>(std::stoi(ready->substr(at + 6)));
  }
  pid_t pid() const { return child_.pid(); }
  // SIGTERM, then the exit status (-1 if it did not exit within `limit`).
  int terminate(std::chrono::seconds limit) {
    child_.signal(SIGTERM);
    return child_.wait_exit(limit).value_or(-1);
  }
  std::vector<std::string> notable() const {
    std::vector<std::string> out;
    std::istringstream lines(child_.out());
    for (std::string l; std::getline(lines, l);)
      if (l.find(" INFO ready ") == std::string::npos) out.push_back(l);
    return out;
  }
  int warnings() const { return counts_->warnings.load(); }

 private:
  struct counts {
    std::atomic<int> warnings{0};
    std::atomic<int> kept{0};
  };
  static test::child_process::options options_for(const std::shared_ptr<counts>& c) {
    test::child_process::options o;
    o.merge_stderr = true;
    o.keep_line = [c](const std::string& line) {
      if (line.find(" WARN ") != std::string::npos) ++c->warnings;
      if (line.find(" INFO ready ") != std::string::npos) return true;
      bool log_line = line.size() > 24 && line[4] == '-' && line[10] == 'T';
      return (!log_line || line.find(" ERROR ") != std::string::npos) && c->kept++ < 200;
    };
    return o;
  }

  std::shared_ptr<counts> counts_;  // shared with the reader thread's filter
  test::child_process child_;
};

std::size_t rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  return 0;
}

// --- what the clients count ----------------------------------------------------------------

struct totals {
  std::uint64_t submitted = 0, accepted = 0, refused = 0, finished = 0, cancels = 0;
  std::uint64_t garbage = 0, garbage_errors = 0, oversized = 0, closes_1009 = 0;
  std::uint64_t drops = 0, connects = 0, resumes = 0, resume_oks = 0, events = 0;
  std::uint64_t healthz = 0, healthz_failures = 0, rate_limited = 0;
  std::map<std::string, std::uint64_t> refusals;  // error code -> count
  std::map<std::string, std::uint64_t> statuses;  // finished status -> count
  // Violations of the contract.
  std::uint64_t seq_violations = 0, duplicate_finished = 0, unexpected_closes = 0;
  std::uint64_t lost = 0, unknown_events = 0, garbage_unanswered = 0, sync_unanswered = 0;
  std::vector<std::string> examples;  // the first few violations, described
  // How long after a task ended on the server its finished reached the client, for tasks that
  // ended on the connection that submitted them: (seen - accepted) - elapsed_ms. It includes
  // the wait for a worker; it is the figure that finished_ttl_s must stay well above.
  std::vector<double> finish_lag_s;

  void violation(std::uint64_t& counter, std::string what) {
    ++counter;
    if (examples.size() < 60) examples.push_back(std::move(what));
  }
};

struct task_track {
  std::uint64_t last_seq = 0;
  int finished = 0;
  int resumes = 0;
  clock::time_point seen{};        // accepted, or first listed by a sync
  clock::time_point last_event{};  // the last event of it that was read
  int accepted_on = 0;             // the connection whose accepted was seen
};

double secs_since(clock::time_point start, clock::time_point t) {
  return t == clock::time_point{} ? -1 : std::chrono::duration<double>(t - start).count();
}

struct connection {
  websocket::stream<beast::tcp_stream> ws;
  bool open = true;
  bool dropped = false;              // the client cut it
  bool oversize_sent = false;        // the client sent a frame over the limit: expect 1009
  std::vector<std::string> to_send;  // written by the actor, the only writer
  int unanswered = 0;                // garbage sent that has had no error reply yet
  std::string last_garbage;
  explicit connection(net::any_io_executor ex) : ws(std::move(ex)) {}
};

class agent {
 public:
  agent(int n, std::uint16_t port, totals& t, std::uint32_t seed, const options& o,
        clock::time_point start)
      : id_("soak" + std::to_string(n)),
        port_(port),
        t_(t),
        rng_(seed),
        pace_(o.pace),
        max_open_tasks_(static_cast<std::size_t>(o.open_tasks)),
        start_(start) {}

  // What this client did lately, for a client that broke the contract or saw it broken: the
  // trace tells a client that lagged from a server that stalled one connection.
  bool troubled() const { return troubled_; }
  std::string trace() const {
    std::string out = "  (" + id_ + ")\n";
    for (const auto& line : trace_)
      out += "  " + line + "\n";
    return out;
  }

  awaitable<void> run(clock::time_point faults_end, clock::time_point drain_end) {
    while (clock::now() < faults_end) {
      co_await one_connection(faults_end, true);
      co_await pause(std::chrono::milliseconds(pick(0, 200)));
    }
    // The drain: no more faults; connect until every task this client_id has is seen ending.
    while (clock::now() < drain_end && !all_done_)
      co_await one_connection(drain_end, false);
    for (const auto& [tid, tr] : tasks_)
      if (tr.finished == 0) {
        troubled_ = true;
        t_.violation(t_.lost, id_ + " never saw " + tid + " end (last seq " +
                                  std::to_string(tr.last_seq) + ", known since " + fmt_s(tr.seen) +
                                  " s, last event at " + fmt_s(tr.last_event) + " s, resumed " +
                                  std::to_string(tr.resumes) + " times)");
      }
  }

 private:
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  std::string fmt_s(clock::time_point t) const {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", secs_since(start_, t));
    return buf;
  }
  void note(const std::string& what) {
    trace_.push_back(fmt_s(clock::now()) + " c" + std::to_string(connection_no_) + " " + what);
    if (trace_.size() > 80) trace_.pop_front();
  }

  awaitable<void> pause(std::chrono::milliseconds d) {
    net::steady_timer timer(co_await net::this_coro::executor, d);
    error_code ec;
    co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
  }

  awaitable<void> one_connection(clock::time_point until, bool faults) {
    auto c = std::make_shared<connection>(co_await net::this_coro::executor);
    error_code ec;
    beast::get_lowest_layer(c->ws).expires_after(10s);
    co_await beast::get_lowest_layer(c->ws).async_connect(
        tcp::endpoint(net::ip::make_address("127.0.0.1"), port_),
        net::redirect_error(net::use_awaitable, ec));
    if (!ec) {
      beast::get_lowest_layer(c->ws).expires_never();
      c->ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
      co_await c->ws.async_handshake("127.0.0.1", "/ws?client_id=" + id_,
                                     net::redirect_error(net::use_awaitable, ec));
    }
    ++connection_no_;
    if (ec) {
      note("connect failed: " + ec.message());
      troubled_ = true;
      t_.violation(t_.unexpected_closes, id_ + " could not connect: " + ec.message());
      co_await pause(100ms);
      co_return;
    }
    ++t_.connects;
    net::co_spawn(co_await net::this_coro::executor, read_loop(c), net::detached);
    // First: learn every task this client_id has, and resume the ones not seen ending.
    c->to_send.push_back(json{{"type", "tasks"}, {"id", "sync"}}.dump());
    synced_ = false;
    auto sync_sent = clock::now();
    bool sync_late = false;
    note(std::string("connected, sync sent") + (faults ? "" : " (drain)"));
    while (c->open) {
      for (std::size_t i = 0; i < c->to_send.size() && c->open; ++i) {
        std::string text = std::move(c->to_send[i]);
        co_await c->ws.async_write(net::buffer(text), net::redirect_error(net::use_awaitable, ec));
        if (ec) c->open = false;
      }
      c->to_send.clear();
      if (!c->open) break;
      if (!faults) {
        all_done_ = synced_ && std::all_of(tasks_.begin(), tasks_.end(),
                                           [](const auto& kv) { return kv.second.finished > 0; });
        if (all_done_ || clock::now() >= until) {
          co_await c->ws.async_close(websocket::close_code::normal,
                                     net::redirect_error(net::use_awaitable, ec));
          break;
        }
        co_await pause(50ms);
        continue;
      }
      if (clock::now() >= until) {
        co_await settle(*c);
        co_await c->ws.async_close(websocket::close_code::normal,
                                   net::redirect_error(net::use_awaitable, ec));
        break;
      }
      co_await pause(std::chrono::milliseconds(static_cast<int>(pick(5, 40) * pace_)));
      // The reply to a sync goes ahead of any queued events: 20 s without it is a stall.
      if (!synced_ && !sync_late && clock::now() - sync_sent > 20s) {
        sync_late = true;
        troubled_ = true;
        note("sync not answered after 20 s");
        t_.violation(t_.sync_unanswered, id_ + ": a sync had no reply within 20 s");
      }
      if (!c->open || !synced_) continue;
      if (co_await act(*c)) break;
    }
    // Let the reader see the end (the server's 1009 close) before the next connection. The close
    // comes after the events already queued for this connection: under a loaded daemon that can
    // be tens of seconds (the 10-minute run's finish_lag_s reached 55 s), so wait up to 60 s.
    for (int i = 0; i < 6000 && c->open; ++i)
      co_await pause(10ms);
    if (c->open) {
      c->open = false;
      c->dropped = true;
      beast::get_lowest_layer(c->ws).close();
    }
  }

  // Before the client ends a connection on purpose: every garbage message it sent must have
  // had its error reply by then (and the connection must still be up).
  awaitable<void> settle(connection& c) {
    error_code ec;
    // By index: the reader may append (resumes) while a write is under way.
    for (std::size_t i = 0; i < c.to_send.size() && c.open; ++i) {
      std::string text = std::move(c.to_send[i]);
      co_await c.ws.async_write(net::buffer(text), net::redirect_error(net::use_awaitable, ec));
    }
    c.to_send.clear();
    // Generous: under a flood of events this one-thread client can lag seconds behind the
    // server, and a reply waits in the socket behind the events sent before it.
    for (int i = 0; i < 3000 && c.open && c.unanswered > 0; ++i)
      co_await pause(10ms);
    if (c.unanswered > 0)
      t_.violation(t_.garbage_unanswered, id_ + ": " + std::to_string(c.unanswered) +
                                              " garbage messages had no error reply within 30 s" +
                                              (c.open ? "" : " (connection gone)") +
                                              ", last: " + c.last_garbage);
    c.unanswered = 0;
  }

  std::size_t open_tasks() const {
    return static_cast<std::size_t>(std::count_if(
        tasks_.begin(), tasks_.end(), [](const auto& kv) { return kv.second.finished == 0; }));
  }

  // One random action; true when it ends this connection.
  awaitable<bool> act(connection& c) {
    error_code ec;
    int roll = pick(0, 999);
    auto send = [&](const json& j) { c.to_send.push_back(j.dump()); };
    if (roll < 350) {
      if (open_tasks() >= max_open_tasks_) co_return false;
      ++t_.submitted;
      bool fast = pick(0, 9) == 0;  // a burst of progress with no interval
      // The fast ones are kept short: 200 clients parsing every event on one thread must not
      // become the bottleneck the test measures.
      int count = fast ? pick(100, 600) : pick(1, 150);
      json params{{"count", count}, {"interval_ms", fast ? 0 : pick(0, 30)}};
      if (pick(0, 9) == 0) params["fail_at"] = pick(1, count);  // ends failed
      send({{"type", "submit"},
            {"id", "s" + std::to_string(next_id_++)},
            {"task", "ticker"},
            {"params", params}});
    } else if (roll < 450) {
      if (open_tasks() >= max_open_tasks_) co_return false;
      ++t_.submitted;
      send(
          {{"type", "submit"},
           {"id", "s" + std::to_string(next_id_++)},
           {"task", "scan_models"},
           {"params",
            {{"hash", pick(0, 1) ? json("sha256") : json(false)}, {"metadata", pick(0, 1) == 1}}}});
    } else if (roll < 550) {
      std::vector<std::string> running;
      for (const auto& [tid, tr] : tasks_)
        if (tr.finished == 0) running.push_back(tid);
      if (running.empty()) co_return false;
      ++t_.cancels;
      send({{"type", "cancel"},
            {"id", "c" + std::to_string(next_id_++)},
            {"task_id",
             running[static_cast<std::size_t>(pick(0, static_cast<int>(running.size()) - 1))]}});
    } else if (roll < 610) {
      send({{"type", "tasks"}, {"id", "q" + std::to_string(next_id_++)}});
    } else if (roll < 680) {
      // Garbage that carries an id, so its error reply can be counted.
      ++t_.garbage;
      ++c.unanswered;
      auto gid = "g" + std::to_string(next_id_++);
      c.last_garbage = gid;
      switch (pick(0, 5)) {
        case 0:
          send({{"type", "submit"}, {"id", gid}, {"task", "no_such_task"}});
          break;
        case 1:
          send({{"type", "submit"}, {"id", gid}, {"task", "ticker"}, {"params", {{"count", -5}}}});
          break;
        case 2:
          send({{"type", "resume"}, {"id", gid}, {"task_id", "t-nope"}, {"after_seq", 0}});
          break;
        case 3:
          send({{"type", "launch"}, {"id", gid}});
          break;
        case 4:
          send({{"type", "submit"},
                {"id", gid},
                {"task", "scan_models"},
                {"params", {{"path", "/etc"}}}});
          break;
        default:
          send({{"type", "cancel"}, {"id", gid}, {"task_id", 42}});
          break;
      }
    } else if (roll < 700) {
      // Garbage with no readable id: not JSON at all.
      ++t_.garbage;
      ++c.unanswered;
      c.last_garbage = "(not JSON)";
      std::string junk(static_cast<std::size_t>(pick(1, 64)), ' ');
      for (auto& ch : junk)
        ch = static_cast<char>(pick(32, 126));
      c.to_send.push_back("{" + junk);
    } else if (roll < 706) {
      // An oversized frame: the server closes 1009; nothing else may be harmed.
      co_await settle(c);
      ++t_.oversized;
      c.oversize_sent = true;
      std::string big(max_message_bytes + 1, 'x');
      note("oversized frame sent");
      co_await c.ws.async_write(net::buffer(big), net::redirect_error(net::use_awaitable, ec));
      co_return true;
    } else if (roll < 716) {
      // Vanish without a close frame, tasks running.
      co_await settle(c);
      ++t_.drops;
      note("dropped the TCP connection");
      c.dropped = true;
      c.open = false;
      beast::get_lowest_layer(c.ws).socket().close(ec);
      co_return true;
    }
    co_return false;
  }

  awaitable<void> read_loop(std::shared_ptr<connection> c) {
    beast::flat_buffer buf;
    error_code ec;
    for (;;) {
      co_await c->ws.async_read(buf, net::redirect_error(net::use_awaitable, ec));
      // A frame read before the client dropped the connection but handled after: the client
      // has already moved on to a new connection and resumed from what it had seen, so this
      // frame counts as lost with the connection (else it would look like a repeated seq).
      if (ec || c->dropped) break;
      auto text = beast::buffers_to_string(buf.data());
      buf.consume(buf.size());
      on_frame(*c, text);
    }
    bool was_open = c->open;
    c->open = false;
    if (c->dropped) co_return;
    auto code = c->ws.reason().code;
    note("read ended: code " + std::to_string(code) + " (" + ec.message() + ")");
    if (c->oversize_sent && code == websocket::close_code::too_big) {
      ++t_.closes_1009;
      co_return;
    }
    // A close the client asked for ends with code 1000 (or the read simply ends).
    if (!was_open || code == websocket::close_code::normal) co_return;
    t_.violation(t_.unexpected_closes, id_ + " closed by the server: code " + std::to_string(code) +
                                           " (" + ec.message() + ")");
  }

  void on_frame(connection& c, const std::string& text) {
    auto j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      t_.violation(t_.unknown_events, id_ + " got a frame that is not JSON");
      return;
    }
    auto type = j.value("type", "");
    auto id = j.value("id", "");
    if (type == "hello") return;
    if (type == "accepted") {
      ++t_.accepted;
      auto [it, fresh] = tasks_.try_emplace(j.at("task_id").get<std::string>());
      if (fresh) {
        it->second.seen = clock::now();
        it->second.accepted_on = connection_no_;
      }
      return;
    }
    if (type == "error") {
      if (j.value("code", "") == "rate_limited") {
        // Not expected at this pace, but a refused sync must be asked again.
        ++t_.rate_limited;
        if (id == "sync") c.to_send.push_back(json{{"type", "tasks"}, {"id", "sync"}}.dump());
      }
      if (id.empty() || id[0] == 'g') {  // no id: the garbage that was not JSON
        ++t_.garbage_errors;
        --c.unanswered;
      } else if (id[0] == 's') {
        ++t_.refused;
        ++t_.refusals[j.value("code", "?")];
      } else if (id[0] == 'r') {
        troubled_ = true;
        note("resume " + id + " refused: " + j.value("code", "?"));
        t_.violation(t_.lost, id_ + " resume refused: " + j.dump());
      }
      return;
    }
    if (type == "ok") {
      if (!id.empty() && id[0] == 'r') ++t_.resume_oks;
      return;
    }
    if (type == "tasks") {
      if (id != "sync") return;
      int listed = 0, resumed = 0;
      for (const auto& t : j.at("tasks")) {
        ++listed;
        auto tid = t.at("task_id").get<std::string>();
        auto& tr = tasks_[tid];  // a task whose accepted was lost with a dropped connection
        if (tr.seen == clock::time_point{}) tr.seen = clock::now();
        if (tr.finished > 0) continue;
        ++resumed;
        ++tr.resumes;
        ++t_.resumes;
        c.to_send.push_back(json{
            {"type", "resume"},
            {"id", "r" + std::to_string(next_id_++)},
            {"task_id", tid},
            {"after_seq",
             tr.last_seq}}.dump());
      }
      synced_ = true;
      note("sync answered: " + std::to_string(listed) + " listed, " + std::to_string(resumed) +
           " resumed");
      return;
    }
    if (type == "started" || type == "progress" || type == "item" || type == "finished") {
      ++t_.events;
      auto tid = j.at("task_id").get<std::string>();
      auto it = tasks_.find(tid);
      if (it == tasks_.end()) {
        t_.violation(t_.unknown_events, id_ + " got " + type + " of a task it never had: " + tid);
        return;
      }
      std::uint64_t seq = j.at("seq");
      if (seq <= it->second.last_seq)
        t_.violation(t_.seq_violations, id_ + " " + tid + ": seq " + std::to_string(seq) +
                                            " after " + std::to_string(it->second.last_seq));
      it->second.last_seq = std::max(it->second.last_seq, seq);
      it->second.last_event = clock::now();
      if (type == "finished") {
        if (++it->second.finished > 1)
          t_.violation(t_.duplicate_finished, id_ + " " + tid + ": a second finished");
        else {
          ++t_.finished;
          ++t_.statuses[j.value("status", "?")];
          if (it->second.accepted_on == connection_no_ && j.contains("elapsed_ms"))
            t_.finish_lag_s.push_back(
                std::chrono::duration<double>(clock::now() - it->second.seen).count() -
                j["elapsed_ms"].get<double>() / 1000.0);
        }
      }
      return;
    }
    t_.violation(t_.unknown_events, id_ + " got an unknown frame: " + text.substr(0, 200));
  }

  const std::string id_;
  const std::uint16_t port_;
  totals& t_;
  std::mt19937 rng_;
  const double pace_;
  const std::size_t max_open_tasks_;
  const clock::time_point start_;
  std::deque<std::string> trace_;
  int connection_no_ = 0;
  bool troubled_ = false;
  std::map<std::string, task_track> tasks_;
  std::uint64_t next_id_ = 0;
  bool synced_ = false;
  bool all_done_ = false;
};

awaitable<void> health_loop(std::uint16_t port, totals& t, const bool& stop) {
  auto ex = co_await net::this_coro::executor;
  while (!stop) {
    beast::tcp_stream s(ex);
    error_code ec;
    s.expires_after(2s);
    co_await s.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                             net::redirect_error(net::use_awaitable, ec));
    http::request<http::empty_body> req(http::verb::get, "/healthz", 11);
    req.set(http::field::host, "127.0.0.1");
    if (!ec) co_await http::async_write(s, req, net::redirect_error(net::use_awaitable, ec));
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    if (!ec) co_await http::async_read(s, buf, res, net::redirect_error(net::use_awaitable, ec));
    ++t.healthz;
    if (ec || res.result_int() != 200)
      t.violation(t.healthz_failures,
                  "/healthz: " + (ec ? ec.message() : std::to_string(res.result_int())));
    s.socket().shutdown(tcp::socket::shutdown_both, ec);
    net::steady_timer timer(ex, 250ms);
    co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
}

// A small model tree: valid, corrupt and non-model files, so scans have items and errors.
void make_tree(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  formats::write_demo_models(dir.string());
  for (int i = 0; i < 20; ++i) {
    auto sub = dir / ("set" + std::to_string(i % 4));
    fs::create_directories(sub);
    std::ofstream(sub / ("m" + std::to_string(i) + ".safetensors"), std::ios::binary)
        << formats::make_safetensors({{"w", "F16", {16, static_cast<std::uint64_t>(i + 1)}}},
                                     {{"n", std::to_string(i)}});
  }
  std::ofstream(dir / "broken.gguf", std::ios::binary) << "GGUF\x03";
  std::ofstream(dir / "readme.txt") << "not a model";
}

int run(const options& o) {
  // 200 clients plus the daemon's side of each: far more descriptors than a default 1024.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  auto base =
      std::filesystem::temp_directory_path() / ("taskwire-soak-" + std::to_string(::getpid()));
  std::filesystem::create_directories(base / "models");
  make_tree(base / "models");
  // Finished tasks are kept for finished_ttl_s: shorter than the run, so that the retained set
  // reaches a steady size inside the warm-up and RSS can be compared, and long enough that a
  // client which lost its connection always resumes in time (a lagging client needs seconds).
  double ttl = o.ttl > 0 ? o.ttl : std::clamp(o.seconds / 4, 15.0, 60.0);
  daemon_process d(o.daemon, {"--port", "0", "--root", "models=" + (base / "models").string(),
                              "--state-dir", (base / "state").string(), "--finished-ttl-s",
                              std::to_string(ttl), "--max-message-bytes",
                              std::to_string(max_message_bytes), "--shutdown-grace-s", "5"});
  auto port = d.wait_port(60s);
  if (port == 0) {
    std::cerr << "taskwire-soak: the daemon did not start\n";
    for (const auto& l : d.notable())
      std::cerr << "  " << l << "\n";
    return 1;
  }

  totals t;
  net::io_context ioc(1);
  auto start = clock::now();
  auto faults_end =
      start + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(o.seconds));
  auto drain_end = faults_end + 60s;
  std::mt19937 seeder(o.seed);
  std::vector<std::unique_ptr<agent>> agents;
  bool stop_health = false;
  int running = o.clients;
  for (int i = 0; i < o.clients; ++i) {
    agents.push_back(std::make_unique<agent>(i, port, t, seeder(), o, start));
    net::co_spawn(ioc, agents.back()->run(faults_end, drain_end), [&](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
      if (--running == 0) stop_health = true;  // the health loop ends after its next check
    });
  }
  net::co_spawn(ioc, health_loop(port, t, stop_health), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });

  // RSS after warm-up: once the finished-task set has turned over at least twice.
  std::size_t rss_warm = 0, rss_peak = 0;
  auto warm_s = std::min(std::max(2.5 * ttl, o.seconds / 3), 0.8 * o.seconds);
  auto warm_at =
      start + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(warm_s));
  net::steady_timer sampler(ioc);
  std::function<void()> sample = [&] {
    auto r = rss_kib(d.pid());
    rss_peak = std::max(rss_peak, r);
    if (rss_warm == 0 && clock::now() >= warm_at) rss_warm = r;
    if (clock::now() < faults_end) {
      sampler.expires_after(500ms);
      sampler.async_wait([&](error_code ec) {
        if (!ec) sample();
      });
    }
  };
  sample();
  ioc.run();  // returns once every client has drained and the health loop has stopped
  auto run_s = std::chrono::duration<double>(clock::now() - start).count();
  std::size_t rss_after = rss_kib(d.pid());
  int exit_status = d.terminate(30s);

  bool rss_ok = rss_warm > 0 && rss_after <= rss_warm + rss_warm / 10;
  std::uint64_t violations = t.seq_violations + t.duplicate_finished + t.unexpected_closes +
                             t.lost + t.unknown_events + t.healthz_failures;
  violations += t.garbage_unanswered + t.sync_unanswered;
  auto& lags = t.finish_lag_s;
  std::sort(lags.begin(), lags.end());
  auto lag_at = [&](double q) {
    return lags.empty() ? 0.0 : lags[static_cast<std::size_t>(q * (lags.size() - 1))];
  };
  bool ok = violations == 0 && rss_ok && exit_status == 0 && t.closes_1009 == t.oversized &&
            t.finished > 0;
  json out{{"clients", o.clients},
           {"pace", o.pace},
           {"open_tasks", o.open_tasks},
           {"seconds", o.seconds},
           {"run_s", run_s},
           {"seed", o.seed},
           {"tasks_submitted", t.submitted},
           {"tasks_accepted", t.accepted},
           {"tasks_refused", t.refused},
           {"refusals", t.refusals},
           {"tasks_finished", t.finished},
           {"finished_by_status", t.statuses},
           {"events", t.events},
           {"cancels", t.cancels},
           {"rate_limited", t.rate_limited},
           {"faults",
            {{"garbage", t.garbage},
             {"garbage_errors", t.garbage_errors},
             {"oversized", t.oversized},
             {"closes_1009", t.closes_1009},
             {"drops", t.drops}}},
           {"connects", t.connects},
           {"resumes", t.resumes},
           {"resume_oks", t.resume_oks},
           {"healthz_checks", t.healthz},
           {"violations",
            {{"lost", t.lost},
             {"seq", t.seq_violations},
             {"duplicate_finished", t.duplicate_finished},
             {"unexpected_closes", t.unexpected_closes},
             {"unknown_events", t.unknown_events},
             {"healthz_failures", t.healthz_failures},
             {"garbage_unanswered", t.garbage_unanswered},
             {"sync_unanswered", t.sync_unanswered}}},
           {"finish_lag_s", {{"p50", lag_at(0.5)}, {"p99", lag_at(0.99)}, {"max", lag_at(1.0)}}},
           {"warmup_s", warm_s},
           {"finished_ttl_s", ttl},
           {"rss_kib", {{"after_warmup", rss_warm}, {"peak", rss_peak}, {"after_run", rss_after}}},
           {"rss_within_10pct", rss_ok},
           {"daemon_warnings", d.warnings()},
           {"daemon_exit", exit_status},
           {"ok", ok}};
  std::cout << out.dump() << std::endl;
  for (const auto& e : t.examples)
    std::cerr << "violation: " << e << "\n";
  int traced = 0;
  for (const auto& a : agents)
    if (a->troubled() && traced++ < 5) std::cerr << "trace of a client in trouble:\n" << a->trace();
  for (const auto& l : d.notable())
    std::cerr << "daemon: " << l << "\n";
  std::filesystem::remove_all(base);
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace taskwire::soak

int main(int argc, char** argv) {
  taskwire::soak::options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "taskwire-soak: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (a == "--daemon")
        o.daemon = value();
      else if (a == "--seconds")
        o.seconds = std::stod(value());
      else if (a == "--clients")
        o.clients = std::stoi(value());
      else if (a == "--seed")
        o.seed = static_cast<unsigned>(std::stoul(value()));
      else if (a == "--pace")
        o.pace = std::stod(value());
      else if (a == "--open-tasks")
        o.open_tasks = std::stoi(value());
      else if (a == "--ttl")
        o.ttl = std::stod(value());
      else {
        std::cerr << "usage: taskwire-soak --daemon PATH [--seconds S] [--clients N] [--seed N] "
                     "[--pace F] [--open-tasks N]\n";
        return 2;
      }
    } catch (const std::exception&) {
      std::cerr << "taskwire-soak: bad value for " << a << "\n";
      return 2;
    }
  }
  if (o.daemon.empty() || o.seconds <= 0 || o.clients <= 0 || o.open_tasks <= 0) {
    std::cerr
        << "usage: taskwire-soak --daemon PATH [--seconds S] [--clients N] [--seed N] [--pace F] "
           "[--open-tasks N] [--ttl S]\n";
    return 2;
  }
  return taskwire::soak::run(o);
}
