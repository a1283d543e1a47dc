// SPDX-License-Identifier: MIT
// taskwire-demo-models DIR: gives an empty models root a few small, valid model files so that a
// first scan shows real items. Leaves a directory that has any file alone.
#include <cstdio>
#include <exception>

#include "handlers/model_writer.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: taskwire-demo-models DIR\n");
    return 2;
  }
  try {
    int n = taskwire::formats::write_demo_models(argv[1]);
    if (n > 0) std::printf("wrote %d demo model files under %s\n", n, argv[1]);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "taskwire-demo-models: %s\n", e.what());
    return 1;
  }
}
