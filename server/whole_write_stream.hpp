// SPDX-License-Identifier: MIT
#pragma once
// A layer under the WebSocket stream that puts every write on the socket whole and in the order
// it was taken. The session sends its event frames as one pre-encoded batch per write, straight
// through this layer (one syscall per batch, not per event), while Beast still writes its own
// control frames (pong, close) and the handshake through it; since no write can be interleaved
// with another, a control frame only ever lands between two batches, never inside a frame.
//
// A write completes when its bytes have been handed to the socket, as it would without the layer:
// nothing is buffered here beyond the writes in flight, so the session's send queue (and its
// slow-consumer rule) still sees a socket that does not drain. Writes taken while one is on the
// wire go out together in the next one.
//
// Everything here runs on the connection's strand: Beast and the session call it there, and the
// physical write completes on the next layer's executor, which is that strand.
// Included by websocket_session.cpp only.
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <boost/container/deque.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "server/net.hpp"

namespace taskwire {

template <class NextLayer>
class whole_write_stream {
 public:
  using executor_type = typename NextLayer::executor_type;
  using next_layer_type = NextLayer;

 private:
  using write_handler = net::any_completion_handler<void(error_code, std::size_t)>;

  struct waiter {
    write_handler handler;
    std::uint64_t end;  // the write is done once `written` reaches this
    std::size_t size;
  };

  // Shared with the physical write's handler, which can outlive the stream (a session that ends
  // while its last write completes).
  struct state {
    explicit state(executor_type e) : ex(std::move(e)) {}
    executor_type ex;
    std::string pending;    // taken, not yet on the wire
    std::string in_flight;  // the physical write under way
    bool writing = false;
    std::uint64_t taken = 0;    // bytes taken since the start
    std::uint64_t written = 0;  // of which handed to the socket
    error_code failed;
    boost::container::deque<waiter> waiting;  // emptied after every write: given back then
  };

 public:
  explicit whole_write_stream(NextLayer&& next)
      : next_(std::move(next)), st_(std::make_shared<state>(next_.get_executor())) {}
  // A physical write in flight refers to next_ by address.
  whole_write_stream(whole_write_stream&&) = delete;
  whole_write_stream& operator=(whole_write_stream&&) = delete;

  executor_type get_executor() noexcept { return next_.get_executor(); }
  NextLayer& next_layer() noexcept { return next_; }
  const NextLayer& next_layer() const noexcept { return next_; }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return next_.async_read_some(buffers, std::forward<Token>(token));
  }

  // Takes the whole buffer sequence; completes with its full size once it is on the socket.
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return net::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& b) { take(write_handler(std::move(handler)), b); },
        token, buffers);
  }

 private:
  template <class ConstBuffers>
  void take(write_handler handler, const ConstBuffers& buffers) {
    auto& s = *st_;
    std::size_t n = net::buffer_size(buffers);
    if (s.failed) return post_to(s.ex, std::move(handler), s.failed, 0);
    s.pending.reserve(s.pending.size() + n);
    for (auto b : beast::buffers_range_ref(buffers))  // append, not resize + copy: no memset
      s.pending.append(static_cast<const char*>(b.data()), b.size());
    s.taken += n;
    s.waiting.push_back({std::move(handler), s.taken, n});
    if (!s.writing) start(st_, next_);
  }

  static void start(const std::shared_ptr<state>& st, NextLayer& next) {
    auto& s = *st;
    s.in_flight.swap(s.pending);
    s.pending.clear();
    s.writing = true;
    net::async_write(next, net::buffer(s.in_flight),
                     [st, &next](error_code ec, std::size_t) { on_written(st, next, ec); });
  }

  static void on_written(const std::shared_ptr<state>& st, NextLayer& next, error_code ec) {
    auto& s = *st;
    s.writing = false;
    if (ec) {
      s.failed = ec;
      s.pending.clear();
      while (!s.waiting.empty()) {
        post_to(s.ex, std::move(s.waiting.front().handler), ec, 0);
        s.waiting.pop_front();
      }
      return;
    }
    s.written += s.in_flight.size();
    while (!s.waiting.empty() && s.waiting.front().end <= s.written) {
      auto& w = s.waiting.front();
      post_to(s.ex, std::move(w.handler), {}, w.size);
      s.waiting.pop_front();
    }
    if (s.waiting.empty()) {
      s.waiting.shrink_to_fit();
      // An idle connection keeps no write buffer either (a hello costs one allocation).
      if (s.pending.empty()) std::string().swap(s.in_flight);
    }
    // Whatever was taken meanwhile: its waiters keep the stream (and so `next`) alive.
    if (!s.pending.empty()) start(st, next);
  }

  // Never from inside the caller's own initiating function; net::post runs the handler on its
  // associated executor (the session's strand).
  static void post_to(const executor_type& ex, write_handler handler, error_code ec,
                      std::size_t n) {
    net::post(ex, beast::bind_handler(std::move(handler), ec, n));
  }

  NextLayer next_;
  std::shared_ptr<state> st_;
};

template <class NextLayer>
void teardown(beast::role_type role, whole_write_stream<NextLayer>& s, error_code& ec) {
  using beast::websocket::teardown;
  teardown(role, s.next_layer(), ec);
}

// The close frame has been written by the time Beast tears down (its write completed), so the
// next layer can be shut down at once.
template <class NextLayer, class Handler>
void async_teardown(beast::role_type role, whole_write_stream<NextLayer>& s, Handler&& handler) {
  using beast::websocket::async_teardown;
  async_teardown(role, s.next_layer(), std::forward<Handler>(handler));
}

}  // namespace taskwire
