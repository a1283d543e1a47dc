// SPDX-License-Identifier: MIT
#pragma once
// A real WebSocket client for tests, on Beast: its own io_context thread reads frames into a
// queue that the test waits on with a deadline (never a sleep).
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace taskwire::test {

using namespace std::chrono_literals;

struct http_result {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
};

// One HTTP/1.1 request on a fresh connection.
http_result http_get(std::uint16_t port, const std::string& target,
                     const std::map<std::string, std::string>& headers = {});
// Polls /metrics until the line `name value` appears, for at most `deadline`: for what a test
// can only see through the metrics (a connection the server has noticed closing, a task ended
// while its client had no connection).
bool wait_metric(std::uint16_t port, const std::string& name, const std::string& value,
                 std::chrono::seconds deadline);
// A WebSocket upgrade that is expected to be refused: the HTTP status (101 if it upgraded).
int upgrade_status(std::uint16_t port, const std::string& target,
                   const std::map<std::string, std::string>& headers = {});

class ws_client {
 public:
  // Connects and completes the handshake (throws on failure).
  static std::unique_ptr<ws_client> connect(std::uint16_t port, const std::string& target,
                                            const std::map<std::string, std::string>& headers = {});
  ~ws_client();

  void send_text(std::string text);
  void send_json(const nlohmann::json& j) { send_text(j.dump()); }
  void send_binary(std::string data);
  // One text message sent as several frames (continuations).
  void send_fragments(const std::vector<std::string>& parts);

  // The next text frame as JSON; nullopt on timeout or once the connection is closed.
  std::optional<nlohmann::json> next(std::chrono::milliseconds timeout = 10s);
  // Skips frames until one with this "type" (and "id" when given); nullopt on timeout.
  std::optional<nlohmann::json> next_of(const std::string& type, std::optional<std::string> id = {},
                                        std::chrono::milliseconds timeout = 10s);
  // Waits for the server to close; the close code, or nullopt on timeout.
  std::optional<std::uint16_t> wait_closed(std::chrono::milliseconds timeout = 10s);
  std::string close_reason() const;
  // Stops reading from the socket (a slow consumer) until resume_reading().
  void pause_reading();
  void resume_reading();
  // Drops the TCP connection without a close handshake.
  void drop();
  // Sends a normal close and waits for the server's answer.
  void close();

  struct impl;

 private:
  explicit ws_client(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

// Submits and returns the code of the error reply ("" when it was accepted or nothing came).
std::string submit_error(ws_client& c, const std::string& task, const nlohmann::json& params);

// Submits and returns the task id from the accepted reply.
std::string submit(ws_client& c, const nlohmann::json& params, const std::string& task = "ticker",
                   const std::string& id = "s");

}  // namespace taskwire::test
