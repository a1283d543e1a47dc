// SPDX-License-Identifier: MIT
#include "handlers/paths.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace taskwire::paths {
namespace {

class paths_test : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("twpaths-" + std::to_string(getpid()));
    fs::remove_all(base_);
    fs::create_directories(base_ / "models/checkpoints");
    fs::create_directories(base_ / "loras");
    fs::create_directories(base_ / "outside");
    std::ofstream(base_ / "models/checkpoints/a.safetensors") << "x";
    std::ofstream(base_ / "outside/secret.txt") << "x";
    fs::create_symlink(base_ / "outside", base_ / "models/escape");
    fs::create_symlink(base_ / "loras", base_ / "models/to-loras");
    cfg_.roots = {{"models", fs::canonical(base_ / "models").string()},
                  {"loras", fs::canonical(base_ / "loras").string()}};
  }
  void TearDown() override { fs::remove_all(base_); }

  std::string code(std::optional<std::string> p, std::optional<std::string> r = std::nullopt) {
    auto res = resolve(cfg_, p, r);
    return res.ok ? "ok" : res.err->code;
  }

  fs::path base_;
  config cfg_;
};

TEST_F(paths_test, RelativeToTheFirstRootOrTheNamedOne) {
  auto r = resolve(cfg_, "checkpoints/a.safetensors", std::nullopt);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.ok->root->name, "models");
  EXPECT_EQ(r.ok->rel, "checkpoints/a.safetensors");
  r = resolve(cfg_, std::nullopt, "loras");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.ok->root->name, "loras");
  EXPECT_EQ(r.ok->rel, "");
  r = resolve(cfg_, (base_ / "models/checkpoints").string(), std::nullopt);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.ok->rel, "checkpoints");
}

TEST_F(paths_test, EscapesAreForbiddenAndSayNothingOfWhatIsOutside) {
  for (std::string p : {"../outside", "../outside/secret.txt", "escape", "escape/secret.txt",
                        "/etc/passwd", "/", "checkpoints/../../outside", "escape/missing"}) {
    auto r = resolve(cfg_, p, std::nullopt);
    ASSERT_FALSE(r.ok) << p;
    EXPECT_EQ(r.err->code, "forbidden_path") << p;
    EXPECT_EQ(r.err->message.find("secret"), std::string::npos);
    EXPECT_EQ(r.err->message.find("outside/"), std::string::npos);
  }
}

TEST_F(paths_test, ASymlinkToAnotherRootIsAllowedAndBelongsToIt) {
  auto r = resolve(cfg_, "to-loras", std::nullopt);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.ok->root->name, "loras");
}

TEST_F(paths_test, MissingUnknownAndMalformed) {
  EXPECT_EQ(code("checkpoints/none.gguf"), "not_found");
  EXPECT_EQ(code(std::nullopt, "nope"), "invalid_params");
  EXPECT_EQ(code(""), "invalid_params");
  EXPECT_EQ(code(std::string("a\0b", 3)), "invalid_params");
  cfg_.roots.clear();
  EXPECT_EQ(code("x"), "forbidden_path");
}

TEST(Inside, ComparesWholeComponents) {
  EXPECT_TRUE(inside("/srv/models", "/srv/models"));
  EXPECT_TRUE(inside("/srv/models/a", "/srv/models"));
  EXPECT_FALSE(inside("/srv/models2", "/srv/models"));
  EXPECT_FALSE(inside("/srv", "/srv/models"));
  EXPECT_TRUE(inside("/anything", "/"));
}

}  // namespace
}  // namespace taskwire::paths
