// SPDX-License-Identifier: MIT
#include "server/ws_frame.hpp"

#include <gtest/gtest.h>

namespace taskwire {
namespace {

std::uint64_t decoded_length(const ws_frame::header& h) {
  EXPECT_EQ(h.bytes[0], 0x81) << "FIN and text";
  EXPECT_EQ(h.bytes[1] & 0x80, 0) << "a server frame is never masked";
  std::uint64_t len = h.bytes[1] & 0x7f;
  std::size_t ext = len == 126 ? 2 : len == 127 ? 8 : 0;
  EXPECT_EQ(h.size, 2 + ext);
  if (ext == 0) return len;
  len = 0;
  for (std::size_t i = 0; i < ext; ++i)
    len = (len << 8) | h.bytes[2 + i];
  return len;
}

TEST(WsFrame, EveryLengthUsesTheShortestEncodingAndReadsBack) {
  for (std::uint64_t n : {0ull, 1ull, 125ull, 126ull, 127ull, 65535ull, 65536ull, 1ull << 32}) {
    auto h = ws_frame::text_header(n);
    EXPECT_EQ(decoded_length(h), n);
    EXPECT_EQ(h.size, n < 126 ? 2u : n <= 65535 ? 4u : 10u) << n;
  }
}

}  // namespace
}  // namespace taskwire
