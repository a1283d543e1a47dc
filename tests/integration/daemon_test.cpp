// SPDX-License-Identifier: MIT
// The taskwired binary as an operator runs it: start-up errors, readiness, SIGTERM and exit codes.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "server/net.hpp"
#include "support/child_process.hpp"
#include "support/ws_client.hpp"

namespace taskwire::test {
namespace {

// The real binary, its stdout and stderr in one stream as an operator's journal has them.
class daemon : public child_process {
 public:
  explicit daemon(const std::vector<std::string>& args)
      : child_process(TASKWIRED_PATH, args, merged()) {}
  std::string output() const { return out(); }

 private:
  static options merged() {
    options o;
    o.merge_stderr = true;
    return o;
  }
};

std::uint16_t ready_port(daemon& d) {
  auto line = d.wait_line(" INFO ready ");
  if (!line) return 0;
  auto at = line->find(" port=");
  if (at == std::string::npos) return 0;
  return static_cast<std::uint16_t>(std::stoi(line->substr(at + 6)));
}

TEST(Daemon, ServesUntilSigtermThenExitsZero) {
  auto root = std::filesystem::temp_directory_path() / ("twd-" + std::to_string(getpid()));
  std::filesystem::create_directories(root);
  daemon d({"--port", "0", "--root", "models=" + root.string(), "--shutdown-grace-s", "30"});
  auto port = ready_port(d);
  ASSERT_NE(port, 0) << d.output();
  EXPECT_EQ(http_get(port, "/readyz").status, 200);
  auto c = ws_client::connect(port, "/ws?client_id=ops");
  ASSERT_TRUE(c->next_of("hello"));
  auto tid = submit(*c, {{"count", 5}, {"interval_ms", 60000}});
  ASSERT_TRUE(c->next_of("started"));
  d.signal(SIGTERM);
  ASSERT_TRUE(d.wait_line("shutting down: draining"));
  d.signal(SIGINT);  // a second signal cuts the grace period short
  auto fin = c->next_of("finished");
  ASSERT_TRUE(fin);
  EXPECT_EQ(fin->at("task_id"), tid);
  EXPECT_EQ(fin->at("status"), "cancelled");
  auto code = c->wait_closed();
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 1001);
  auto status = d.wait_exit();
  ASSERT_TRUE(status) << d.output();
  EXPECT_EQ(*status, 0) << d.output();
  EXPECT_NE(d.output().find("task_id=" + tid), std::string::npos) << "log lines name the task";
  std::filesystem::remove_all(root);
}

TEST(Daemon, SigtermUnderLoadEndsEveryTaskAndClosesEverySessionWithinTheGracePeriod) {
  // 100 clients with 10 running tickers each. SIGTERM must give all 1,000 tasks a finished,
  // close all 100 sessions with 1001 and exit 0 within shutdown_grace_s + 1 s.
  constexpr int clients = 100, per_client = 10, grace_s = 2;
  auto root = std::filesystem::temp_directory_path() / ("twd-load-" + std::to_string(getpid()));
  std::filesystem::create_directories(root);
  daemon d({"--port", "0", "--root", "models=" + root.string(), "--shutdown-grace-s",
            std::to_string(grace_s), "--max-connections-per-ip", "1000"});
  auto port = ready_port(d);
  ASSERT_NE(port, 0) << d.output();

  std::vector<std::unique_ptr<ws_client>> cs;
  std::vector<std::set<std::string>> tids(clients);
  for (int i = 0; i < clients; ++i) {
    cs.push_back(ws_client::connect(port, "/ws?client_id=load" + std::to_string(i)));
    ASSERT_TRUE(cs.back()->next_of("hello"));
    for (int k = 0; k < per_client; ++k)
      cs.back()->send_json({{"type", "submit"},
                            {"id", "s" + std::to_string(k)},
                            {"task", "ticker"},
                            {"params", {{"count", 1000}, {"interval_ms", 1000}}}});
  }
  // Every task accepted and started before the signal: 1,000 tasks running at once.
  for (int i = 0; i < clients; ++i) {
    int started = 0;
    while (started < per_client) {
      auto e = cs[i]->next(30s);
      ASSERT_TRUE(e) << "client " << i << " saw " << started << " started";
      ASSERT_NE(e->at("type"), "error") << e->dump();
      if (e->at("type") == "accepted") tids[i].insert(e->at("task_id").get<std::string>());
      started += e->at("type") == "started";
    }
  }

  auto signalled = std::chrono::steady_clock::now();
  d.signal(SIGTERM);
  auto status = d.wait_exit(std::chrono::seconds(grace_s + 1));
  ASSERT_TRUE(status) << "still running " << grace_s + 1 << " s after SIGTERM";
  EXPECT_EQ(*status, 0) << d.output();
  EXPECT_LE(std::chrono::steady_clock::now() - signalled, std::chrono::seconds(grace_s + 1));

  int finished = 0;
  for (int i = 0; i < clients; ++i) {
    std::set<std::string> ended;
    while (auto e = cs[i]->next(5s)) {
      if (e->at("type") != "finished") continue;
      EXPECT_EQ(e->at("status"), "cancelled");
      EXPECT_EQ(e->at("error").at("code"), "shutting_down");
      EXPECT_TRUE(ended.insert(e->at("task_id").get<std::string>()).second) << "two finished";
    }
    EXPECT_EQ(ended, tids[i]) << "client " << i;
    finished += static_cast<int>(ended.size());
    EXPECT_EQ(cs[i]->wait_closed(5s), 1001) << "client " << i;
  }
  EXPECT_EQ(finished, clients * per_client);
  std::filesystem::remove_all(root);
}

TEST(Daemon, PortInUseExitsNonZeroAtOnce) {
  net::io_context ioc;
  tcp::acceptor taken(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  daemon d({"--port", std::to_string(taken.local_endpoint().port())});
  auto status = d.wait_exit();
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 1);
  EXPECT_NE(d.output().find("in use"), std::string::npos) << d.output();
}

TEST(Daemon, BadConfigurationNamesTheKeyAndExitsNonZero) {
  struct bad_case {
    std::vector<std::string> args;
    std::string names;
  };
  auto file =
      std::filesystem::temp_directory_path() / ("twd-cfg-" + std::to_string(getpid()) + ".json");
  std::ofstream(file) << R"({"port": 1, "colour": "blue"})";
  std::vector<bad_case> cases = {
      {{"--port", "http"}, "--port"},
      {{"--port", "70000"}, "--port"},
      {{"--io-threads", "0"}, "--io-threads"},
      {{"--bogus"}, "--bogus"},
      {{"--root", "models=/definitely/not/here"}, "models"},
      {{"--config", file.string()}, "colour"},
      // Readable, so only OpenSSL finds it wrong: still a configuration error, at start-up.
      {{"--port", "0", "--tls-cert", file.string(), "--tls-key", file.string()}, "tls_cert"},
  };
  for (const auto& bc : cases) {
    daemon d(bc.args);
    auto status = d.wait_exit();
    ASSERT_TRUE(status);
    EXPECT_EQ(*status, 2) << d.output();
    EXPECT_NE(d.output().find(bc.names), std::string::npos) << d.output();
  }
  std::filesystem::remove(file);
}

TEST(Daemon, PrintConfigShowsFlagsOverEnvironmentAndRedactsTheToken) {
  daemon d({"--print-config", "--port", "9999", "--token", "hunter2"});
  auto status = d.wait_exit();
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0);
  auto j = nlohmann::json::parse(d.output());
  EXPECT_EQ(j.at("port"), 9999);
  EXPECT_EQ(j.at("host"), "127.0.0.1");
  EXPECT_EQ(d.output().find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace taskwire::test
