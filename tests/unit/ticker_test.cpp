// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "handlers/registry.hpp"

namespace taskwire {
namespace {

using nlohmann::json;

class fake_context : public task_context {
 public:
  void progress(std::uint64_t done, std::optional<std::uint64_t> total, const json*) override {
    ticks.emplace_back(done, total.value_or(0));
    if (stop_after && ticks.size() == stop_after) src.request_stop();
  }
  void item(const json&) override {}
  std::stop_token stop_token() const override { return src.get_token(); }
  void parallel(std::size_t, const std::function<void()>& work) override { work(); }

  std::vector<std::pair<std::uint64_t, std::uint64_t>> ticks;
  std::size_t stop_after = 0;
  std::stop_source src;
};

prepared_job prepare(const json& params) {
  static auto handlers = builtin_handlers();
  return handlers.find("ticker")->prepare(params, config{});
}

TEST(Ticker, ValidatesEveryParam) {
  EXPECT_TRUE(prepare({{"count", 0}}).body);
  EXPECT_TRUE(prepare({{"count", 1000000}, {"interval_ms", 60000}, {"fail_at", 1000000}}).body);
  EXPECT_TRUE(prepare({{"count", 3}, {"fail_at", nullptr}}).body) << "null means absent";
  for (const json& bad :
       {json::object(), json{{"count", -1}}, json{{"count", 1000001}}, json{{"count", "3"}},
        json{{"count", 3.0}}, json{{"count", false}}, json{{"count", 3}, {"interval_ms", -1}},
        json{{"count", 3}, {"interval_ms", 60001}}, json{{"count", 3}, {"fail_at", 0}},
        json{{"count", 3}, {"fail_at", 4}}, json{{"count", 0}, {"fail_at", 1}}}) {
    auto p = prepare(bad);
    EXPECT_FALSE(p.body) << bad.dump();
    ASSERT_TRUE(p.rejected) << bad.dump();
    EXPECT_EQ(p.rejected->code, "invalid_params");
  }
}

TEST(Ticker, CountsToNInOneStepWithoutAnInterval) {
  fake_context ctx;
  auto s = prepare({{"count", 4}}).body->run(ctx);
  EXPECT_EQ(s.what, step::outcome::finished);
  EXPECT_EQ(json::parse(s.result_json), (json{{"ticks", 4}}));
  ASSERT_EQ(ctx.ticks.size(), 4u);
  EXPECT_EQ(ctx.ticks.back(), (std::pair<std::uint64_t, std::uint64_t>{4, 4}));
}

TEST(Ticker, WithAnIntervalEachTickIsAStepAfterExactlyOneWait) {
  // count 3 at 250 ms: wait, tick, wait, tick, wait, tick, done. Each tick once took two
  // waits, so a ticker ran twice as long as count x interval_ms.
  fake_context ctx;
  auto job = prepare({{"count", 3}, {"interval_ms", 250}}).body;
  auto s = job->run(ctx);
  EXPECT_EQ(s.what, step::outcome::again);
  EXPECT_EQ(s.delay, std::chrono::milliseconds(250));
  EXPECT_TRUE(ctx.ticks.empty()) << "the first tick comes after one interval";
  for (std::size_t tick = 1; tick <= 3; ++tick) {
    s = job->run(ctx);
    EXPECT_EQ(ctx.ticks.size(), tick) << "every step after the first wait ticks";
    if (tick < 3) {
      EXPECT_EQ(s.what, step::outcome::again);
      EXPECT_EQ(s.delay, std::chrono::milliseconds(250));
    }
  }
  EXPECT_EQ(s.what, step::outcome::finished);
}

TEST(Ticker, StopsBetweenTicks) {
  fake_context ctx;
  ctx.stop_after = 3;
  auto s = prepare({{"count", 100}}).body->run(ctx);
  EXPECT_EQ(s.what, step::outcome::stopped);
  EXPECT_EQ(ctx.ticks.size(), 3u);
}

TEST(Ticker, FailAtThrowsTaskFailedAfterKMinusOneTicks) {
  fake_context ctx;
  auto job = prepare({{"count", 10}, {"fail_at", 3}}).body;
  try {
    job->run(ctx);
    FAIL() << "no failure";
  } catch (const task_failure& f) {
    EXPECT_EQ(f.code(), "task_failed");
  }
  EXPECT_EQ(ctx.ticks.size(), 2u);
}

}  // namespace
}  // namespace taskwire
