// SPDX-License-Identifier: MIT
#include "client/screen.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

namespace taskwire::cli {

void screen::erase() {
  if (drawn_.empty()) return;
  // To the start of the first progress line, then clear everything below.
  std::fprintf(out_, "\x1b[%zuF\x1b[J", drawn_.size());
}

void screen::print(const std::string& line, const std::vector<std::string>& bars) {
  erase();
  std::fputs(line.c_str(), out_);
  std::fputc('\n', out_);
  drawn_.clear();
  draw(bars);
}

void screen::draw(const std::vector<std::string>& lines) {
  erase();
  for (const auto& l : lines) {
    std::fputs(l.c_str(), out_);
    std::fputc('\n', out_);
  }
  drawn_ = lines;
  std::fflush(out_);
}

void screen::release() {
  drawn_.clear();
}

int screen::width() const {
  winsize ws{};
  if (::ioctl(::fileno(out_), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

}  // namespace taskwire::cli
