// SPDX-License-Identifier: MIT
#include "handlers/paths.hpp"

#include <system_error>

namespace taskwire::paths {

bool inside(const fs::path& real, const fs::path& root) {
  const auto& r = root.native();
  const auto& p = real.native();
  if (p.size() < r.size() || p.compare(0, r.size(), r) != 0) return false;
  return p.size() == r.size() || r.back() == '/' || p[r.size()] == '/';
}

const root_dir* owner(const config& cfg, const fs::path& real, const root_dir* preferred) {
  if (preferred && inside(real, preferred->path)) return preferred;
  const root_dir* best = nullptr;
  for (const auto& r : cfg.roots)
    if (inside(real, r.path) && (!best || r.path.size() > best->path.size())) best = &r;
  return best;
}

std::string relative_to_root(const fs::path& real, const fs::path& root) {
  if (real == root) return "";
  auto rel = real.lexically_relative(root).generic_string();
  return rel == "." ? "" : rel;
}

result resolve(const config& cfg, const std::optional<std::string>& path,
               const std::optional<std::string>& root) {
  auto fail = [](const char* code, std::string message) {
    return result{std::nullopt, protocol::error{code, std::move(message)}};
  };
  const root_dir* base = nullptr;
  if (root) {
    for (const auto& r : cfg.roots)
      if (r.name == *root) base = &r;
    if (!base) return fail("invalid_params", "root is not one of the configured roots");
  } else if (!cfg.roots.empty()) {
    base = &cfg.roots.front();
  }
  if (path && (path->empty() || path->find('\0') != std::string::npos))
    return fail("invalid_params", "path must be a non-empty string");
  if (!base) return fail("forbidden_path", "no roots are configured on this server");

  fs::path candidate =
      !path ? fs::path(base->path)
            : (fs::path(*path).is_absolute() ? fs::path(*path) : fs::path(base->path) / *path);
  // weakly_canonical resolves the symlinks of the part that exists, so a link that leads out
  // of the roots is caught even when what it points at does not exist.
  std::error_code ec;
  auto real = fs::weakly_canonical(candidate, ec);
  if (ec) return fail("forbidden_path", "path cannot be resolved inside the configured roots");
  const root_dir* holder = owner(cfg, real, base);
  if (!holder) return fail("forbidden_path", "path is outside the configured roots");
  auto st = fs::status(real, ec);
  if (ec || !fs::exists(st)) return fail("not_found", "no such file or directory inside the roots");
  return {resolved{holder, real, relative_to_root(real, holder->path)}, std::nullopt};
}

}  // namespace taskwire::paths
