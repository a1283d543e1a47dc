// SPDX-License-Identifier: MIT
#include "support/test_server.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

namespace taskwire::test {

config test_config() {
  config c;
  c.host = "127.0.0.1";
  c.port = 0;
  c.io_threads = 4;
  c.io_workers = 4;
  c.cpu_workers = 2;
  c.shutdown_grace_s = 5;
  c.log_level = "warn";
  return c;
}

test_server::test_server(const std::function<void(config&)>& adjust) {
  base_ = std::filesystem::temp_directory_path() /
          ("taskwire-test-" + std::to_string(::getpid()) + "-" +
           std::to_string(reinterpret_cast<std::uintptr_t>(this)));
  std::filesystem::remove_all(base_);
  std::filesystem::create_directories(base_ / "models");
  models_ = std::filesystem::canonical(base_ / "models");
  state_ = base_ / "state";
  cfg_ = test_config();
  cfg_.roots.push_back({"models", models_.string()});
  cfg_.state_dir = state_.string();
  if (adjust) adjust(cfg_);
  server_ = std::make_unique<taskwire::server>(cfg_);
  server_->start();
  port_ = server_->port();
}

test_server::~test_server() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(base_, ec);
}

void test_server::stop() {
  if (stopped_) return;
  stopped_ = true;
  server_->shutdown();
  server_->shutdown();  // no grace period in tests that did not ask for one
  server_->wait();
}

std::unique_ptr<ws_client> test_server::connect(const std::string& client_id,
                                                const std::map<std::string, std::string>& headers) {
  auto c = ws_client::connect(port_, "/ws?client_id=" + client_id, headers);
  auto hello = c->next();
  EXPECT_TRUE(hello && hello->value("type", "") == "hello") << "no hello frame";
  return c;
}

}  // namespace taskwire::test
