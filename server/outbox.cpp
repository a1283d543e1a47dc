// SPDX-License-Identifier: MIT
#include "server/outbox.hpp"

namespace taskwire {

outbox::result outbox::push_reply(std::shared_ptr<const std::string> data) {
  if (closing_) return result::queued;
  if (!fits(data->size())) return result::overflow;
  bytes_ += data->size();
  replies_.push_back({std::move(data), 0, false, false});
  return result::queued;
}

outbox::result outbox::push_event(std::shared_ptr<const std::string> data, std::uint64_t task_key,
                                  bool is_progress) {
  if (closing_) return result::queued;
  auto size = data->size();
  result r = result::queued;
  bool track = is_progress && bytes_ + size > max_bytes_ / 2;
  if (track) {
    // Only progress pushed above the high-water mark is tracked: below it nothing coalesces.
    auto it = progress_at_.find(task_key);
    if (it != progress_at_.end()) {
      auto& old = events_[static_cast<std::size_t>(it->second - popped_)];
      bytes_ -= old.data->size();
      old.data.reset();
      ++dead_;
      ++coalesced_;
      progress_at_.erase(it);
      r = result::coalesced;
    }
  }
  if (!fits(size)) return result::overflow;
  if (track) progress_at_[task_key] = popped_ + events_.size();
  bytes_ += size;
  events_.push_back({std::move(data), task_key, true, is_progress});
  return r;
}

void outbox::push_close(std::uint16_t code, std::string reason) {
  if (closing_) return;
  closing_ = true;
  close_ = close_request{code, std::move(reason)};
}

void outbox::clear() {
  replies_.clear();
  events_.clear();
  progress_at_.clear();
  popped_ = 0;
  dead_ = 0;
  bytes_ = 0;
}

std::optional<outbox::frame> outbox::pop() {
  if (!replies_.empty()) {
    frame f = std::move(replies_.front());
    replies_.pop_front();
    if (replies_.empty()) replies_.shrink_to_fit();
    bytes_ -= f.data->size();
    return f;
  }
  while (!events_.empty()) {
    frame f = std::move(events_.front());
    events_.pop_front();
    if (events_.empty()) events_.shrink_to_fit();
    auto index = popped_++;
    if (!f.data) {
      --dead_;
      continue;
    }
    if (f.is_progress) {
      auto it = progress_at_.find(f.task_key);
      if (it != progress_at_.end() && it->second == index) progress_at_.erase(it);
    }
    bytes_ -= f.data->size();
    return f;
  }
  return std::nullopt;
}

std::optional<outbox::close_request> outbox::pop_close() {
  if (!empty() || !close_) return std::nullopt;
  auto c = std::move(close_);
  close_.reset();
  return c;
}

}  // namespace taskwire
