// SPDX-License-Identifier: MIT
#pragma once
// `scan_models`: walks a folder inside the roots and reports each model file with its format,
// header summary and (optionally) SHA-256, served from the scan cache when unchanged.
#include <memory>

#include "handlers/handler.hpp"

namespace taskwire {

std::unique_ptr<handler> make_scan_models_handler();

}  // namespace taskwire
