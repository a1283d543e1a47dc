// SPDX-License-Identifier: MIT
#pragma once
// The dashboard's files (web/), compiled into the binary by cmake/embed_web.cmake: the daemon
// serves them without a path on disk to configure, in a container or under systemd alike.
#include <string_view>

namespace taskwire::web {

struct web_asset {
  std::string_view path;  // "/index.html"
  std::string_view content_type;
  std::string_view etag;  // quoted, as the header carries it
  std::string_view body;
};

// The file for a request path ("/" is "/index.html"), or null.
const web_asset* find_asset(std::string_view path);

}  // namespace taskwire::web
