// SPDX-License-Identifier: MIT
// libFuzzer target: any bytes a client can send as a text frame.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "server/protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // The contract: never throws, and exactly one of "a message" or "an error code" comes back.
  auto r = taskwire::protocol::parse_client_message(text);
  if (r.message.has_value() == !r.err.code.empty()) std::abort();
  if (r.message && !r.message->doc) std::abort();
  // The error reply echoes the id, which may hold any bytes: it must still serialise.
  if (!r.message) (void)taskwire::protocol::error_reply(r.id, r.err.code, r.err.message);
  (void)taskwire::protocol::json_depth(text, taskwire::protocol::max_depth);
  return 0;
}
