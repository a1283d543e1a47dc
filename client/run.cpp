// SPDX-License-Identifier: MIT
// One io_context thread runs everything: the command's flow as a coroutine, the writer of the
// current connection, the signal handler. Nothing here is shared across threads.
#include "client/run.hpp"

#include <openssl/ssl.h>
#include <signal.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <deque>
#include <map>
#include <variant>

#include "client/screen.hpp"
#include "client/task_view.hpp"
#include "server/net.hpp"

namespace taskwire::cli {
namespace {

namespace ssl = boost::asio::ssl;
template <class T>
using awaitable = net::awaitable<T>;
using namespace std::chrono_literals;

inline auto use_ec(error_code& ec) {
  return net::redirect_error(net::use_awaitable, ec);
}

struct target_url {
  bool tls = false;
  std::string host;  // for the TCP connection and SNI
  std::string port;
  std::string host_header;
  std::string target;  // path and query, with client_id set
};

std::optional<target_url> parse_target(const std::string& text, const std::string& client_id,
                                       std::string& why) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) {
    why = "not a URL: " + parsed.error().message();
    return std::nullopt;
  }
  boost::urls::url u = *parsed;
  target_url t;
  if (u.scheme() == "wss")
    t.tls = true;
  else if (u.scheme() != "ws") {
    why = "the URL must be ws:// or wss://";
    return std::nullopt;
  }
  t.host = u.host_address();
  if (t.host.empty()) {
    why = "the URL has no host";
    return std::nullopt;
  }
  t.port = u.has_port() ? std::string(u.port()) : (t.tls ? "443" : "80");
  t.host_header = std::string(u.encoded_host_and_port());
  if (u.encoded_path().empty()) u.set_path("/");
  u.params().set("client_id", client_id);
  t.target = std::string(u.encoded_target());
  return t;
}

// The messages the client sends. Built outside the coroutines: GCC 12 rejects braced JSON
// initialisers of string literals inside a coroutine ("array used as initializer").
json tasks_message(const std::string& id) {
  return {{"type", "tasks"}, {"id", id}};
}
json cancel_message(const std::string& id, const std::string& task_id) {
  return {{"type", "cancel"}, {"id", id}, {"task_id", task_id}};
}
json resume_message(const std::string& task_id, std::uint64_t after_seq) {
  return {{"type", "resume"},
          {"id", "resume:" + task_id},
          {"task_id", task_id},
          {"after_seq", after_seq}};
}
json submit_message(const std::string& kind, json params, std::optional<long long> timeout_ms) {
  json m{{"type", "submit"}, {"id", "submit"}, {"task", kind}, {"params", std::move(params)}};
  if (timeout_ms) m["timeout_ms"] = *timeout_ms;
  return m;
}

// One WebSocket connection, plain or TLS, with its own write queue: the flow and the signal
// handler both send, and Beast allows one write at a time.
struct link {
  using plain = websocket::stream<beast::tcp_stream>;
  using secure = websocket::stream<ssl::stream<beast::tcp_stream>>;
  std::variant<std::unique_ptr<plain>, std::unique_ptr<secure>> ws;
  beast::flat_buffer buffer;
  std::deque<std::string> outq;
  bool writing = false;
  bool broken = false;

  beast::tcp_stream& tcp() {
    return std::visit([](auto& p) -> beast::tcp_stream& { return beast::get_lowest_layer(*p); },
                      ws);
  }
};

class runner {
 public:
  runner(const cli_options& o, bool terminal) : o_(o), terminal_(terminal), screen_(stdout) {}

  int run() {
    std::string why;
    auto t = parse_target(o_.url, o_.client_id, why);
    if (!t) {
      std::fprintf(stderr, "taskwire: --url %s: %s\n", o_.url.c_str(), why.c_str());
      return exit_usage;
    }
    target_ = *t;
    if (target_.tls && !make_tls_context()) return exit_usage;

    net::signal_set signals(ioc_, SIGINT, SIGTERM);
    signals.add(SIGHUP);
    signals_ = &signals;
    wait_signal();
    net::co_spawn(ioc_, flow(), [this](std::exception_ptr e) {
      signals_->cancel();
      force_timer_.cancel();
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          fail(exit_failed, std::string("unexpected error: ") + ex.what());
        }
      }
    });
    ioc_.run();
    if (terminal_) screen_.release();
    if (interrupted_) return exit_interrupted;
    if (detached_signal_) {
      std::vector<std::string> open;
      for (const auto& id : order_)
        if (!tasks_[id].finished) open.push_back(id);
      for (const auto& id : open)
        std::fprintf(stderr, "taskwire: %s goes on; follow it with: taskwire watch %s\n",
                     id.c_str(), id.c_str());
      return 128 + detached_signal_;
    }
    if (exit_ >= 0) return exit_;
    for (const auto& id : order_)
      if (tasks_[id].status() != "succeeded") return exit_failed;
    return exit_succeeded;
  }

 private:
  // --- connection ------------------------------------------------------------------------

  bool make_tls_context() {
    ssl_ = std::make_unique<ssl::context>(ssl::context::tls_client);
    ssl_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    error_code ec;
    if (o_.insecure) {
      ssl_->set_verify_mode(ssl::verify_none);
      return true;
    }
    ssl_->set_verify_mode(ssl::verify_peer);
    if (!o_.ca_file.empty())
      ssl_->load_verify_file(o_.ca_file, ec);
    else
      ssl_->set_default_verify_paths(ec);
    if (ec) {
      std::fprintf(stderr, "taskwire: --cacert %s: %s\n", o_.ca_file.c_str(), ec.message().c_str());
      return false;
    }
    return true;
  }

  template <class WS>
  awaitable<void> handshake(WS& ws, std::string& why) {
    error_code ec;
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws.set_option(websocket::stream_base::decorator([this](websocket::request_type& req) {
      req.set(http::field::user_agent, "taskwire-cli/" TASKWIRE_VERSION);
      if (!o_.token.empty()) req.set(http::field::authorization, "Bearer " + o_.token);
    }));
    ws.read_message_max(64u << 20);
    websocket::response_type res;
    co_await ws.async_handshake(res, target_.host_header, target_.target, use_ec(ec));
    if (ec == websocket::error::upgrade_declined) {
      why = "the server refused the connection: HTTP " + std::to_string(res.result_int());
      if (!res.body().empty()) {
        auto body = res.body();
        while (!body.empty() && (body.back() == '\n' || body.back() == '\r'))
          body.pop_back();
        why += " (" + body.substr(0, 200) + ")";
      }
      if (res.result_int() == 401) why += "; give the token with --token or TASKWIRE_TOKEN";
    } else if (ec) {
      why = "WebSocket handshake: " + ec.message();
    }
  }

  // Connects, upgrades and reads hello; null (with why_) when that failed.
  awaitable<std::shared_ptr<link>> open_link() {
    auto ex = co_await net::this_coro::executor;
    error_code ec;
    tcp::resolver resolver(ex);
    auto endpoints = co_await resolver.async_resolve(target_.host, target_.port, use_ec(ec));
    if (ec) {
      why_ = "cannot resolve " + target_.host + ": " + ec.message();
      co_return nullptr;
    }
    auto l = std::make_shared<link>();
    std::string why;
    if (target_.tls) {
      auto ws = std::make_unique<link::secure>(ex, *ssl_);
      auto& tcp = beast::get_lowest_layer(*ws);
      tcp.expires_after(10s);
      co_await tcp.async_connect(endpoints, use_ec(ec));
      if (!ec) {
        auto& tls = ws->next_layer();
        if (!SSL_set_tlsext_host_name(tls.native_handle(), target_.host.c_str()))
          why = "cannot set the TLS server name";
        if (!o_.insecure) tls.set_verify_callback(ssl::host_name_verification(target_.host));
        co_await tls.async_handshake(ssl::stream_base::client, use_ec(ec));
        if (ec) why = "TLS handshake: " + ec.message();
      }
      if (!ec && why.empty()) {
        tcp.expires_never();
        co_await handshake(*ws, why);
      }
      l->ws = std::move(ws);
    } else {
      auto ws = std::make_unique<link::plain>(ex);
      auto& tcp = beast::get_lowest_layer(*ws);
      tcp.expires_after(10s);
      co_await tcp.async_connect(endpoints, use_ec(ec));
      if (!ec) {
        tcp.expires_never();
        co_await handshake(*ws, why);
      }
      l->ws = std::move(ws);
    }
    if (ec && why.empty()) why = ec.message();
    if (!why.empty()) {
      why_ = "cannot connect to " + o_.url + ": " + why;
      co_return nullptr;
    }
    link_ = l;
    auto hello = co_await next_frame();
    if (!hello || hello->second.value("type", "") != "hello") {
      why_ = "cannot connect to " + o_.url + ": no hello from the server (" + why_ + ")";
      link_.reset();
      co_return nullptr;
    }
    hello_ = hello->second;
    co_return l;
  }

  // The next frame of the current link as (text, JSON); nullopt once the link broke (why_).
  awaitable<std::optional<std::pair<std::string, json>>> next_frame() {
    auto l = link_;
    if (!l) co_return std::nullopt;
    for (;;) {
      error_code ec;
      co_await std::visit([&](auto& p) { return p->async_read(l->buffer, use_ec(ec)); }, l->ws);
      if (ec) {
        l->broken = true;
        auto reason = std::visit([](auto& p) { return p->reason(); }, l->ws);
        if (ec == websocket::error::closed)
          why_ = "the server closed the connection (" + std::to_string(reason.code) +
                 (reason.reason.empty()
                      ? ""
                      : " " + std::string(reason.reason.data(), reason.reason.size())) +
                 ")";
        else
          why_ = ec.message();
        if (link_ == l) link_.reset();
        co_return std::nullopt;
      }
      auto text = beast::buffers_to_string(l->buffer.data());
      l->buffer.consume(l->buffer.size());
      auto j = json::parse(text, nullptr, false);
      if (j.is_discarded() || !j.is_object()) continue;  // not ours to judge; skip it
      co_return std::make_pair(std::move(text), std::move(j));
    }
  }

  void send(const json& message) {
    auto l = link_;
    if (!l || l->broken) return;
    l->outq.push_back(message.dump());
    if (l->writing) return;
    l->writing = true;
    net::co_spawn(ioc_, write_queue(l), net::detached);
  }

  awaitable<void> write_queue(std::shared_ptr<link> l) {
    while (!l->outq.empty() && !l->broken) {
      error_code ec;
      co_await std::visit(
          [&](auto& p) { return p->async_write(net::buffer(l->outq.front()), use_ec(ec)); }, l->ws);
      if (ec) break;  // the reader sees the broken connection too
      l->outq.pop_front();
    }
    l->outq.clear();
    l->writing = false;
  }

  awaitable<void> close_link() {
    auto l = link_;
    link_.reset();
    if (!l || l->broken) co_return;
    error_code ec;
    l->tcp().expires_after(3s);
    co_await std::visit(
        [&](auto& p) { return p->async_close(websocket::close_code::normal, use_ec(ec)); }, l->ws);
  }

  // Ends the connection at once: a pending read returns, and the flow sees why.
  void force_close() {
    if (!link_) return;
    error_code ec;
    link_->tcp().socket().close(ec);
  }

  // --- output ------------------------------------------------------------------------------

  void print_raw(const std::string& text) {
    if (terminal_) return;
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }

  // A remark for the person at the terminal (on stderr for scripts).
  void notice(const std::string& line) {
    if (terminal_)
      screen_.print("taskwire: " + line, bars());
    else
      std::fprintf(stderr, "taskwire: %s\n", line.c_str());
  }

  void fail(int code, const std::string& message) {
    if (exit_ < 0) exit_ = code;
    if (terminal_) screen_.release();
    std::fprintf(stderr, "taskwire: %s\n", message.c_str());
  }

  std::vector<std::string> bars() {
    std::vector<std::string> lines;
    auto now = steady::now();
    int width = screen_.width() - 1;
    for (const auto& id : order_)
      if (!tasks_[id].finished) lines.push_back(progress_line(tasks_[id], width, now));
    return lines;
  }

  // Progress lines at most every 100 ms (a scan sends items far faster than anyone reads).
  void redraw(bool now_or_never) {
    if (!terminal_) return;
    auto now = steady::now();
    if (!now_or_never && now - last_draw_ < 100ms) return;
    last_draw_ = now;
    screen_.draw(bars());
  }

  // --- signals -----------------------------------------------------------------------------

  void wait_signal() {
    signals_->async_wait([this](error_code ec, int sig) {
      if (ec) return;
      on_signal(sig);
      wait_signal();
    });
  }

  void on_signal(int sig) {
    if (sig != SIGINT || interrupted_) {
      // SIGTERM, SIGHUP or a second Ctrl-C: leave at once; the tasks go on (or are being
      // cancelled already).
      if (sig != SIGINT) detached_signal_ = sig;
      force_close();
      return;
    }
    interrupted_ = true;
    int asked = 0;
    for (const auto& id : order_)
      if (!tasks_[id].finished) {
        send(cancel_message("cancel:" + id, id));
        ++asked;
      }
    if (asked == 0 && !submit_pending_) {
      force_close();
      return;
    }
    notice("cancelling (Ctrl-C again to leave without waiting)");
    // The cancel's finished normally arrives within 100 ms; do not hang on a server that is gone.
    force_timer_.expires_after(3s);
    force_timer_.async_wait([this](error_code ec) {
      if (!ec) force_close();
    });
  }

  // --- commands ----------------------------------------------------------------------------

  awaitable<void> flow() {
    // (Not `if (!co_await ...)`: GCC 12 mis-compiles a co_await inside a condition.)
    auto first = co_await open_link();
    if (!first) {
      fail(exit_no_connection, why_);
      co_return;
    }
    switch (o_.cmd) {
      case command::tasks:
        co_await list_tasks();
        break;
      case command::cancel:
        co_await cancel_task();
        break;
      case command::watch:
        co_await watch();
        break;
      default:
        co_await submit();
        break;
    }
    co_await close_link();
  }

  awaitable<std::optional<json>> request(const json& message) {
    auto id = message.at("id").get<std::string>();
    send(message);
    for (;;) {
      auto f = co_await next_frame();
      if (!f) co_return std::nullopt;
      if (f->second.value("id", "") == id) {
        print_raw(f->first);
        co_return f->second;
      }
    }
  }

  awaitable<void> list_tasks() {
    auto reply = co_await request(tasks_message("tasks"));
    if (!reply) {
      fail(exit_no_connection, "no answer: " + why_);
      co_return;
    }
    if (reply->value("type", "") == "error") {
      fail(exit_failed, "tasks: " + reply->value("message", ""));
      co_return;
    }
    exit_ = exit_succeeded;
    if (terminal_) print_tasks(reply->at("tasks"));
  }

  // Not in the coroutine: GCC 12 mis-compiles string literals passed to printf inside one.
  void print_tasks(const json& list) {
    if (list.empty()) {
      std::printf("no tasks for client_id %s\n", o_.client_id.c_str());
      return;
    }
    std::printf("%-26s %-12s %-10s %s\n", "TASK_ID", "TASK", "STATE", "SEQ");
    for (const auto& t : list)
      std::printf("%-26s %-12s %-10s %llu\n", t.value("task_id", "").c_str(),
                  t.value("task", "").c_str(), t.value("state", "").c_str(),
                  static_cast<unsigned long long>(t.value("seq", std::uint64_t{0})));
  }

  awaitable<void> cancel_task() {
    const auto& id = o_.args.at(0);
    auto reply = co_await request(cancel_message("cancel", id));
    if (!reply) {
      fail(exit_no_connection, "no answer: " + why_);
    } else if (reply->value("type", "") == "ok") {
      exit_ = exit_succeeded;
      if (terminal_) std::printf("cancel requested: %s\n", id.c_str());
    } else {
      fail(exit_failed,
           "cancel " + id + ": " + reply->value("code", "") + ": " + reply->value("message", ""));
    }
  }

  void track(const std::string& id, const std::string& kind, const std::string& label) {
    auto [it, fresh] = tasks_.try_emplace(id);
    if (!fresh) return;
    it->second.task_id = id;
    it->second.kind = kind;
    it->second.label = label;
    order_.push_back(id);
  }

  awaitable<void> submit() {
    json params = json::object();
    std::string kind, label;
    switch (o_.cmd) {
      case command::scan:
        kind = "scan_models";
        if (!o_.args.empty()) params["path"] = o_.args[0];
        if (!o_.root.empty()) params["root"] = o_.root;
        if (o_.hash) params["hash"] = "sha256";
        if (!o_.metadata) params["metadata"] = false;
        label =
            "scan " + (o_.args.empty() ? (o_.root.empty() ? root_name() : o_.root) : o_.args[0]);
        break;
      case command::hash:
        kind = "hash_files";
        params["paths"] = o_.args;
        label = o_.args.size() == 1 ? "hash " + o_.args[0]
                                    : "hash " + std::to_string(o_.args.size()) + " files";
        break;
      default:
        kind = "ticker";
        params["count"] = o_.count;
        params["interval_ms"] = o_.interval_ms;
        label = "tick " + std::to_string(o_.count);
        break;
    }
    submit_pending_ = true;
    submit_kind_ = kind;
    submit_label_ = label;
    send(submit_message(kind, std::move(params), o_.timeout_ms));
    co_await follow();
  }

  std::string root_name() const {
    auto it = hello_.find("roots");
    if (it != hello_.end() && it->is_array() && !it->empty() && (*it)[0].is_string())
      return (*it)[0].get<std::string>();
    return "root";
  }

  awaitable<void> watch() {
    auto reply = co_await request(tasks_message("tasks"));
    if (!reply || reply->value("type", "") != "tasks") {
      fail(reply ? exit_failed : exit_no_connection,
           "tasks: " + (reply ? reply->value("message", "") : why_));
      co_return;
    }
    std::optional<std::string> only;
    if (!o_.args.empty()) only = o_.args[0];
    for (const auto& t : reply->at("tasks")) {
      auto id = t.value("task_id", "");
      auto state = t.value("state", "");
      if (only ? id != *only : (state != "queued" && state != "running")) continue;
      auto kind = t.value("task", "");
      track(id, kind, (kind == "scan_models" ? "scan " : kind + " ") + id.substr(0, 10));
      send(resume_message(id, 0));
    }
    if (only && order_.empty()) {
      fail(exit_failed, "no task " + *only + " for client_id " + o_.client_id +
                            " (unknown, another client's, or finished too long ago)");
      co_return;
    }
    if (order_.empty()) {
      exit_ = exit_succeeded;
      notice("no running tasks for client_id " + o_.client_id);
      co_return;
    }
    co_await follow();
  }

  bool all_finished() {
    return std::all_of(order_.begin(), order_.end(),
                       [this](const std::string& id) { return tasks_[id].finished; });
  }

  // Reads events until every task followed has finished; reconnects and resumes on the way.
  awaitable<void> follow() {
    redraw(true);
    while (submit_pending_ || !all_finished()) {
      auto f = co_await next_frame();
      if (!f) {
        if (interrupted_ || detached_signal_) co_return;
        if (submit_pending_) {
          fail(exit_no_connection,
               "the connection was lost before the server answered the "
               "submit (" +
                   why_ + "); see `taskwire tasks`");
          co_return;
        }
        bool back = co_await reconnect();
        if (!back) co_return;
        continue;
      }
      on_frame(f->first, f->second);
      if (exit_ >= 0) co_return;
    }
    redraw(true);
  }

  void on_frame(const std::string& text, const json& j) {
    auto type = j.value("type", "");
    if (type == "hello") return;
    print_raw(text);
    auto id = j.value("id", "");
    if (type == "accepted" && id == "submit") {
      submit_pending_ = false;
      auto tid = j.value("task_id", "");
      track(tid, submit_kind_, submit_label_);
      if (interrupted_) send(cancel_message("cancel:" + tid, tid));
      redraw(true);
      return;
    }
    if (type == "error") {
      auto what = j.value("code", "") + ": " + j.value("message", "");
      if (id == "submit") {
        submit_pending_ = false;
        fail(exit_failed, "the server refused the task: " + what);
      } else if (id.rfind("resume:", 0) == 0) {
        auto tid = id.substr(7);
        auto it = tasks_.find(tid);
        if (it != tasks_.end() && !it->second.finished) {
          // Gone while we were away: it finished longer than finished_ttl_s ago, or the
          // server restarted. Counted as failed; there is nothing more to follow.
          it->second.finished = true;
          it->second.finished_event = {{"status", "failed"}, {"error", j}};
          notice(tid + " can no longer be followed: " + what);
          redraw(true);
        }
      } else if (id.rfind("cancel:", 0) != 0) {
        notice(what);
      }
      return;
    }
    auto tid = j.value("task_id", "");
    auto it = tasks_.find(tid);
    if (it == tasks_.end()) return;
    auto& t = it->second;
    auto seq = j.value("seq", std::uint64_t{0});
    if (seq != 0 && seq <= t.last_seq) return;  // already shown before a reconnect
    t.apply(j, steady::now());
    if (!terminal_) return;
    if (type == "item") {
      auto line = item_line(t, j.contains("item") ? j["item"] : json());
      if (!line.empty()) screen_.print(line, bars());
    } else if (type == "finished") {
      screen_.print(summary_line(t), bars());
      return;
    }
    redraw(false);
  }

  awaitable<bool> reconnect() {
    notice("connection lost: " + why_ + "; reconnecting");
    auto deadline = steady::now() + std::chrono::duration_cast<steady::duration>(
                                        std::chrono::duration<double>(o_.reconnect_s));
    auto backoff = 250ms;
    net::steady_timer timer(co_await net::this_coro::executor);
    while (!interrupted_ && !detached_signal_) {
      auto l = co_await open_link();
      if (l) {
        int n = 0;
        for (const auto& id : order_)
          if (!tasks_[id].finished) {
            ++n;
            send(resume_message(id, tasks_[id].last_seq));
          }
        notice("reconnected; resuming " + std::to_string(n) + (n == 1 ? " task" : " tasks"));
        co_return true;
      }
      if (steady::now() + backoff > deadline) break;
      error_code ec;
      timer.expires_after(backoff);
      co_await timer.async_wait(use_ec(ec));
      backoff = std::min(backoff * 2, std::chrono::milliseconds(4000));
    }
    if (!interrupted_ && !detached_signal_) {
      std::string ids;
      for (const auto& id : order_)
        if (!tasks_[id].finished) ids += " " + id;
      fail(exit_no_connection, "gave up reconnecting: " + why_ +
                                   "; the server keeps running the task(s); follow them later "
                                   "with: taskwire watch" +
                                   ids);
    }
    co_return false;
  }

  const cli_options& o_;
  const bool terminal_;
  screen screen_;
  net::io_context ioc_{1};
  net::signal_set* signals_ = nullptr;
  net::steady_timer force_timer_{ioc_};
  std::unique_ptr<ssl::context> ssl_;
  target_url target_;
  std::shared_ptr<link> link_;
  json hello_;
  std::string why_;
  std::map<std::string, task_view> tasks_;
  std::vector<std::string> order_;
  bool submit_pending_ = false;
  std::string submit_kind_, submit_label_;
  bool interrupted_ = false;
  int detached_signal_ = 0;
  int exit_ = -1;
  steady::time_point last_draw_{};
};

}  // namespace

int run(const cli_options& o, bool terminal) {
  return runner(o, terminal).run();
}

}  // namespace taskwire::cli
