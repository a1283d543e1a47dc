// SPDX-License-Identifier: MIT
// taskwire-loadgen: a WebSocket load generator for the taskwire protocol (any server that speaks
// it). C clients each submit T tickers of K ticks, check the contract on every event, and the run
// ends with one JSON line of figures: events, events/s, accepted and finished latency, the server's
// CPU per event and RSS (from /proc/PID when --server-pid is given), and contract violations.
//
//   taskwire-loadgen --url ws://127.0.0.1:8765/ws --clients 100 --tasks-per-client 10 --ticks 1000
//   taskwire-loadgen --url ... --clients 10000 --tasks-per-client 0 --hold-s 5    idle connections
//   taskwire-loadgen --url ... --flood                    one more client that submits all the time
//   taskwire-loadgen --ceiling ...                        against a built-in server of pre-built
//   frames
//
// One io_context per --threads (default 1), each with its own clients and counters, merged at the
// end: nothing is shared between threads while the run goes.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "server/net.hpp"

namespace taskwire::loadgen {
namespace {

using json = nlohmann::json;
using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
template <class T>
using awaitable = net::awaitable<T>;

struct options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8765;
  std::string target = "/ws";
  std::string token;
  int clients = 1;
  int tasks_per_client = 1;
  long ticks = 1000;
  int interval_ms = 0;
  double hold_s = 0;
  double duration_limit_s = 300;
  int server_pid = 0;
  int threads = 1;
  bool flood = false;
  int flood_rate = 150;  // submits per second from the flooding client (under the server's 200/s)
  bool ceiling = false;
};

// --- per-thread counters, merged at the end ---------------------------------------------------

struct counters {
  std::uint64_t events = 0, progress = 0, coalesced_gaps = 0, connected = 0, connect_failures = 0;
  std::uint64_t accepted = 0, refused = 0, finished = 0, violations = 0;
  std::vector<double> accepted_us, finished_ms, flood_accepted_us;
  std::vector<std::string> examples;
  void violation(std::string what) {
    ++violations;
    if (examples.size() < 10) examples.push_back(std::move(what));
  }
  void merge(const counters& o) {
    events += o.events;
    progress += o.progress;
    coalesced_gaps += o.coalesced_gaps;
    connected += o.connected;
    connect_failures += o.connect_failures;
    accepted += o.accepted;
    refused += o.refused;
    finished += o.finished;
    violations += o.violations;
    accepted_us.insert(accepted_us.end(), o.accepted_us.begin(), o.accepted_us.end());
    finished_ms.insert(finished_ms.end(), o.finished_ms.begin(), o.finished_ms.end());
    flood_accepted_us.insert(flood_accepted_us.end(), o.flood_accepted_us.begin(),
                             o.flood_accepted_us.end());
    for (const auto& e : o.examples)
      if (examples.size() < 10) examples.push_back(e);
  }
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

// A cheap field reader for the frames of a known shape: the loadgen must cost far less per event
// than the server it measures, and a full JSON parse per event would not. Finds "key": and
// returns the text of its value (a number, or a string without its quotes).
std::string_view field(std::string_view frame, std::string_view key) {
  char pat[40];
  if (key.size() + 4 > sizeof pat) return {};
  pat[0] = '"';
  std::copy(key.begin(), key.end(), pat + 1);
  pat[key.size() + 1] = '"';
  pat[key.size() + 2] = ':';
  auto at = frame.find(std::string_view(pat, key.size() + 3));
  if (at == std::string_view::npos) return {};
  auto v = frame.substr(at + key.size() + 3);
  if (!v.empty() && v[0] == '"') {
    auto end = v.find('"', 1);
    return end == std::string_view::npos ? std::string_view{} : v.substr(1, end - 1);
  }
  auto end = v.find_first_of(",}");
  return v.substr(0, end);
}

std::uint64_t to_u64(std::string_view s) {
  std::uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// --- one client -------------------------------------------------------------------------------

struct task_state {
  std::uint64_t last_seq = 0, last_done = 0, total = 0;
  bool started = false, finished = false, gap = false;
  clock::time_point submitted;
};

class client {
 public:
  client(const options& o, int n, counters& c, bool flooder)
      : o_(o), id_("lg" + std::to_string(n)), c_(c), flooder_(flooder) {}

  awaitable<void> run(clock::time_point deadline) {
    auto ex = co_await net::this_coro::executor;
    ws_ = std::make_unique<websocket::stream<beast::tcp_stream>>(ex);
    error_code ec;
    beast::get_lowest_layer(*ws_).expires_after(30s);
    co_await beast::get_lowest_layer(*ws_).async_connect(
        tcp::endpoint(net::ip::make_address(o_.host), o_.port),
        net::redirect_error(net::use_awaitable, ec));
    if (!ec) {
      beast::get_lowest_layer(*ws_).expires_never();
      // Submits are small and sent back to back: Nagle would hold each one for the previous ACK.
      error_code nd;
      beast::get_lowest_layer(*ws_).socket().set_option(tcp::no_delay(true), nd);
      ws_->set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
      if (!o_.token.empty())
        ws_->set_option(websocket::stream_base::decorator(
            [t = o_.token](auto& req) { req.set(http::field::authorization, "Bearer " + t); }));
      auto sep = o_.target.find('?') == std::string::npos ? "?" : "&";
      co_await ws_->async_handshake(o_.host, o_.target + sep + "client_id=" + id_,
                                    net::redirect_error(net::use_awaitable, ec));
    }
    if (ec) {
      ++c_.connect_failures;
      co_return;
    }
    ++c_.connected;
    ws_->text(true);
    net::co_spawn(ex, read_loop(), net::detached);
    if (flooder_) {
      co_await flood(deadline);
    } else {
      for (int i = 0; i < o_.tasks_per_client; ++i) {
        std::string id = "s" + std::to_string(i);
        std::string text = R"({"type":"submit","id":")" + id +
                           R"(","task":"ticker","params":{"count":)" + std::to_string(o_.ticks) +
                           R"(,"interval_ms":)" + std::to_string(o_.interval_ms) + "}}";
        submitted_[id] = clock::now();
        co_await ws_->async_write(net::buffer(text), net::redirect_error(net::use_awaitable, ec));
        if (ec) break;
      }
      // Wait for every task to end (or the deadline), then hold the connection open.
      while (open_ && finished_ < o_.tasks_per_client && clock::now() < deadline)
        co_await pause(5ms);
    }
    auto hold_until = clock::now() + std::chrono::duration_cast<clock::duration>(
                                         std::chrono::duration<double>(o_.hold_s));
    while (open_ && clock::now() < std::min(hold_until, deadline))
      co_await pause(50ms);
    if (open_)
      co_await ws_->async_close(websocket::close_code::normal,
                                net::redirect_error(net::use_awaitable, ec));
    for (int i = 0; i < 100 && reading_; ++i)
      co_await pause(10ms);
    for (auto& [tid, t] : tasks_)
      if (!t.finished && !flooder_) c_.violation(id_ + " " + tid + ": no finished");
  }

  bool done() const { return !open_; }

 private:
  awaitable<void> pause(clock::duration d) {
    net::steady_timer t(co_await net::this_coro::executor, d);
    error_code ec;
    co_await t.async_wait(net::redirect_error(net::use_awaitable, ec));
  }

  // Submits tiny tickers at a steady rate until the other clients are done: replies must not
  // queue behind the others' progress frames.
  awaitable<void> flood(clock::time_point deadline) {
    error_code ec;
    auto gap = std::chrono::microseconds(1'000'000 / std::max(1, o_.flood_rate));
    auto next = clock::now();
    for (std::uint64_t i = 0; open_ && clock::now() < deadline && !stop_flood; ++i) {
      std::string id = "f" + std::to_string(i);
      submitted_[id] = clock::now();
      std::string text = R"({"type":"submit","id":")" + id +
                         R"(","task":"ticker","params":{"count":1,"interval_ms":0}})";
      co_await ws_->async_write(net::buffer(text), net::redirect_error(net::use_awaitable, ec));
      if (ec) break;
      next += gap;
      co_await pause(next - clock::now());
    }
  }

  awaitable<void> read_loop() {
    beast::flat_buffer buf;
    error_code ec;
    reading_ = true;
    for (;;) {
      co_await ws_->async_read(buf, net::redirect_error(net::use_awaitable, ec));
      if (ec) break;
      auto data = buf.data();
      on_frame({static_cast<const char*>(data.data()), data.size()});
      buf.consume(buf.size());
    }
    open_ = false;
    reading_ = false;
  }

  void on_frame(std::string_view f) {
    auto type = field(f, "type");
    auto now = clock::now();
    if (type == "progress" || type == "started" || type == "finished" || type == "item") {
      ++c_.events;
      auto tid = field(f, "task_id");
      auto it = tasks_.find(std::string(tid));
      if (it == tasks_.end()) return c_.violation(id_ + ": event before accepted");
      auto& t = it->second;
      auto seq = to_u64(field(f, "seq"));
      if (seq <= t.last_seq) c_.violation(id_ + ": seq not increasing");
      if (seq != t.last_seq + 1) t.gap = true;
      t.last_seq = seq;
      if (type == "started") {
        if (t.started) c_.violation(id_ + ": second started");
        t.started = true;
      } else if (type == "progress") {
        ++c_.progress;
        if (!t.started) c_.violation(id_ + ": progress before started");
        t.last_done = to_u64(field(f, "done"));
        t.total = to_u64(field(f, "total"));
      } else if (type == "finished") {
        if (t.finished) c_.violation(id_ + ": second finished");
        t.finished = true;
        ++finished_;
        ++c_.finished;
        if (t.gap) ++c_.coalesced_gaps;
        if (!flooder_) {
          if (t.last_done != t.total && !t.gap)
            c_.violation(id_ + ": last progress done != total and nothing coalesced");
          c_.finished_ms.push_back(
              std::chrono::duration<double, std::milli>(now - t.submitted).count());
          if (field(f, "status") != "succeeded") c_.violation(id_ + ": task did not succeed");
        }
      }
      return;
    }
    if (type == "accepted") {
      auto id = std::string(field(f, "id"));
      auto it = submitted_.find(id);
      if (it == submitted_.end()) return c_.violation(id_ + ": accepted for an unknown id");
      double us = std::chrono::duration<double, std::micro>(now - it->second).count();
      (flooder_ ? c_.flood_accepted_us : c_.accepted_us).push_back(us);
      ++c_.accepted;
      tasks_[std::string(field(f, "task_id"))].submitted = it->second;
      submitted_.erase(it);
      return;
    }
    if (type == "error") {
      ++c_.refused;
      if (!flooder_) c_.violation(id_ + ": " + std::string(f.substr(0, 200)));
      ++finished_;  // a refused submit will not finish
      return;
    }
  }

 public:
  static inline bool stop_flood = false;  // set on the flooder's thread only (see run())

 private:
  const options& o_;
  const std::string id_;
  counters& c_;
  const bool flooder_;
  std::unique_ptr<websocket::stream<beast::tcp_stream>> ws_;
  std::unordered_map<std::string, clock::time_point> submitted_;
  std::unordered_map<std::string, task_state> tasks_;
  int finished_ = 0;
  bool open_ = true, reading_ = false;
};

// --- the server being measured ------------------------------------------------------------------

struct proc_sample {
  double cpu_s = 0;
  std::size_t rss_kib = 0;
};

proc_sample sample(int pid) {
  proc_sample s;
  if (pid <= 0) return s;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  auto close_paren = text.rfind(')');
  if (close_paren != std::string::npos) {
    std::istringstream in(text.substr(close_paren + 2));
    std::string f;
    std::vector<std::string> fields;
    while (in >> f)
      fields.push_back(f);
    // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
    if (fields.size() > 13)
      s.cpu_s = static_cast<double>(std::stoull(fields[11]) + std::stoull(fields[12])) /
                static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kib = std::stoul(line.substr(6));
  return s;
}

// --- the ceiling: a server that only writes pre-built frames
// --------------------------------------

// Appends one unmasked server-to-client text frame (RFC 6455 5.2) to `out`.
void append_frame(std::string& out, std::string_view payload) {
  out += static_cast<char>(0x81);
  if (payload.size() < 126) {
    out += static_cast<char>(payload.size());
  } else {
    out += static_cast<char>(126);
    out += static_cast<char>((payload.size() >> 8) & 0xff);
    out += static_cast<char>(payload.size() & 0xff);
  }
  out += payload;
}

// Answers each submit with accepted, started, `ticks` progress frames and finished, encoded by
// hand and written 512 frames at a time: it costs next to nothing per event, so what the loadgen
// reaches against it is the loadgen's own limit, reported next to real measurements.
awaitable<void> ceiling_session(tcp::socket sock, long ticks) {
  websocket::stream<beast::tcp_stream> ws(std::move(sock));
  error_code ec;
  co_await ws.async_accept(net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return;
  beast::flat_buffer buf;
  auto& raw = ws.next_layer();
  for (int task = 0;; ++task) {
    co_await ws.async_read(buf, net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return;
    auto id = std::string(field(beast::buffers_to_string(buf.data()), "id"));
    buf.consume(buf.size());
    auto tid = "t-c" + std::to_string(task);
    std::string out;
    append_frame(out, R"({"type":"accepted","id":")" + id + R"(","task_id":")" + tid + R"("})");
    append_frame(out, R"({"type":"started","task_id":")" + tid + R"(","seq":1})");
    auto total = std::to_string(ticks);
    for (long k = 1; k <= ticks && !ec; ++k) {
      append_frame(out, R"({"type":"progress","task_id":")" + tid + R"(","seq":)" +
                            std::to_string(k + 1) + R"(,"done":)" + std::to_string(k) +
                            R"(,"total":)" + total + "}");
      if (k % 512 == 0) {
        co_await net::async_write(raw, net::buffer(out),
                                  net::redirect_error(net::use_awaitable, ec));
        out.clear();
      }
    }
    append_frame(out, R"({"type":"finished","task_id":")" + tid + R"(","seq":)" +
                          std::to_string(ticks + 2) + R"(,"status":"succeeded","result":null})");
    co_await net::async_write(raw, net::buffer(out), net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return;
  }
}

awaitable<void> ceiling_listener(tcp::acceptor& acc, long ticks) {
  for (;;) {
    error_code ec;
    auto sock = co_await acc.async_accept(net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return;
    net::co_spawn(acc.get_executor(), ceiling_session(std::move(sock), ticks), net::detached);
  }
}

int run(options o) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  // The ceiling server runs on a thread of its own, so the loadgen's threads are measured alone.
  net::io_context ceiling_ioc(1);
  std::optional<tcp::acceptor> ceiling_acc;
  std::thread ceiling_thread;
  if (o.ceiling) {
    ceiling_acc.emplace(ceiling_ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    o.host = "127.0.0.1";
    o.port = ceiling_acc->local_endpoint().port();
    o.server_pid = 0;
    net::co_spawn(ceiling_ioc, ceiling_listener(*ceiling_acc, o.ticks), net::detached);
    ceiling_thread = std::thread([&] { ceiling_ioc.run(); });
  }

  auto before = sample(o.server_pid);
  std::size_t rss_peak = before.rss_kib;
  auto start = clock::now();
  auto deadline = start + std::chrono::duration_cast<clock::duration>(
                              std::chrono::duration<double>(o.duration_limit_s));
  int n_threads = std::max(1, o.threads);
  std::vector<std::unique_ptr<net::io_context>> iocs;
  std::vector<counters> per_thread(static_cast<std::size_t>(n_threads) + 1);
  std::vector<std::vector<std::unique_ptr<client>>> clients(static_cast<std::size_t>(n_threads));
  for (int t = 0; t < n_threads; ++t)
    iocs.push_back(std::make_unique<net::io_context>(1));
  std::atomic<int> running{o.clients};
  for (int i = 0; i < o.clients; ++i) {
    auto t = static_cast<std::size_t>(i % n_threads);
    clients[t].push_back(std::make_unique<client>(o, i, per_thread[t], false));
    net::co_spawn(*iocs[t], clients[t].back()->run(deadline), [&](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
      running.fetch_sub(1);
    });
  }
  // The flooder runs on its own io_context: it must not be slowed by the clients it measures.
  net::io_context flood_ioc(1);
  std::unique_ptr<client> flooder;
  if (o.flood) {
    flooder = std::make_unique<client>(o, o.clients, per_thread.back(), true);
    net::co_spawn(flood_ioc, flooder->run(deadline), net::detached);
  }
  std::vector<std::thread> threads;
  for (auto& ioc : iocs)
    threads.emplace_back([io = ioc.get()] { io->run(); });
  std::thread flood_thread;
  if (o.flood) flood_thread = std::thread([&] { flood_ioc.run(); });

  // Sample the server while the clients run; stop the flooder once they are done.
  double last_events_at = 0;
  while (running.load() > 0) {
    std::this_thread::sleep_for(100ms);  // the sampling period of /proc, not a synchronisation
    rss_peak = std::max(rss_peak, sample(o.server_pid).rss_kib);
  }
  last_events_at = std::chrono::duration<double>(clock::now() - start).count();
  auto after = sample(o.server_pid);
  if (o.flood) {
    net::post(flood_ioc, [] { client::stop_flood = true; });
  }
  for (auto& th : threads)
    th.join();
  if (flood_thread.joinable()) flood_thread.join();
  if (o.ceiling) {
    ceiling_acc->close();
    ceiling_ioc.stop();
    ceiling_thread.join();
  }

  counters all;
  for (const auto& c : per_thread)
    all.merge(c);
  double wall = last_events_at;
  double cpu = after.cpu_s - before.cpu_s;
  json out{
      {"server_pid", o.server_pid},
      {"ceiling", o.ceiling},
      {"clients", o.clients},
      {"tasks_per_client", o.tasks_per_client},
      {"ticks", o.ticks},
      {"interval_ms", o.interval_ms},
      {"threads", n_threads},
      {"connected", all.connected},
      {"connect_failures", all.connect_failures},
      {"accepted", all.accepted},
      {"refused", all.refused},
      {"finished", all.finished},
      {"events", all.events},
      {"wall_s", wall},
      {"events_per_s", wall > 0 ? static_cast<double>(all.events) / wall : 0},
      {"tasks_with_coalesced_progress", all.coalesced_gaps},
      {"accepted_us",
       {{"p50", percentile(all.accepted_us, 0.5)}, {"p99", percentile(all.accepted_us, 0.99)}}},
      {"finished_ms",
       {{"p50", percentile(all.finished_ms, 0.5)}, {"p99", percentile(all.finished_ms, 0.99)}}},
      {"server_cpu_s", cpu},
      {"server_cpu_us_per_event", all.events ? cpu * 1e6 / static_cast<double>(all.events) : 0},
      {"server_rss_kib",
       {{"before", before.rss_kib}, {"peak", rss_peak}, {"after", after.rss_kib}}},
      {"violations", all.violations},
  };
  if (o.flood)
    out["flood_accepted_us"] = {{"count", all.flood_accepted_us.size()},
                                {"p50", percentile(all.flood_accepted_us, 0.5)},
                                {"p99", percentile(all.flood_accepted_us, 0.99)}};
  if (o.clients > 0 && o.tasks_per_client == 0 && o.server_pid > 0)
    out["server_rss_kib_per_connection"] =
        static_cast<double>(rss_peak - before.rss_kib) / static_cast<double>(o.clients);
  std::cout << out.dump() << std::endl;
  for (const auto& e : all.examples)
    std::cerr << "violation: " << e << "\n";
  return all.violations == 0 && all.connect_failures == 0 ? 0 : 1;
}

bool parse_url(const std::string& url, options& o) {
  const std::string scheme = "ws://";
  if (url.rfind(scheme, 0) != 0) return false;
  auto rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  auto hostport = rest.substr(0, slash);
  o.target = slash == std::string::npos ? "/" : rest.substr(slash);
  auto colon = hostport.rfind(':');
  if (colon == std::string::npos) return false;
  o.host = hostport.substr(0, colon);
  o.port = static_cast<std::uint16_t>(std::stoi(hostport.substr(colon + 1)));
  return true;
}

}  // namespace
}  // namespace taskwire::loadgen

int main(int argc, char** argv) {
  using namespace taskwire::loadgen;
  options o;
  const char* usage =
      "usage: taskwire-loadgen [--url ws://HOST:PORT/ws | --ceiling] [--clients C]\n"
      "  [--tasks-per-client T] [--ticks K] [--interval-ms M] [--hold-s S] [--duration-limit S]\n"
      "  [--server-pid PID] [--threads N] [--flood] [--flood-rate N] [--token T]\n";
  try {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
        return argv[++i];
      };
      if (a == "--url") {
        if (!parse_url(value(), o))
          throw std::invalid_argument("--url must be ws://HOST:PORT/PATH");
      } else if (a == "--clients")
        o.clients = std::stoi(value());
      else if (a == "--tasks-per-client")
        o.tasks_per_client = std::stoi(value());
      else if (a == "--ticks")
        o.ticks = std::stol(value());
      else if (a == "--interval-ms")
        o.interval_ms = std::stoi(value());
      else if (a == "--hold-s")
        o.hold_s = std::stod(value());
      else if (a == "--duration-limit")
        o.duration_limit_s = std::stod(value());
      else if (a == "--server-pid")
        o.server_pid = std::stoi(value());
      else if (a == "--threads")
        o.threads = std::stoi(value());
      else if (a == "--flood")
        o.flood = true;
      else if (a == "--flood-rate")
        o.flood_rate = std::stoi(value());
      else if (a == "--token")
        o.token = value();
      else if (a == "--ceiling")
        o.ceiling = true;
      else
        throw std::invalid_argument("unknown argument " + a);
    }
  } catch (const std::exception& e) {
    std::cerr << "taskwire-loadgen: " << e.what() << "\n" << usage;
    return 2;
  }
  return run(o);
}
