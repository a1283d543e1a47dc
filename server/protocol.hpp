// SPDX-License-Identifier: MIT
#pragma once
// The wire contract (docs/PROTOCOL.md): parsing client messages and building server frames.
// Beast-free and socket-free, so it can be unit-tested and fuzzed on its own.
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace taskwire::protocol {

inline constexpr int version = 1;
inline constexpr int max_depth = 64;  // the message object itself is level 1

enum class message_type { submit, cancel, tasks, resume };

struct error {
  std::string code;     // bad_message, invalid_params, ...
  std::string message;  // a human sentence
};

// A parsed client message. The document is kept whole for the handler of its type.
struct client_message {
  message_type type = message_type::tasks;
  std::optional<std::string> id;
  std::shared_ptr<const nlohmann::json> doc;
};

struct parse_result {
  std::optional<client_message> message;  // set on success
  std::optional<std::string> id;          // the id, when it could be read, for the error reply
  error err;                              // set on failure
};

// Never throws: bad input becomes a bad_message error.
parse_result parse_client_message(std::string_view text);

// Nesting depth of JSON text (strings are skipped); stops counting once above `limit`.
int json_depth(std::string_view text, int limit);

// [A-Za-z0-9_.-]{1,64}: the shape of a client_id and of a root name.
bool valid_identifier(std::string_view s);

// A JSON integer (not a float, not a bool, not a string) that fits in int64.
bool is_integer(const nlohmann::json& v);

// --- server frames -------------------------------------------------------------------------
struct task_summary {
  std::string task_id;
  std::string task;
  std::string state;
  std::uint64_t seq = 0;
};

std::string hello(const std::string& client_id, const std::string& server,
                  const std::vector<std::string>& tasks, const std::vector<std::string>& roots);
std::string error_reply(const std::optional<std::string>& id, std::string_view code,
                        std::string_view message);
std::string accepted(const std::optional<std::string>& id, std::string_view task_id);
std::string ok(const std::optional<std::string>& id);
std::string tasks_reply(const std::optional<std::string>& id, const std::vector<task_summary>& ts);

std::string started(std::string_view task_id, std::uint64_t seq);
std::string progress(std::string_view task_id, std::uint64_t seq, std::uint64_t done,
                     std::optional<std::uint64_t> total, const nlohmann::json* extra);
std::string item(std::string_view task_id, std::uint64_t seq, const nlohmann::json& item);
std::string finished(std::string_view task_id, std::uint64_t seq, std::string_view status,
                     std::string_view result_json, const std::optional<error>& err,
                     std::uint64_t elapsed_ms);

}  // namespace taskwire::protocol
