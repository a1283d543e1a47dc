// SPDX-License-Identifier: MIT
#pragma once
// The task kinds this server runs, by name.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "handlers/handler.hpp"

namespace taskwire {

class handler_registry {
 public:
  void add(std::unique_ptr<handler> h);
  const handler* find(std::string_view name) const;
  std::vector<std::string> names() const;  // sorted, as the hello frame lists them

 private:
  std::vector<std::unique_ptr<handler>> handlers_;
};

// Every built-in task kind.
handler_registry builtin_handlers();

}  // namespace taskwire
