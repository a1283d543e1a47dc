// SPDX-License-Identifier: MIT
#pragma once
// A program under test run as its own process (the daemon, the CLI): its output is read by
// threads of its own from the start, so a chatty child never blocks on a full pipe, and the test
// waits on lines or on the exit with a deadline.
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace taskwire::test {

class child_process {
 public:
  struct options {
    bool merge_stderr = false;               // stderr into the same stream as stdout
    bool terminal = false;                   // stdout and stderr are a pseudo-terminal (80 columns)
    std::map<std::string, std::string> env;  // added to (or replacing in) the test's own
    // When set, stdout is kept line by line and only the lines it returns true for: a daemon
    // that logs every task for minutes (the soak test) must not fill the memory. Called on a
    // reader thread.
    std::function<bool(const std::string& line)> keep_line;
  };
  child_process(const std::string& path, const std::vector<std::string>& args)
      : child_process(path, args, options{}) {}
  child_process(const std::string& path, const std::vector<std::string>& args, const options& o);
  ~child_process();  // SIGKILL if still running
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  // Waits until a line of stdout after the last one matched contains `needle`; that line, or
  // nullopt when the limit passes or the output ends first.
  std::optional<std::string> wait_line(const std::string& needle,
                                       std::chrono::milliseconds limit = std::chrono::seconds(20));
  // Waits for the process to end (its output closes first): the exit status (128 + signal when
  // killed), or nullopt.
  std::optional<int> wait_exit(std::chrono::milliseconds limit = std::chrono::seconds(20));
  void signal(int sig);
  pid_t pid() const { return pid_; }
  std::string out() const;
  std::string err() const;

 private:
  struct stream {
    std::string text;
    bool eof = false;
  };
  void read_into(int fd, stream& s, const std::function<bool(const std::string&)>& keep);

  pid_t pid_ = -1;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  stream out_, err_;
  std::size_t scanned_ = 0;
  std::vector<std::thread> readers_;
};

}  // namespace taskwire::test
