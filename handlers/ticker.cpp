// SPDX-License-Identifier: MIT
#include "handlers/ticker.hpp"

#include <nlohmann/json.hpp>

#include "handlers/params.hpp"

namespace taskwire {
namespace {

class ticker_job final : public job {
 public:
  ticker_job(std::uint64_t count, std::chrono::milliseconds interval, std::uint64_t fail_at)
      : count_(count), interval_(interval), fail_at_(fail_at) {}

  // Without an interval the ticks run in one go; with one, each tick is its own step and the
  // wait before it is the runner's timer, so a sleeping ticker holds no worker thread. The step
  // that ticks asks for the next wait itself: one interval per tick, as the protocol says.
  step run(task_context& ctx) override {
    if (interval_.count() > 0) {
      if (next_ > count_) return step::finished({{"ticks", count_}});
      if (!first_wait_done_) {
        first_wait_done_ = true;
        return step::again(interval_);
      }
      if (ctx.stop_requested()) return step::stopped();
      tick(ctx);
      return next_ > count_ ? step::finished({{"ticks", count_}}) : step::again(interval_);
    }
    while (next_ <= count_) {
      if (ctx.stop_requested()) return step::stopped();
      tick(ctx);
    }
    return step::finished({{"ticks", count_}});
  }

 private:
  void tick(task_context& ctx) {
    if (next_ == fail_at_)
      throw task_failure("task_failed",
                         "ticker failed at tick " + std::to_string(next_) + " (fail_at)");
    ctx.progress(next_, count_);
    ++next_;
  }

  const std::uint64_t count_;
  const std::chrono::milliseconds interval_;
  const std::uint64_t fail_at_;  // 0: never
  std::uint64_t next_ = 1;
  bool first_wait_done_ = false;
};

class ticker_handler final : public handler {
 public:
  std::string_view name() const override { return "ticker"; }
  pool_kind pool() const override { return pool_kind::io; }

  prepared_job prepare(const nlohmann::json& params, const config&) const override {
    param_reader p(params);
    auto count = p.integer("count", 0, 1'000'000);
    auto interval = p.integer("interval_ms", 0, 60'000, 0);
    auto fail_at = p.optional_integer("fail_at", 1, std::max<std::int64_t>(count, 1));
    if (p.ok() && fail_at && *fail_at > count)
      return reject("invalid_params", "fail_at must be between 1 and count");
    if (!p.ok()) return reject("invalid_params", p.error());
    return {std::make_unique<ticker_job>(static_cast<std::uint64_t>(count),
                                         std::chrono::milliseconds(interval),
                                         static_cast<std::uint64_t>(fail_at.value_or(0))),
            std::nullopt};
  }
};

}  // namespace

std::unique_ptr<handler> make_ticker_handler() {
  return std::make_unique<ticker_handler>();
}

}  // namespace taskwire
