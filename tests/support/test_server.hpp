// SPDX-License-Identifier: MIT
#pragma once
// A real taskwired in the test process on a free port (port 0), with 4 I/O threads as the
// core issue asks; stopped and joined when the object goes.
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "server/server.hpp"
#include "support/ws_client.hpp"

namespace taskwire::test {

config test_config();

class test_server {
 public:
  explicit test_server(const std::function<void(config&)>& adjust = {});
  ~test_server();

  std::uint16_t port() const { return port_; }
  // The `models` root (canonical) and the state directory, both removed with the server.
  const std::filesystem::path& root() const { return models_; }
  const std::filesystem::path& state_dir() const { return state_; }
  taskwire::server& get() { return *server_; }
  const config& cfg() const { return cfg_; }

  // Connects as `client_id` and reads the hello frame.
  std::unique_ptr<ws_client> connect(const std::string& client_id,
                                     const std::map<std::string, std::string>& headers = {});
  void stop();  // shutdown() then wait(); idempotent

 private:
  std::filesystem::path base_, models_, state_;
  config cfg_;
  std::unique_ptr<taskwire::server> server_;
  std::uint16_t port_ = 0;
  bool stopped_ = false;
};

}  // namespace taskwire::test
