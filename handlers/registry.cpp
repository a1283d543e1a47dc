// SPDX-License-Identifier: MIT
#include "handlers/registry.hpp"

#include <algorithm>
#include <stdexcept>

#include "handlers/hash_files.hpp"
#include "handlers/scan_models.hpp"
#include "handlers/ticker.hpp"

namespace taskwire {

void handler_registry::add(std::unique_ptr<handler> h) {
  if (find(h->name()))
    throw std::logic_error("task kind registered twice: " + std::string(h->name()));
  handlers_.push_back(std::move(h));
}

const handler* handler_registry::find(std::string_view name) const {
  for (const auto& h : handlers_)
    if (h->name() == name) return h.get();
  return nullptr;
}

std::vector<std::string> handler_registry::names() const {
  std::vector<std::string> out;
  for (const auto& h : handlers_)
    out.emplace_back(h->name());
  std::sort(out.begin(), out.end());
  return out;
}

handler_registry builtin_handlers() {
  handler_registry r;
  r.add(make_ticker_handler());
  r.add(make_scan_models_handler());
  r.add(make_hash_files_handler());
  return r;
}

}  // namespace taskwire
