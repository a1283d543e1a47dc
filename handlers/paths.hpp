// SPDX-License-Identifier: MIT
#pragma once
// Where a client may read: a path is absolute or relative to a root (default: the first), and
// must resolve, after `..` and symlinks, inside a configured root. Errors never say what lies
// outside the roots.
#include <filesystem>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "server/protocol.hpp"

namespace taskwire::paths {

namespace fs = std::filesystem;

struct resolved {
  const root_dir* root = nullptr;  // the root the real path lies in
  fs::path real;                   // symlinks resolved
  std::string rel;                 // relative to the root, '/'-separated ("" for the root itself)
};

struct result {
  std::optional<resolved> ok;
  std::optional<protocol::error> err;  // invalid_params, forbidden_path or not_found
};

// `path` and `root` as the client sent them (nullopt when absent).
result resolve(const config& cfg, const std::optional<std::string>& path,
               const std::optional<std::string>& root);

// True when `real` (already canonical) is `root` or below it.
bool inside(const fs::path& real, const fs::path& root);
// The root holding `real` (the given preferred one when it does, else the deepest), or nullptr.
const root_dir* owner(const config& cfg, const fs::path& real, const root_dir* preferred = nullptr);
// `real` relative to `root`, '/'-separated.
std::string relative_to_root(const fs::path& real, const fs::path& root);

}  // namespace taskwire::paths
