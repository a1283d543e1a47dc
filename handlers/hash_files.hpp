// SPDX-License-Identifier: MIT
#pragma once
// `hash_files`: SHA-256 of a list of files inside the roots, several at once on the cpu pool.
#include <memory>

#include "handlers/handler.hpp"

namespace taskwire {

std::unique_ptr<handler> make_hash_files_handler();

}  // namespace taskwire
