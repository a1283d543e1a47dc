// SPDX-License-Identifier: MIT
#pragma once
// A token bucket: `rate` messages per second on average, bursts of up to `burst`.
#include <algorithm>
#include <chrono>

namespace taskwire {

class token_bucket {
 public:
  using clock = std::chrono::steady_clock;

  token_bucket(double rate, double burst)
      : rate_(rate), burst_(burst), tokens_(burst), last_(clock::now()) {}

  bool take(clock::time_point now = clock::now()) {
    tokens_ =
        std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * rate_);
    last_ = now;
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

 private:
  const double rate_, burst_;
  double tokens_;
  clock::time_point last_;
};

}  // namespace taskwire
