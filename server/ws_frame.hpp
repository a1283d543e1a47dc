// SPDX-License-Identifier: MIT
#pragma once
// The header of an unfragmented, unmasked text frame from server to client (RFC 6455, 5.2).
// The session encodes its event frames itself so that many of them leave in one write; Beast still
// does the handshake, the reading, and the control frames (ping, pong, close).
#include <array>
#include <cstddef>
#include <cstdint>

namespace taskwire::ws_frame {

struct header {
  std::array<unsigned char, 10> bytes{};
  std::size_t size = 0;
};

inline header text_header(std::uint64_t payload) {
  header h;
  h.bytes[0] = 0x81;  // FIN, opcode 1 (text)
  if (payload < 126) {
    h.bytes[1] = static_cast<unsigned char>(payload);
    h.size = 2;
  } else if (payload <= 0xffff) {
    h.bytes[1] = 126;
    h.bytes[2] = static_cast<unsigned char>(payload >> 8);
    h.bytes[3] = static_cast<unsigned char>(payload);
    h.size = 4;
  } else {
    h.bytes[1] = 127;
    for (int i = 0; i < 8; ++i)
      h.bytes[2 + static_cast<std::size_t>(i)] =
          static_cast<unsigned char>(payload >> (56 - 8 * i));
    h.size = 10;
  }
  return h;
}

}  // namespace taskwire::ws_frame
