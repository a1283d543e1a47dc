// SPDX-License-Identifier: MIT
#pragma once
// A TCP relay between a client under test and a server, on a free port of its own, that can
// cut every connection it carries at once: a network failure on demand, without touching
// either end.
#include <cstdint>
#include <memory>

namespace taskwire::test {

class tcp_proxy {
 public:
  explicit tcp_proxy(std::uint16_t server_port);
  ~tcp_proxy();
  std::uint16_t port() const;
  // Closes both sides of every connection relayed so far; new ones are accepted as before.
  // Returns how many were cut.
  int cut_all();

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace taskwire::test
