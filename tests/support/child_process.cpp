// SPDX-License-Identifier: MIT
#include "support/child_process.hpp"

#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

extern char** environ;

namespace taskwire::test {
namespace {

std::vector<std::string> merged_environment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    auto name = kv.substr(0, kv.find('='));
    if (!extra.count(name)) env.push_back(kv);
  }
  for (const auto& [k, v] : extra)
    env.push_back(k + "=" + v);
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> p;
  for (auto& s : strings)
    p.push_back(s.data());
  p.push_back(nullptr);
  return p;
}

}  // namespace

child_process::child_process(const std::string& path, const std::vector<std::string>& args,
                             const options& o) {
  std::vector<std::string> argv_s{path};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  auto env_s = merged_environment(o.env);
  auto argv = pointers(argv_s);
  auto envp = pointers(env_s);

  if (o.terminal) {
    // Everything the child needs is ready before the fork: after it, only exec.
    int master = -1;
    winsize size{};
    size.ws_row = 24;
    size.ws_col = 80;
    pid_ = ::forkpty(&master, nullptr, nullptr, &size);
    if (pid_ < 0) throw std::runtime_error("forkpty failed");
    if (pid_ == 0) {
      ::execve(path.c_str(), argv.data(), envp.data());
      ::_exit(127);
    }
    ::fcntl(master, F_SETFD, FD_CLOEXEC);
    err_.eof = true;
    readers_.emplace_back([this, master, keep = o.keep_line] { read_into(master, out_, keep); });
    return;
  }

  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, o.merge_stderr ? out[1] : err[1], 2);
  int rc = ::posix_spawn(&pid_, path.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(out[0]);
    ::close(err[0]);
    throw std::runtime_error("cannot start " + path + ": " + std::strerror(rc));
  }
  readers_.emplace_back([this, fd = out[0], keep = o.keep_line] { read_into(fd, out_, keep); });
  readers_.emplace_back([this, fd = err[0]] { read_into(fd, err_, nullptr); });
}

child_process::~child_process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  for (auto& t : readers_)
    t.join();  // the pipes close with the process
}

void child_process::read_into(int fd, stream& s,
                              const std::function<bool(const std::string&)>& keep) {
  char buf[4096];
  std::string partial, kept;  // with `keep`: the unfinished line, the lines to add
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n > 0 && keep) {
      partial.append(buf, static_cast<std::size_t>(n));
      kept.clear();
      std::size_t from = 0;
      for (auto nl = partial.find('\n'); nl != std::string::npos; nl = partial.find('\n', from)) {
        auto line = partial.substr(from, nl - from);
        if (keep(line)) kept += line + '\n';
        from = nl + 1;
      }
      partial.erase(0, from);
    }
    std::lock_guard lock(mu_);
    if (n <= 0) {  // EOF, or EIO once a pseudo-terminal's child has gone
      s.eof = true;
      cv_.notify_all();
      break;
    }
    if (keep)
      s.text += kept;
    else
      s.text.append(buf, static_cast<std::size_t>(n));
    cv_.notify_all();
  }
  ::close(fd);
}

std::optional<std::string> child_process::wait_line(const std::string& needle,
                                                    std::chrono::milliseconds limit) {
  std::unique_lock lock(mu_);
  std::optional<std::string> found;
  cv_.wait_for(lock, limit, [&] {
    for (auto nl = out_.text.find('\n', scanned_); nl != std::string::npos;
         nl = out_.text.find('\n', scanned_)) {
      auto line = out_.text.substr(scanned_, nl - scanned_);
      scanned_ = nl + 1;
      if (line.find(needle) != std::string::npos) {
        found = line;
        return true;
      }
    }
    return out_.eof;
  });
  return found;
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds limit) {
  {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, limit, [&] { return out_.eof && err_.eof; })) return std::nullopt;
  }
  int status = 0;
  if (::waitpid(pid_, &status, 0) != pid_) return std::nullopt;
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void child_process::signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

std::string child_process::out() const {
  std::lock_guard lock(mu_);
  return out_.text;
}

std::string child_process::err() const {
  std::lock_guard lock(mu_);
  return err_.text;
}

}  // namespace taskwire::test
