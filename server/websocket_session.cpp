// SPDX-License-Identifier: MIT
#include "server/websocket_session.hpp"

#include <boost/beast/websocket/ssl.hpp>
#include <boost/container/deque.hpp>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <vector>

#include "server/app_state.hpp"
#include "server/hub.hpp"
#include "server/log.hpp"
#include "server/net.hpp"
#include "server/outbox.hpp"
#include "server/protocol.hpp"
#include "server/rate_limit.hpp"
#include "server/tls.hpp"
#include "server/whole_write_stream.hpp"
#include "server/ws_frame.hpp"

namespace taskwire {
namespace {

using json = nlohmann::json;
using frame_ptr = std::shared_ptr<const std::string>;

frame_ptr make_frame(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(s));
}

// Stream is beast::tcp_stream or tls_stream.
template <class Stream>
class websocket_session final : public subscriber,
                                public std::enable_shared_from_this<websocket_session<Stream>> {
 public:
  websocket_session(Stream&& stream, app_state& app, std::string client_id,
                    std::unique_ptr<connection_limits::slot> slot)
      : ws_(std::move(stream)),
        app_(app),
        client_id_(std::move(client_id)),
        slot_(std::move(slot)),
        outbox_(app.cfg.send_queue_bytes),
        bucket_(app.cfg.max_messages_per_s, app.cfg.message_burst) {}

  void run(http::request<http::string_body> req) {
    beast::get_lowest_layer(ws_).expires_never();  // the websocket timeouts take over
    websocket::stream_base::timeout t;
    t.handshake_timeout = seconds(app_.cfg.handshake_timeout_s);
    t.idle_timeout = seconds(app_.cfg.idle_timeout_s);
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.set_option(websocket::stream_base::decorator(
        [name = app_.server_name](auto& res) { res.set(http::field::server, name); }));
    ws_.read_message_max(app_.cfg.max_message_bytes);
    ws_.auto_fragment(false);
    remote_ = endpoint_text();
    ws_.async_accept(
        req, beast::bind_front_handler(&websocket_session::on_accept, this->shared_from_this()));
  }

  // --- subscriber (any thread: post only) ---------------------------------------------------
  const std::string& client_id() const override { return client_id_; }

  // Everything the hub hands over goes through one inbox, in the hub's order (a replay must stay
  // ahead of the live events that follow it, and the close behind every event). Hand-overs that
  // arrive while one post is pending ride on it: however many tasks are busy, the strand has at
  // most one such handler queued, so a client's next message is never read behind a long line
  // of them.
  void deliver(std::uint64_t key, std::shared_ptr<const std::vector<event>> events) override {
    hand_over({handover::live, key, std::move(events), {}, {}});
  }

  void deliver_replay(std::uint64_t key, std::vector<event> events, frame_ptr ok) override {
    hand_over({handover::replay, key, {}, std::move(events), std::move(ok)});
  }

  void going_away() override { hand_over({handover::going_away, 0, {}, {}, {}}); }

 private:
  std::string endpoint_text() {
    error_code ec;
    auto ep = beast::get_lowest_layer(ws_).socket().remote_endpoint(ec);
    return ec ? std::string("?") : ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  void on_accept(error_code ec) {
    if (ec) {
      log::debug("websocket handshake failed",
                 {{"client_id", client_id_}, {"error", ec.message()}});
      return;
    }
    joined_ = true;
    app_.router.join(this->shared_from_this());
    app_.stats.connections_total.fetch_add(1, std::memory_order_relaxed);
    log::info("connection opened", {{"client_id", client_id_}, {"remote", remote_}});
    reply(protocol::hello(client_id_, app_.server_name, app_.handlers.names(), app_.root_names));
    do_read();
  }

  void do_read() {
    ws_.async_read(
        buffer_, beast::bind_front_handler(&websocket_session::on_read, this->shared_from_this()));
  }

  void on_read(error_code ec, std::size_t) {
    if (ec) return on_closed(ec);
    if (!bucket_.take()) {
      bad_input(std::nullopt, "rate_limited",
                "more than max_messages_per_s messages; this one was not processed");
    } else if (!ws_.got_text()) {
      bad_input(std::nullopt, "bad_message", "binary frames are not accepted; send JSON text");
    } else {
      auto data = buffer_.cdata();
      handle_text({static_cast<const char*>(data.data()), data.size()});
    }
    buffer_.consume(buffer_.size());
    if (buffer_.capacity() > 16 * 1024) buffer_.shrink_to_fit();  // one big message is no reason
    do_read();
  }

  void on_closed(error_code ec) {
    closed_ = true;
    bool normal = ec == websocket::error::closed || ec == net::error::operation_aborted ||
                  ec == net::error::eof || ec == net::error::connection_reset ||
                  ec == beast::error::timeout;
    if (ec == websocket::error::message_too_big)
      log::warn("message over max_message_bytes: closed with 1009", {{"client_id", client_id_}});
    log::write(normal ? log::level::info : log::level::warn, "connection closed",
               {{"client_id", client_id_}, {"reason", ec.message()}});
    if (joined_) {
      joined_ = false;
      app_.router.leave(this, client_id_);
    }
  }

  // --- client messages ----------------------------------------------------------------------
  void handle_text(std::string_view text) {
    auto parsed = protocol::parse_client_message(text);
    if (!parsed.message) return bad_input(parsed.id, parsed.err.code, parsed.err.message);
    const auto& m = *parsed.message;
    switch (m.type) {
      case protocol::message_type::submit:
        return on_submit(m);
      case protocol::message_type::cancel:
        return on_cancel(m);
      case protocol::message_type::tasks:
        return on_tasks(m);
      case protocol::message_type::resume:
        return on_resume(m);
    }
  }

  void bad_input(const std::optional<std::string>& id, std::string_view code,
                 std::string_view message) {
    app_.stats.bad_messages.fetch_add(1, std::memory_order_relaxed);
    log::debug("client error", {{"client_id", client_id_}, {"code", std::string(code)}});
    reply(protocol::error_reply(id, code, message));
  }

  void on_submit(const protocol::client_message& m) {
    const json& doc = *m.doc;
    if (app_.draining) return bad_input(m.id, "shutting_down", "the server is shutting down");
    auto kind_it = doc.find("task");
    const handler* h = nullptr;
    if (kind_it != doc.end() && kind_it->is_string())
      h = app_.handlers.find(kind_it->get<std::string>());
    if (!h) {
      std::string names;
      for (const auto& n : app_.handlers.names())
        names += (names.empty() ? "" : ", ") + n;
      return bad_input(m.id, "unknown_task", "task must be one of: " + names);
    }
    static const json empty = json::object();
    const json* params = &empty;
    if (auto p = doc.find("params"); p != doc.end() && !p->is_null()) {
      if (!p->is_object()) return bad_input(m.id, "invalid_params", "params must be an object");
      params = &*p;
    }
    std::optional<std::int64_t> timeout_ms;
    if (auto t = doc.find("timeout_ms"); t != doc.end() && !t->is_null()) {
      if (!protocol::is_integer(*t) || t->get<std::int64_t>() < 1 ||
          t->get<std::int64_t>() > (std::int64_t{1} << 31))
        return bad_input(m.id, "invalid_params",
                         "timeout_ms must be an integer from 1 to 2147483648");
      timeout_ms = t->get<std::int64_t>();
    }
    if (!timeout_ms && app_.cfg.default_task_timeout_ms > 0)
      timeout_ms = app_.cfg.default_task_timeout_ms;
    auto prepared = h->prepare(*params, app_.cfg);
    if (!prepared.body) return bad_input(m.id, prepared.rejected->code, prepared.rejected->message);

    auto t = app_.tasks.create(client_id_, std::string(h->name()), std::move(prepared.body),
                               h->pool(), app_.router);
    if (!t)
      return bad_input(m.id, "too_many_tasks",
                       "this client already has " + std::to_string(app_.cfg.max_tasks_per_client) +
                           " unfinished tasks (max_tasks_per_client)");
    app_.router.subscribe(t, this->weak_from_this());  // before the task can emit anything
    if (!app_.runner.start(t, timeout_ms)) {
      app_.router.forget(t);
      app_.tasks.discard(*t);
      return bad_input(m.id, "queue_full",
                       "too many tasks are waiting for a worker; try again later");
    }
    app_.stats.task_submitted(t->kind());
    log::info("task accepted",
              {{"client_id", client_id_}, {"task_id", t->id()}, {"task", t->kind()}});
    reply(protocol::accepted(m.id, t->id()));
  }

  std::shared_ptr<task> own_task(const protocol::client_message& m) {
    auto it = m.doc->find("task_id");
    if (it == m.doc->end() || !it->is_string()) {
      bad_input(m.id, "invalid_params", "task_id must be a string");
      return nullptr;
    }
    auto t = app_.tasks.find(client_id_, it->get<std::string>());
    if (!t)
      bad_input(m.id, "not_found", "no such task for this client (unknown, expired or not yours)");
    return t;
  }

  void on_cancel(const protocol::client_message& m) {
    auto t = own_task(m);
    if (!t) return;
    reply(protocol::ok(m.id));  // the ok goes ahead of the finished that the cancel causes
    if (!is_final(t->state())) {
      log::info("task cancel requested", {{"client_id", client_id_}, {"task_id", t->id()}});
      app_.runner.cancel(t, stop_reason::cancel);
    }
  }

  void on_tasks(const protocol::client_message& m) {
    std::vector<protocol::task_summary> out;
    for (const auto& t : app_.tasks.of_client(client_id_))
      out.push_back({t->id(), t->kind(), std::string(to_string(t->state())), t->last_seq()});
    reply(protocol::tasks_reply(m.id, out));
  }

  void on_resume(const protocol::client_message& m) {
    std::uint64_t after = 0;
    if (auto a = m.doc->find("after_seq"); a != m.doc->end() && !a->is_null()) {
      if (!protocol::is_integer(*a) || a->get<std::int64_t>() < 0)
        return bad_input(m.id, "invalid_params", "after_seq must be a non-negative integer");
      after = a->get<std::uint64_t>();
    }
    auto t = own_task(m);
    if (!t) return;
    app_.router.resume(t, this->weak_from_this(), after, make_frame(protocol::ok(m.id)));
  }

  // --- events and the write queue -----------------------------------------------------------
  struct handover {
    enum kind_t : std::uint8_t { live, replay, going_away } kind;
    std::uint64_t key;
    std::shared_ptr<const std::vector<event>> events;  // live
    std::vector<event> snapshot;                       // replay
    frame_ptr ok;                                      // replay
  };

  void hand_over(handover h) {
    {
      std::lock_guard lock(inbox_mu_);
      inbox_.push_back(std::move(h));
      if (inbox_posted_) return;
      inbox_posted_ = true;
    }
    net::post(ws_.get_executor(), [self = this->shared_from_this()] { self->take_inbox(); });
  }

  void take_inbox() {
    {
      std::lock_guard lock(inbox_mu_);
      taking_.swap(inbox_);
      inbox_posted_ = false;
    }
    for (auto& h : taking_) {
      switch (h.kind) {
        case handover::live:
          on_events(h.key, *h.events);
          break;
        case handover::replay:
          queue_replay(h.key, std::move(h.snapshot), std::move(h.ok));
          break;
        case handover::going_away:
          outbox_.push_close(static_cast<std::uint16_t>(websocket::close_code::going_away),
                             "server shutting down");
          break;
      }
    }
    taking_.clear();
    flush();
  }

  void on_events(std::uint64_t key, const std::vector<event>& events) {
    if (closed_) return;
    // A task whose replay is still being paced out: its live events go behind the replay, or
    // their higher seqs would make the session drop the replay's older ones.
    for (auto& r : replays_) {
      if (r.key != key) continue;
      // Started, items and finished are retained by the task anyway, so holding them costs a
      // pointer each; a progress replaces a held progress right behind it, so a fast ticker
      // cannot grow this list while the client reads the replay.
      for (const auto& ev : events) {
        bool replace = ev.kind == event_kind::progress && r.events.size() > r.next &&
                       r.events.back().kind == event_kind::progress;
        if (replace)
          r.events.back() = ev;
        else
          r.events.push_back(ev);
      }
      return;
    }
    for (const auto& ev : events)
      queue_event(key, ev);
  }

  void queue_event(std::uint64_t key, const event& ev) {
    auto& last = seen_[key];
    if (ev.seq <= last) return;  // already sent on this connection (a resume overlapped)
    last = ev.seq;
    push_event(ev.frame, key, ev.kind == event_kind::progress);
    if (ev.kind == event_kind::finished)
      finished_order_.push_back({key, std::chrono::steady_clock::now()});
  }

  void queue_replay(std::uint64_t key, std::vector<event> events, frame_ptr ok) {
    if (closed_) return;
    // A second resume of a task still being replayed shares that replay (seqs already queued
    // are dropped either way) and adds its ok; this bounds the snapshots one connection can
    // pile up to one per task.
    for (auto& r : replays_)
      if (r.key == key) {
        // The newer snapshot may start earlier; what it lacks is what was held since.
        if (!events.empty()) {
          auto newest = events.back().seq;
          for (auto i = r.next; i < r.events.size(); ++i)
            if (r.events[i].seq > newest) events.push_back(r.events[i]);
          r.events = std::move(events);
          r.next = 0;
        }
        r.oks.push_back(std::move(ok));
        return;
      }
    replays_.push_back({key, std::move(events), 0, {std::move(ok)}});
  }

  // A replay can be far larger than send_queue_bytes (every item of a big scan), and it is all
  // retained by the task already, so it is fed to the outbox as the client reads: up to a
  // quarter of the cap at a time, below the point where progress would be coalesced. And at
  // least a few events per write whatever the queue holds: live traffic of other tasks that
  // keeps the queue above that mark must not starve a replay (and the task's events held
  // behind it) for as long as it lasts.
  void pump_replays() {
    prune_seen();
    const std::size_t cap = app_.cfg.send_queue_bytes;
    const std::size_t low_water = cap / 4;
    constexpr int at_least = 16;
    for (int n = 0; !replays_.empty() && !outbox_.closing(); ++n) {
      auto& r = replays_.front();
      std::size_t next = r.next < r.events.size() ? r.events[r.next].frame->size() : 0;
      bool room = outbox_.bytes() < low_water ||
                  (n < at_least && outbox_.bytes() + next <= cap);  // never a 1008 of its own
      if (!room) break;
      if (r.next < r.events.size()) {
        queue_event(r.key, r.events[r.next++]);
        continue;
      }
      // The ok goes in the event lane so that it follows the replay.
      for (const auto& ok : r.oks)
        push_event(ok, 0, false);
      replays_.pop_front();
    }
  }

  // A finished task's last seq is kept for finished_ttl_s (as long as it can be resumed), so a
  // resume on this connection never repeats a seq; after that the entry goes.
  void prune_seen() {
    auto ttl = seconds(app_.cfg.finished_ttl_s);
    auto now = std::chrono::steady_clock::now();
    while (!finished_order_.empty() && now - finished_order_.front().second > ttl) {
      seen_.erase(finished_order_.front().first);
      finished_order_.pop_front();
    }
  }

  void push_event(const frame_ptr& frame, std::uint64_t key, bool is_progress) {
    auto r = outbox_.push_event(frame, key, is_progress);
    if (r == outbox::result::coalesced)
      app_.stats.events_coalesced.fetch_add(1, std::memory_order_relaxed);
    if (r == outbox::result::overflow) slow_consumer();
  }

  void reply(std::string text) {
    if (closed_) return;
    if (outbox_.push_reply(make_frame(std::move(text))) == outbox::result::overflow)
      return slow_consumer();
    flush();
  }

  void slow_consumer() {
    if (outbox_.closing()) return;
    app_.stats.slow_consumer_closes.fetch_add(1, std::memory_order_relaxed);
    log::warn("send queue over send_queue_bytes: closing 1008", {{"client_id", client_id_}});
    outbox_.clear();  // what it could not read is dropped
    replays_.clear();
    outbox_.push_close(static_cast<std::uint16_t>(websocket::close_code::policy_error),
                       "slow consumer");
    flush();
  }

  void flush() {
    if (writing_ || closed_) return;
    // Once Beast is closing (the client's close came in) no data frame may follow its close.
    if (!ws_.is_open()) return;
    pump_replays();
    // Every queued frame, up to a bound, leaves in one write: one syscall and one completion per
    // batch, not per event. Beast is bypassed for these frames only (it still reads, and writes
    // the control frames); whole_write_stream keeps a batch and a control frame from mixing.
    headers_.clear();
    buffers_.clear();
    batch_.clear();
    std::size_t bytes = 0;
    std::size_t events = 0;
    while (bytes < max_batch_bytes) {
      auto f = outbox_.pop();
      if (!f) break;
      bytes += f->data->size();
      events += f->is_event;
      batch_.push_back(std::move(f->data));
    }
    if (!batch_.empty()) {
      headers_.reserve(batch_.size());  // buffers_ points into it
      for (const auto& frame : batch_) {
        headers_.push_back(ws_frame::text_header(frame->size()));
        buffers_.push_back(net::buffer(headers_.back().bytes.data(), headers_.back().size));
        buffers_.push_back(net::buffer(*frame));
      }
      writing_ = true;
      // Counted as they are handed over, before a byte can reach the client: a client that has
      // read an event finds it counted in /metrics. (A batch whose write then fails is counted
      // too; the connection is gone with it.)
      app_.stats.frames_sent.fetch_add(batch_.size(), std::memory_order_relaxed);
      app_.stats.events_sent.fetch_add(events, std::memory_order_relaxed);
      // The layer copies the bytes before this returns: the frames can go at once.
      ws_.next_layer().async_write_some(
          buffers_,
          beast::bind_front_handler(&websocket_session::on_write, this->shared_from_this()));
      batch_.clear();
      return;
    }
    if (auto c = outbox_.pop_close()) {
      writing_ = true;
      ws_.async_close(
          websocket::close_reason(static_cast<websocket::close_code>(c->code), c->reason),
          beast::bind_front_handler(&websocket_session::on_close_sent, this->shared_from_this()));
    }
  }

  void on_write(error_code ec, std::size_t) {
    writing_ = false;
    if (ec) {
      closed_ = true;  // the read side reports the cause and leaves the hub
      return;
    }
    flush();
    // Going idle after a burst: the encoding vectors give their memory back.
    if (!writing_ && batch_.capacity() > 64) {
      decltype(batch_)().swap(batch_);
      decltype(headers_)().swap(headers_);
      decltype(buffers_)().swap(buffers_);
    }
  }

  void on_close_sent(error_code ec) {
    // writing_ stays set: nothing may be written after a close.
    if (ec) log::debug("close failed", {{"client_id", client_id_}, {"error", ec.message()}});
  }

  websocket::stream<whole_write_stream<Stream>> ws_;
  beast::flat_buffer buffer_;
  app_state& app_;
  const std::string client_id_;
  const std::unique_ptr<connection_limits::slot> slot_;
  std::string remote_;
  outbox outbox_;
  token_bucket bucket_;
  static constexpr std::size_t max_batch_bytes = 32 * 1024;
  std::vector<frame_ptr> batch_;  // the frames being encoded into one write
  std::vector<ws_frame::header> headers_;
  std::vector<net::const_buffer> buffers_;
  bool writing_ = false;  // one batch (or the close) in flight
  bool closed_ = false;   // the connection is gone; queue nothing more
  bool joined_ = false;
  std::unordered_map<std::uint64_t, std::uint64_t> seen_;  // task key -> last seq queued here
  // Boost's deques allocate nothing until used (an idle connection keeps its memory small).
  boost::container::deque<std::pair<std::uint64_t, std::chrono::steady_clock::time_point>>
      finished_order_;
  struct replay {
    std::uint64_t key;
    std::vector<event> events;  // the retained snapshot, then live events held behind it
    std::size_t next = 0;
    std::vector<frame_ptr> oks;  // one per resume that asked
  };
  boost::container::deque<replay>
      replays_;  // resumes being paced out, in the order they were asked

  // Handed over by the hub's strand; the only state of a session guarded by a mutex.
  std::mutex inbox_mu_;
  std::vector<handover> inbox_;
  bool inbox_posted_ = false;
  std::vector<handover> taking_;  // the strand's own, reused
};

}  // namespace

void start_websocket_session(beast::tcp_stream&& stream, http::request<http::string_body>&& req,
                             app_state& app, std::string client_id,
                             std::unique_ptr<connection_limits::slot> slot) {
  std::make_shared<websocket_session<beast::tcp_stream>>(std::move(stream), app,
                                                         std::move(client_id), std::move(slot))
      ->run(std::move(req));
}

void start_websocket_session(tls_stream&& stream, http::request<http::string_body>&& req,
                             app_state& app, std::string client_id,
                             std::unique_ptr<connection_limits::slot> slot) {
  std::make_shared<websocket_session<tls_stream>>(std::move(stream), app, std::move(client_id),
                                                  std::move(slot))
      ->run(std::move(req));
}

}  // namespace taskwire
