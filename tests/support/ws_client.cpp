// SPDX-License-Identifier: MIT
#include "support/ws_client.hpp"

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/beast/core/buffers_to_string.hpp>

#include "server/net.hpp"

namespace taskwire::test {
namespace {

tcp::endpoint local(std::uint16_t port) {
  return {net::ip::make_address("127.0.0.1"), port};
}

}  // namespace

bool wait_metric(std::uint16_t port, const std::string& name, const std::string& value,
                 std::chrono::seconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  std::string line = "\n" + name + " " + value + "\n";
  while (std::chrono::steady_clock::now() < until) {
    if (http_get(port, "/metrics").body.find(line) != std::string::npos) return true;
    std::this_thread::sleep_for(20ms);  // the poll interval; the condition above is the sync
  }
  return false;
}

http_result http_get(std::uint16_t port, const std::string& target,
                     const std::map<std::string, std::string>& headers) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(local(port));
  http::request<http::empty_body> req(http::verb::get, target, 11);
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers)
    req.set(k, v);
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res);
  http_result out{static_cast<int>(res.result_int()), res.body(), {}};
  for (const auto& f : res)
    out.headers[std::string(f.name_string())] = std::string(f.value());
  error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return out;
}

int upgrade_status(std::uint16_t port, const std::string& target,
                   const std::map<std::string, std::string>& headers) {
  net::io_context ioc;
  websocket::stream<beast::tcp_stream> ws(ioc);
  beast::get_lowest_layer(ws).connect(local(port));
  ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
    for (const auto& [k, v] : headers)
      req.set(k, v);
  }));
  websocket::response_type res;
  error_code ec;
  ws.handshake(res, "127.0.0.1", target, ec);
  return static_cast<int>(res.result_int());
}

struct ws_client::impl {
  net::io_context ioc;
  // Keeps run() going while reading is paused and nothing else is pending.
  net::executor_work_guard<net::io_context::executor_type> work{ioc.get_executor()};
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer buffer;
  std::thread thread;

  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> frames;
  bool closed = false;
  std::optional<std::uint16_t> close_code;
  std::string reason;

  // io thread only
  bool paused = false;
  bool parked = false;  // a read is due but was held back by pause
  struct out_frame {
    std::string data;
    bool text;
    bool fin;  // false: a fragment, more of the message follows
  };
  std::deque<out_frame> out;
  bool writing = false;

  void do_read() {
    ws.async_read(buffer, [this](error_code ec, std::size_t) {
      std::lock_guard lock(mu);
      if (ec) {
        closed = true;
        if (ec == websocket::error::closed) {
          close_code = ws.reason().code;
          reason = std::string(ws.reason().reason.data(), ws.reason().reason.size());
        }
        cv.notify_all();
        return;
      }
      frames.push_back(beast::buffers_to_string(buffer.data()));
      buffer.consume(buffer.size());
      cv.notify_all();
      if (paused) {
        parked = true;
        return;
      }
      do_read();
    });
  }

  void enqueue(std::string data, bool text, bool fin = true) {
    net::post(ioc, [this, data = std::move(data), text, fin]() mutable {
      out.push_back({std::move(data), text, fin});
      do_write();
    });
  }

  void do_write() {
    if (writing || out.empty()) return;
    writing = true;
    ws.text(out.front().text);
    ws.async_write_some(out.front().fin, net::buffer(out.front().data),
                        [this](error_code ec, std::size_t) {
                          writing = false;
                          out.pop_front();
                          if (!ec) do_write();
                        });
  }
};

ws_client::ws_client(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

std::unique_ptr<ws_client> ws_client::connect(std::uint16_t port, const std::string& target,
                                              const std::map<std::string, std::string>& headers) {
  auto p = std::make_unique<impl>();
  beast::get_lowest_layer(p->ws).connect(local(port));
  p->ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
    for (const auto& [k, v] : headers)
      req.set(k, v);
  }));
  p->ws.handshake("127.0.0.1", target);
  p->ws.read_message_max(64 << 20);
  auto* raw = p.get();
  raw->do_read();
  raw->thread = std::thread([raw] { raw->ioc.run(); });
  return std::unique_ptr<ws_client>(new ws_client(std::move(p)));
}

ws_client::~ws_client() {
  net::post(impl_->ioc, [p = impl_.get()] {
    error_code ec;
    beast::get_lowest_layer(p->ws).socket().close(ec);
    p->work.reset();
  });
  impl_->thread.join();
}

void ws_client::send_text(std::string text) {
  impl_->enqueue(std::move(text), true);
}
void ws_client::send_binary(std::string data) {
  impl_->enqueue(std::move(data), false);
}

void ws_client::send_fragments(const std::vector<std::string>& parts) {
  for (std::size_t i = 0; i < parts.size(); ++i)
    impl_->enqueue(parts[i], true, i + 1 == parts.size());
}

std::optional<nlohmann::json> ws_client::next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu);
  if (!impl_->cv.wait_for(lock, timeout, [&] { return !impl_->frames.empty() || impl_->closed; }))
    return std::nullopt;
  if (impl_->frames.empty()) return std::nullopt;
  auto text = std::move(impl_->frames.front());
  impl_->frames.pop_front();
  return nlohmann::json::parse(text);
}

std::optional<nlohmann::json> ws_client::next_of(const std::string& type,
                                                 std::optional<std::string> id,
                                                 std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto j = next(left);
    if (!j) return std::nullopt;
    if (j->value("type", "") == type && (!id || j->value("id", "") == *id)) return j;
  }
}

std::optional<std::uint16_t> ws_client::wait_closed(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu);
  if (!impl_->cv.wait_for(lock, timeout, [&] { return impl_->closed; })) return std::nullopt;
  return impl_->close_code.value_or(0);
}

std::string ws_client::close_reason() const {
  std::lock_guard lock(impl_->mu);
  return impl_->reason;
}

void ws_client::pause_reading() {
  std::promise<void> done;
  net::post(impl_->ioc, [p = impl_.get(), &done] {
    p->paused = true;
    done.set_value();
  });
  done.get_future().wait();
}

void ws_client::resume_reading() {
  net::post(impl_->ioc, [p = impl_.get()] {
    p->paused = false;
    if (p->parked) {
      p->parked = false;
      p->do_read();
    }
  });
}

void ws_client::drop() {
  net::post(impl_->ioc, [p = impl_.get()] {
    error_code ec;
    beast::get_lowest_layer(p->ws).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(p->ws).socket().close(ec);
  });
  wait_closed(5s);
}

void ws_client::close() {
  net::post(impl_->ioc, [p = impl_.get()] {
    p->ws.async_close(websocket::close_code::normal, [](error_code) {});
  });
  wait_closed(5s);
}

std::string submit_error(ws_client& c, const std::string& task, const nlohmann::json& params) {
  c.send_json({{"type", "submit"}, {"id", "refused?"}, {"task", task}, {"params", params}});
  for (;;) {
    auto r = c.next();
    if (!r) return "";
    if (r->value("id", "") != "refused?") continue;
    return r->at("type") == "error" ? r->at("code").get<std::string>() : "";
  }
}

std::string submit(ws_client& c, const nlohmann::json& params, const std::string& task,
                   const std::string& id) {
  c.send_json({{"type", "submit"}, {"id", id}, {"task", task}, {"params", params}});
  auto r = c.next_of("accepted", id);
  if (!r) return {};
  return r->at("task_id").get<std::string>();
}

}  // namespace taskwire::test
