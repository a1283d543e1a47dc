// SPDX-License-Identifier: MIT
// The client's command line and how it shows a task, without a server or a terminal.
#include <gtest/gtest.h>

#include <map>

#include "client/cli_options.hpp"
#include "client/task_view.hpp"

namespace taskwire::cli {
namespace {

using namespace std::chrono_literals;

env_lookup env_of(std::map<std::string, std::string> m) {
  return [m](const std::string& k) -> std::optional<std::string> {
    auto it = m.find(k);
    return it == m.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

cli_options parse(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  return parse_args(args, env_of(std::move(env)));
}

TEST(CliOptions, GlobalOptionsGoBeforeOrAfterTheCommand) {
  auto a = parse({"--url", "ws://h:1/ws", "--json", "tick", "20"});
  auto b = parse({"tick", "20", "--url=ws://h:1/ws", "--json"});
  for (const auto& o : {a, b}) {
    EXPECT_EQ(o.cmd, command::tick);
    EXPECT_EQ(o.url, "ws://h:1/ws");
    EXPECT_TRUE(o.json);
    EXPECT_EQ(o.count, 20);
  }
}

TEST(CliOptions, CommandsTakeTheirOwnOptionsOnly) {
  auto s = parse({"scan", "checkpoints", "--hash", "--no-metadata", "--root", "models"});
  EXPECT_EQ(s.args, std::vector<std::string>{"checkpoints"});
  EXPECT_TRUE(s.hash);
  EXPECT_FALSE(s.metadata);
  EXPECT_EQ(s.root, "models");
  EXPECT_THROW(parse({"tick", "3", "--hash"}), usage_error);
  EXPECT_THROW(parse({"hash", "a", "--interval-ms", "5"}), usage_error);
  EXPECT_THROW(parse({"tasks", "--no-metadata"}), usage_error);
}

TEST(CliOptions, OperandsAreCheckedPerCommand) {
  EXPECT_THROW(parse({}), usage_error);
  EXPECT_THROW(parse({"frob"}), usage_error);
  EXPECT_THROW(parse({"tick"}), usage_error);
  EXPECT_THROW(parse({"tick", "-1"}), usage_error);
  EXPECT_THROW(parse({"tick", "1000001"}), usage_error);
  EXPECT_THROW(parse({"tick", "1", "2"}), usage_error);
  EXPECT_THROW(parse({"hash"}), usage_error);
  EXPECT_THROW(parse({"cancel"}), usage_error);
  EXPECT_THROW(parse({"scan", "a", "b"}), usage_error);
  EXPECT_THROW(parse({"watch", "a", "b"}), usage_error);
  EXPECT_EQ(parse({"hash", "a", "b", "c"}).args.size(), 3u);
  EXPECT_TRUE(parse({"watch"}).args.empty());
  // After --, a leading dash is a file name, not an option.
  EXPECT_EQ(parse({"hash", "--", "-odd-name"}).args, std::vector<std::string>{"-odd-name"});
}

TEST(CliOptions, BadValuesAreUsageErrors) {
  EXPECT_THROW(parse({"tick", "5", "--interval-ms"}), usage_error);
  EXPECT_THROW(parse({"tick", "5", "--interval-ms", "fast"}), usage_error);
  EXPECT_THROW(parse({"tick", "5", "--timeout-ms", "0"}), usage_error);
  EXPECT_THROW(parse({"tasks", "--json=yes"}), usage_error);
  EXPECT_THROW(parse({"tasks", "--url", "http://h/ws"}), usage_error);
  EXPECT_THROW(parse({"tasks", "--client-id", "has space"}), usage_error);
  EXPECT_THROW(parse({"tasks", "--reconnect-s", "-1"}), usage_error);
}

TEST(CliOptions, TheEnvironmentGivesDefaultsThatFlagsOverride) {
  auto o = parse(
      {"tasks"},
      {{"TASKWIRE_URL", "wss://e:9/ws"}, {"TASKWIRE_TOKEN", "t0k"}, {"USER", "ada lovelace"}});
  EXPECT_EQ(o.url, "wss://e:9/ws");
  EXPECT_EQ(o.token, "t0k");
  EXPECT_EQ(o.client_id, "cli-ada_lovelace") << "one id per user, made valid";
  auto f = parse({"tasks", "--token", "flag", "--client-id", "me"},
                 {{"TASKWIRE_TOKEN", "env"}, {"TASKWIRE_CLIENT_ID", "env-id"}});
  EXPECT_EQ(f.token, "flag");
  EXPECT_EQ(f.client_id, "me");
  EXPECT_EQ(parse({"tasks"}, {{"TASKWIRE_CLIENT_ID", "env-id"}}).client_id, "env-id");
  EXPECT_EQ(parse({"tasks"}).client_id, "cli");
}

TEST(CliOptions, HelpAndVersionNeedNothingElse) {
  EXPECT_EQ(parse({"--help"}).cmd, command::help);
  EXPECT_EQ(parse({"tick", "--help"}).cmd, command::help);
  EXPECT_EQ(parse({"--version"}).cmd, command::version);
  EXPECT_NE(usage_text().find("Exit codes"), std::string::npos);
}

TEST(TaskView, FormatsSizesCountsAndDurations) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1536), "1.50 KiB");
  EXPECT_EQ(format_bytes(5.5 * 1024 * 1024 * 1024), "5.50 GiB");
  EXPECT_EQ(format_count(999), "999");
  EXPECT_EQ(format_count(12345), "12.3k");
  EXPECT_EQ(format_count(7200000000.0), "7.2G");
  EXPECT_EQ(format_duration(0.25), "0.2 s");
  EXPECT_EQ(format_duration(42), "42 s");
  EXPECT_EQ(format_duration(185), "3m05s");
  EXPECT_EQ(format_duration(7620), "2h07m");
}

TEST(TaskView, AProgressLineShowsTheBarTheCountsTheRateAndTheEta) {
  task_view t;
  t.task_id = "t-1";
  t.kind = "ticker";
  t.label = "tick 100";
  auto t0 = steady::time_point{} + 1h;
  EXPECT_NE(progress_line(t, 80, t0).find("waiting to start"), std::string::npos);
  t.apply({{"type", "started"}, {"seq", 1}}, t0);
  t.apply({{"type", "progress"}, {"seq", 2}, {"done", 10}, {"total", 100}}, t0);
  t.apply({{"type", "progress"}, {"seq", 3}, {"done", 30}, {"total", 100}}, t0 + 1s);
  EXPECT_DOUBLE_EQ(t.rate, 20);
  auto line = progress_line(t, 100, t0 + 1s);
  EXPECT_NE(line.find("[#########---------------------]"), std::string::npos) << line;
  EXPECT_NE(line.find("30%  30/100"), std::string::npos) << line;
  EXPECT_NE(line.find("20 ticks/s"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA 3.5 s"), std::string::npos) << line;
  EXPECT_LE(progress_line(t, 40, t0 + 1s).size(), 40u) << "fits the terminal";
}

TEST(TaskView, HashProgressIsInBytesAndAScanWithoutTotalCounts) {
  task_view h;
  h.kind = "hash_files";
  h.label = "hash big.bin";
  auto t0 = steady::time_point{} + 1h;
  h.apply({{"type", "progress"}, {"seq", 2}, {"done", 1 << 20}, {"total", 4 << 20}}, t0);
  EXPECT_NE(progress_line(h, 100, t0).find("1.00 MiB/4.00 MiB"), std::string::npos)
      << progress_line(h, 100, t0);

  task_view s;
  s.kind = "scan_models";
  s.label = "scan models";
  s.apply({{"type", "progress"},
           {"seq", 2},
           {"done", 12},
           {"total", nullptr},
           {"file", "big.gguf"},
           {"file_bytes_done", 50},
           {"file_bytes", 200}},
          t0);
  auto line = progress_line(s, 120, t0);
  EXPECT_NE(line.find("12 entries"), std::string::npos) << line;
  EXPECT_NE(line.find("hashing big.gguf 25%"), std::string::npos) << line;
}

TEST(TaskView, ItemsReadLikeAListingAndHashesLikeSha256sum) {
  task_view h;
  h.kind = "hash_files";
  EXPECT_EQ(item_line(h, {{"path", "a.bin"}, {"sha256", "abc"}}), "abc  a.bin");
  task_view s;
  s.kind = "scan_models";
  EXPECT_EQ(item_line(s, {{"path", "llm/x.gguf"},
                          {"format", "gguf"},
                          {"size", 2048},
                          {"parameters", 7000000000.0},
                          {"architecture", "llama"},
                          {"sha256", "0123456789abcdef0123"},
                          {"cached", true}}),
            "llm/x.gguf  gguf  2.00 KiB  7.0G params  llama  sha256 0123456789abcdef  (cached)");
  EXPECT_EQ(item_line(s, {{"path", "bad.gguf"}, {"error", "truncated header"}}),
            "bad.gguf  error: truncated header");
  task_view k;
  k.kind = "ticker";
  EXPECT_EQ(item_line(k, {{"path", "x"}}), "");
}

TEST(TaskView, TheSummarySaysHowItEnded) {
  task_view t;
  t.task_id = "t-9";
  t.kind = "scan_models";
  t.label = "scan models";
  t.apply({{"type", "finished"},
           {"seq", 9},
           {"status", "succeeded"},
           {"result", {{"files", 3}, {"bytes", 3072}, {"errors", 1}, {"cached", 2}}},
           {"error", nullptr},
           {"elapsed_ms", 1500}},
          steady::now());
  EXPECT_EQ(t.status(), "succeeded");
  EXPECT_EQ(summary_line(t),
            "scan models: done (3 files, 3.00 KiB, 1 errors, 2 from the cache in 1.5 s)  [t-9]");
  task_view f;
  f.task_id = "t-8";
  f.kind = "ticker";
  f.label = "tick 5";
  f.apply({{"type", "finished"},
           {"seq", 4},
           {"status", "failed"},
           {"result", nullptr},
           {"error", {{"code", "timeout"}, {"message", "ran out of time"}}},
           {"elapsed_ms", 100}},
          steady::now());
  EXPECT_EQ(summary_line(f), "tick 5: failed (timeout: ran out of time in 0.1 s)  [t-8]");
}

}  // namespace
}  // namespace taskwire::cli
