// SPDX-License-Identifier: MIT
// The `taskwire` binary against a real server, as a user or a script runs it: what it prints,
// its exit codes, Ctrl-C, a dropped connection, a terminal.
#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "handlers/model_writer.hpp"
#include "server/net.hpp"
#include "support/child_process.hpp"
#include "support/tcp_proxy.hpp"
#include "support/test_server.hpp"

namespace taskwire::test {
namespace {

using json = nlohmann::json;

std::string url(std::uint16_t port) {
  return "ws://127.0.0.1:" + std::to_string(port) + "/ws";
}

child_process::options with_env(std::map<std::string, std::string> env) {
  child_process::options o;
  o.env = std::move(env);
  return o;
}

child_process::options on_terminal() {
  child_process::options o;
  o.terminal = true;
  return o;
}

struct cli_run {
  std::optional<int> status;
  std::vector<json> frames;  // stdout, one JSON message per line
  std::string out, err;
};

// The JSON lines of the CLI's stdout.
std::vector<json> frames_of(const std::string& out) {
  std::vector<json> frames;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] == '{') frames.push_back(json::parse(line, nullptr, false));
  return frames;
}

// What the server lists for this client_id, asked on a connection of its own.
json tasks_of(test_server& srv, const std::string& client_id) {
  auto c = srv.connect(client_id);
  c->send_json({{"type", "tasks"}, {"id", "q"}});
  auto list = c->next_of("tasks", "q");
  return list ? (*list)["tasks"] : json();
}

// Runs the CLI to its end (60 s at most).
cli_run run_cli(const std::vector<std::string>& args, child_process::options o = {}) {
  child_process p(TASKWIRE_CLI_PATH, args, o);
  cli_run r;
  r.status = p.wait_exit(std::chrono::seconds(60));
  r.out = p.out();
  r.err = p.err();
  r.frames = frames_of(r.out);
  return r;
}

std::vector<json> of_type(const std::vector<json>& frames, const std::string& type) {
  std::vector<json> out;
  for (const auto& f : frames)
    if (f.is_object() && f.value("type", "") == type) out.push_back(f);
  return out;
}

// Every event of a task: seq strictly increasing, started first, exactly one finished, last.
void expect_well_formed(const std::vector<json>& frames) {
  std::uint64_t last = 0;
  int finished = 0;
  bool first = true;
  for (const auto& f : frames) {
    auto type = f.value("type", "");
    if (type != "started" && type != "progress" && type != "item" && type != "finished") continue;
    if (first) {
      EXPECT_EQ(type, "started");
    }
    first = false;
    EXPECT_EQ(finished, 0) << "an event after finished: " << f.dump();
    auto seq = f.value("seq", std::uint64_t{0});
    EXPECT_GT(seq, last) << f.dump();
    last = seq;
    finished += type == "finished";
  }
  EXPECT_EQ(finished, 1);
}

std::string sha256_hex(const std::string& data) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (auto b : d) {
    s += hex[b >> 4];
    s += hex[b & 15];
  }
  return s;
}

TEST(Cli, TickPrintsEveryEventAsOneJsonLineAndExitsZero) {
  test_server srv;
  auto r = run_cli(
      {"--url", url(srv.port()), "--client-id", "c1", "--json", "tick", "5", "--interval-ms", "0"});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_EQ(of_type(r.frames, "accepted").size(), 1u) << r.out;
  auto progress = of_type(r.frames, "progress");
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back()["done"], 5);
  auto fin = of_type(r.frames, "finished");
  ASSERT_EQ(fin.size(), 1u);
  EXPECT_EQ(fin[0]["status"], "succeeded");
  EXPECT_EQ(fin[0]["result"]["ticks"], 5);
  expect_well_formed(r.frames);
}

TEST(Cli, OptionsMayComeAfterTheCommandAndStdoutThatIsNoTerminalGetsJson) {
  test_server srv;
  auto r = run_cli({"tick", "2", "--interval-ms", "0", "--url", url(srv.port())});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(of_type(r.frames, "finished").size(), 1u) << "no --json, but stdout is a pipe";
}

TEST(Cli, ScanWithHashStreamsEveryModelWithItsSha256) {
  test_server srv;
  int written = formats::write_demo_models(srv.root().string());
  auto r = run_cli({"--url", url(srv.port()), "--json", "scan", "--hash"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto items = of_type(r.frames, "item");
  ASSERT_EQ(static_cast<int>(items.size()), written) << r.out;
  for (const auto& i : items) {
    auto path = i["item"]["path"].get<std::string>();
    std::ifstream in(srv.root() / path, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(i["item"]["sha256"], sha256_hex(data)) << path;
  }
  auto fin = of_type(r.frames, "finished");
  ASSERT_EQ(fin.size(), 1u);
  EXPECT_EQ(fin[0]["result"]["files"], written);
  expect_well_formed(r.frames);
}

TEST(Cli, ScanOfASubfolderWithoutMetadataSendsThePathAsGiven) {
  test_server srv;
  formats::write_demo_models(srv.root().string());
  auto r = run_cli({"--url", url(srv.port()), "--json", "scan", "loras", "--no-metadata"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto items = of_type(r.frames, "item");
  ASSERT_FALSE(items.empty());
  for (const auto& i : items) {
    EXPECT_EQ(i["item"]["path"].get<std::string>().rfind("loras/", 0), 0u) << i.dump();
    EXPECT_FALSE(i["item"].contains("tensors")) << "metadata was not asked for";
  }
}

TEST(Cli, HashGivesTheSha256OfEachFileByRelativeOrAbsolutePath) {
  test_server srv;
  std::ofstream(srv.root() / "a.bin", std::ios::binary) << "hello";
  std::ofstream(srv.root() / "b.bin", std::ios::binary) << std::string(100000, 'x');
  auto r = run_cli(
      {"--url", url(srv.port()), "--json", "hash", "a.bin", (srv.root() / "b.bin").string()});
  ASSERT_EQ(r.status, 0) << r.err;
  std::map<std::string, std::string> got;
  for (const auto& i : of_type(r.frames, "item"))
    got[i["item"]["path"]] = i["item"]["sha256"];
  EXPECT_EQ(got["a.bin"], sha256_hex("hello"));
  EXPECT_EQ(got["b.bin"], sha256_hex(std::string(100000, 'x')));
}

TEST(Cli, ARefusedTaskExitsOneWithTheServersReason) {
  test_server srv;
  auto r = run_cli({"--url", url(srv.port()), "--json", "scan", "/etc"});
  EXPECT_EQ(r.status, 1);
  auto errors = of_type(r.frames, "error");
  ASSERT_EQ(errors.size(), 1u) << r.out;
  EXPECT_EQ(errors[0]["code"], "forbidden_path");
  EXPECT_NE(r.err.find("forbidden_path"), std::string::npos) << r.err;
}

TEST(Cli, AFailedTaskExitsOne) {
  test_server srv;
  // A timeout the ticker cannot meet: it ends failed with code timeout.
  auto r = run_cli({"--url", url(srv.port()), "--json", "tick", "100", "--interval-ms", "50",
                    "--timeout-ms", "100"});
  EXPECT_EQ(r.status, 1) << r.err;
  auto fin = of_type(r.frames, "finished");
  ASSERT_EQ(fin.size(), 1u);
  EXPECT_EQ(fin[0]["status"], "failed");
  EXPECT_EQ(fin[0]["error"]["code"], "timeout");
}

TEST(Cli, NoServerExitsThree) {
  std::uint16_t port = 0;
  {
    net::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }  // closed again: nothing listens there now
  auto r = run_cli({"--url", url(port), "tick", "1"});
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.err.find("cannot connect"), std::string::npos) << r.err;
}

TEST(Cli, ATokenIsNeededWhenTheServerHasOneAndTheEnvironmentCanGiveIt) {
  test_server srv([](config& c) { c.auth_token = "s3cret"; });
  auto without = run_cli({"--url", url(srv.port()), "tick", "1"});
  EXPECT_EQ(without.status, 3);
  EXPECT_NE(without.err.find("401"), std::string::npos) << without.err;
  auto wrong = run_cli({"--url", url(srv.port()), "--token", "nope", "tick", "1"});
  EXPECT_EQ(wrong.status, 3);
  auto right = run_cli({"--url", url(srv.port()), "--token", "s3cret", "tick", "1"});
  EXPECT_EQ(right.status, 0) << right.err;
  auto env =
      run_cli({"--url", url(srv.port()), "tick", "1"}, with_env({{"TASKWIRE_TOKEN", "s3cret"}}));
  EXPECT_EQ(env.status, 0) << env.err;
}

TEST(Cli, UsageErrorsExitTwoBeforeConnecting) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{},
                                             {"launch"},
                                             {"tick"},
                                             {"tick", "ten"},
                                             {"tick", "5", "--hash"},
                                             {"--frobnicate", "tasks"},
                                             {"cancel"},
                                             {"tasks", "--url", "http://127.0.0.1:1/ws"},
                                             {"tasks", "--client-id", "not ok!"}}) {
    auto r = run_cli(args);
    std::string joined;
    for (const auto& a : args)
      joined += a + " ";
    EXPECT_EQ(r.status, 2) << joined;
    EXPECT_NE(r.err.find("usage:"), std::string::npos) << joined << ": " << r.err;
  }
  auto help = run_cli({"--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("taskwire watch"), std::string::npos);
}

TEST(Cli, CtrlCCancelsTheTaskOnTheServerAndExits130) {
  test_server srv;
  child_process p(TASKWIRE_CLI_PATH, {"--url", url(srv.port()), "--client-id", "cc", "--json",
                                      "tick", "100000", "--interval-ms", "10"});
  auto accepted = p.wait_line("\"accepted\"");
  ASSERT_TRUE(accepted) << p.err();
  auto tid = json::parse(*accepted)["task_id"].get<std::string>();
  ASSERT_TRUE(p.wait_line("\"progress\"")) << p.err();
  p.signal(SIGINT);
  EXPECT_EQ(p.wait_exit(), 130);
  // The finished came before the exit: the task was cancelled, not left behind.
  auto fin = of_type(frames_of(p.out()), "finished");
  ASSERT_EQ(fin.size(), 1u) << p.out();
  EXPECT_EQ(fin[0]["status"], "cancelled");
  // And the server agrees.
  auto list = tasks_of(srv, "cc");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["task_id"], tid);
  EXPECT_EQ(list[0]["state"], "cancelled");
}

TEST(Cli, SigtermLeavesTheTaskRunningForALaterWatch) {
  test_server srv;
  child_process p(TASKWIRE_CLI_PATH, {"--url", url(srv.port()), "--client-id", "st", "--json",
                                      "tick", "100000", "--interval-ms", "10"});
  auto accepted = p.wait_line("\"accepted\"");
  ASSERT_TRUE(accepted) << p.err();
  auto tid = json::parse(*accepted)["task_id"].get<std::string>();
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait_exit(), 128 + SIGTERM);
  EXPECT_NE(p.err().find("taskwire watch " + tid), std::string::npos) << p.err();
  auto list = tasks_of(srv, "st");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["state"], "running");
}

TEST(Cli, WatchFollowsATaskStartedByAnotherConnectionFromItsStart) {
  test_server srv;
  auto c = srv.connect("w1");
  auto tid = submit(*c, {{"count", 20}, {"interval_ms", 20}});
  auto r = run_cli({"--url", url(srv.port()), "--client-id", "w1", "--json", "watch", tid});
  ASSERT_EQ(r.status, 0) << r.err;
  auto started = of_type(r.frames, "started");
  ASSERT_EQ(started.size(), 1u) << "the replay starts at seq 1: " << r.out;
  EXPECT_EQ(started[0]["task_id"], tid);
  auto fin = of_type(r.frames, "finished");
  ASSERT_EQ(fin.size(), 1u);
  EXPECT_EQ(fin[0]["result"]["ticks"], 20);
  expect_well_formed(r.frames);
}

TEST(Cli, WatchWithoutAnIdFollowsEveryRunningTaskOfTheClient) {
  test_server srv;
  auto c = srv.connect("w2");
  auto a = submit(*c, {{"count", 10}, {"interval_ms", 20}}, "ticker", "a");
  auto b = submit(*c, {{"count", 15}, {"interval_ms", 20}}, "ticker", "b");
  auto r = run_cli({"--url", url(srv.port()), "--client-id", "w2", "--json", "watch"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::set<std::string> ended;
  for (const auto& f : of_type(r.frames, "finished"))
    ended.insert(f["task_id"].get<std::string>());
  EXPECT_EQ(ended, (std::set<std::string>{a, b}));

  auto unknown = run_cli({"--url", url(srv.port()), "--client-id", "w2", "watch", "t-nope"});
  EXPECT_EQ(unknown.status, 1);
  auto other = run_cli({"--url", url(srv.port()), "--client-id", "someone-else", "watch", a});
  EXPECT_EQ(other.status, 1) << "another client's task is not found";
}

TEST(Cli, TasksListsThemAndCancelStopsOne) {
  test_server srv;
  auto c = srv.connect("tc");
  auto tid = submit(*c, {{"count", 100000}, {"interval_ms", 10}});
  auto list = run_cli({"--url", url(srv.port()), "--client-id", "tc", "--json", "tasks"});
  ASSERT_EQ(list.status, 0) << list.err;
  auto replies = of_type(list.frames, "tasks");
  ASSERT_EQ(replies.size(), 1u);
  ASSERT_EQ(replies[0]["tasks"].size(), 1u);
  EXPECT_EQ(replies[0]["tasks"][0]["task_id"], tid);

  auto cancel = run_cli({"--url", url(srv.port()), "--client-id", "tc", "cancel", tid});
  EXPECT_EQ(cancel.status, 0) << cancel.err;
  auto fin = c->next_of("finished");
  ASSERT_TRUE(fin);
  EXPECT_EQ((*fin)["status"], "cancelled");

  auto nope = run_cli({"--url", url(srv.port()), "--client-id", "tc", "cancel", "t-nope"});
  EXPECT_EQ(nope.status, 1);
  EXPECT_NE(nope.err.find("not_found"), std::string::npos) << nope.err;
}

TEST(Cli, ADroppedConnectionIsReconnectedAndTheTaskResumedWithoutAGapOrARepeat) {
  test_server srv;
  tcp_proxy proxy(srv.port());
  child_process p(TASKWIRE_CLI_PATH, {"--url", url(proxy.port()), "--client-id", "rc", "--json",
                                      "tick", "60", "--interval-ms", "20", "--reconnect-s", "20"});
  ASSERT_TRUE(p.wait_line("\"done\":5,")) << p.err();
  EXPECT_EQ(proxy.cut_all(), 1);
  ASSERT_EQ(p.wait_exit(std::chrono::seconds(30)), 0) << p.err();
  EXPECT_NE(p.err().find("reconnected"), std::string::npos) << p.err();
  auto frames = frames_of(p.out());
  expect_well_formed(frames);
  auto progress = of_type(frames, "progress");
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back()["done"], 60);
  EXPECT_EQ(of_type(frames, "finished").at(0)["status"], "succeeded");
}

TEST(Cli, OnATerminalItDrawsAProgressBarItemsAndASummary) {
  test_server srv;
  formats::write_demo_models(srv.root().string());
  auto tick =
      run_cli({"--url", url(srv.port()), "tick", "8", "--interval-ms", "30"}, on_terminal());
  ASSERT_EQ(tick.status, 0) << tick.out;
  EXPECT_EQ(tick.out.find("{\"type\""), std::string::npos) << "no JSON on a terminal";
  EXPECT_NE(tick.out.find("tick 8"), std::string::npos) << tick.out;
  EXPECT_NE(tick.out.find("/8"), std::string::npos) << "done/total: " << tick.out;
  EXPECT_NE(tick.out.find("tick 8: done (8 ticks"), std::string::npos) << tick.out;

  auto scan = run_cli({"--url", url(srv.port()), "scan", "--hash"}, on_terminal());
  ASSERT_EQ(scan.status, 0) << scan.out;
  EXPECT_NE(scan.out.find("checkpoints/demo-sd-tiny.safetensors  safetensors"), std::string::npos)
      << scan.out;
  EXPECT_NE(scan.out.find("sha256 "), std::string::npos) << scan.out;
  EXPECT_NE(scan.out.find("scan models: done (3 files"), std::string::npos) << scan.out;
}

}  // namespace
}  // namespace taskwire::test
