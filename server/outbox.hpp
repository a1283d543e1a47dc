// SPDX-License-Identifier: MIT
#pragma once
// One connection's queue of frames to send (Beast-free). Replies go ahead of task events, so an
// answer never waits behind a backlog of progress; task events keep their order. Bounded in
// bytes: above half the cap a task's queued progress is replaced by its newest one (a seq gap
// the contract allows for slow readers); item and finished are never dropped, and past the cap
// the push reports overflow (the session then closes 1008). A close is queued behind all frames.
#include <boost/container/deque.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

namespace taskwire {

class outbox {
 public:
  enum class result { queued, coalesced, overflow };

  struct frame {
    std::shared_ptr<const std::string> data;  // null: a coalesced-away progress
    std::uint64_t task_key = 0;               // progress only
    bool is_event = false;
    bool is_progress = false;
  };
  struct close_request {
    std::uint16_t code = 1000;
    std::string reason;
  };

  explicit outbox(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  result push_reply(std::shared_ptr<const std::string> data);
  result push_event(std::shared_ptr<const std::string> data, std::uint64_t task_key,
                    bool is_progress);
  // Queued after every frame pushed so far; frames pushed later are dropped.
  void push_close(std::uint16_t code, std::string reason);

  // Drops every queued frame (a connection being closed for falling behind).
  void clear();

  // The next frame to write, replies first; nullopt when none is queued.
  std::optional<frame> pop();
  // The close, once every frame before it has been popped.
  std::optional<close_request> pop_close();

  bool empty() const { return replies_.empty() && events_.size() == dead_; }
  bool closing() const { return closing_; }
  std::size_t bytes() const { return bytes_; }
  std::uint64_t coalesced() const { return coalesced_; }

 private:
  // A frame larger than the whole cap still goes through alone: a prompt reader of one big
  // item is not a slow consumer.
  bool fits(std::size_t n) const { return bytes_ == 0 || bytes_ + n <= max_bytes_; }

  const std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  // Boost's deque allocates nothing until used and can give everything back once empty
  // (std::deque keeps a block and its map): an idle connection should cost next to nothing.
  boost::container::deque<frame> replies_;
  boost::container::deque<frame> events_;
  std::size_t dead_ = 0;      // coalesced-away entries still in events_
  std::uint64_t popped_ = 0;  // events popped so far: turns positions into indexes
  std::unordered_map<std::uint64_t, std::uint64_t> progress_at_;  // task key -> event index
  std::uint64_t coalesced_ = 0;
  bool closing_ = false;
  std::optional<close_request> close_;
};

}  // namespace taskwire
