// SPDX-License-Identifier: MIT
#pragma once
// max_connections and max_connections_per_ip, counted from the upgrade check to the session's
// end. A slot is taken before the upgrade (so two racing upgrades cannot both slip past the
// limit) and given back by the session's destructor, whatever way it ended.
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace taskwire {

class connection_limits : public std::enable_shared_from_this<connection_limits> {
 public:
  connection_limits(std::size_t max_total, std::size_t max_per_ip)
      : max_total_(max_total), max_per_ip_(max_per_ip) {}

  class slot {
   public:
    slot(std::shared_ptr<connection_limits> owner, std::string ip)
        : owner_(std::move(owner)), ip_(std::move(ip)) {}
    ~slot() {
      if (owner_) owner_->release(ip_);
    }
    slot(const slot&) = delete;
    slot& operator=(const slot&) = delete;

   private:
    std::shared_ptr<connection_limits> owner_;
    std::string ip_;
  };

  // nullptr when a limit is reached.
  std::unique_ptr<slot> try_acquire(const std::string& ip) {
    std::lock_guard lock(mu_);
    auto& mine = per_ip_[ip];
    if (total_ >= max_total_ || mine >= max_per_ip_) {
      if (mine == 0) per_ip_.erase(ip);
      return nullptr;
    }
    ++total_;
    ++mine;
    return std::make_unique<slot>(shared_from_this(), ip);
  }

  std::size_t total() const {
    std::lock_guard lock(mu_);
    return total_;
  }

 private:
  void release(const std::string& ip) {
    std::lock_guard lock(mu_);
    --total_;
    if (--per_ip_[ip] == 0) per_ip_.erase(ip);
  }

  const std::size_t max_total_, max_per_ip_;
  mutable std::mutex mu_;
  std::size_t total_ = 0;
  std::unordered_map<std::string, std::size_t> per_ip_;
};

}  // namespace taskwire
