// SPDX-License-Identifier: MIT
// The taskwired binary as an operator runs it: start-up errors, readiness, SIGTERM and exit codes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "server/net.hpp"
#include "support/ws_client.hpp"

extern char** environ;

namespace taskwire::test {
namespace {

class daemon {
 public:
  explicit daemon(std::vector<std::string> args) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    args.insert(args.begin(), TASKWIRED_PATH);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, TASKWIRED_PATH, &fa, nullptr, argv.data(), environ) != 0)
      throw std::runtime_error("spawn");
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    out_ = fds[0];
  }
  ~daemon() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(out_);
  }

  // Reads output until a line contains `needle` or the deadline passes; the matching line.
  std::optional<std::string> wait_line(const std::string& needle,
                                       std::chrono::seconds limit = 20s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      auto nl = buffer_.find('\n');
      while (nl != std::string::npos) {
        auto line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        all_ += line + "\n";
        if (line.find(needle) != std::string::npos) return line;
        nl = buffer_.find('\n');
      }
      if (!read_some(deadline)) return std::nullopt;
    }
  }

  // Waits for the process to end (its output closes first); the exit status or nullopt.
  std::optional<int> wait_exit(std::chrono::seconds limit = 20s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (read_some(deadline)) {
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    int status = 0;
    if (waitpid(pid_, &status, 0) != pid_) return std::nullopt;
    pid_ = -1;
    all_ += buffer_;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  void signal(int sig) { kill(pid_, sig); }
  const std::string& output() const { return all_; }

 private:
  bool read_some(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{out_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    auto n = read(out_, buf, sizeof buf);
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int out_ = -1;
  std::string buffer_, all_;
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
