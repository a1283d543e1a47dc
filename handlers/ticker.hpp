// SPDX-License-Identifier: MIT
#pragma once
// `ticker`: counts to N with progress per tick, optionally waiting between ticks or failing at
// tick K. The task for tests and benchmarks.
#include <memory>

#include "handlers/handler.hpp"

namespace taskwire {

std::unique_ptr<handler> make_ticker_handler();

}  // namespace taskwire
