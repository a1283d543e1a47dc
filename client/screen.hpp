// SPDX-License-Identifier: MIT
#pragma once
// The terminal the client draws on: lines scroll above, the progress lines of the tasks stay at
// the bottom and are redrawn in place (ANSI: cursor up, clear to the end of the screen).
#include <cstdio>
#include <string>
#include <vector>

namespace taskwire::cli {

class screen {
 public:
  explicit screen(std::FILE* out) : out_(out) {}
  // A line that stays (an item, a summary, a notice), printed above the progress lines, which
  // are then drawn again as `bars`.
  void print(const std::string& line, const std::vector<std::string>& bars);
  // Replaces the progress lines.
  void draw(const std::vector<std::string>& lines);
  // Leaves what is drawn on the screen: later output goes below it.
  void release();
  // Columns of the terminal (80 when it cannot tell).
  int width() const;

 private:
  void erase();
  std::FILE* out_;
  std::vector<std::string> drawn_;
};

}  // namespace taskwire::cli
