// SPDX-License-Identifier: MIT
#pragma once
// A model file whose header is truncated, corrupt or out of bounds: it becomes an item `error`.
#include <stdexcept>

namespace taskwire::formats {

class format_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace taskwire::formats
