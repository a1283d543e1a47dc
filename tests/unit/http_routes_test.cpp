// SPDX-License-Identifier: MIT
#include "server/http_routes.hpp"

#include <gtest/gtest.h>

namespace taskwire::routes {
namespace {

TEST(ClientId, Pattern) {
  EXPECT_TRUE(valid_client_id("a"));
  EXPECT_TRUE(valid_client_id("A-z_0.9"));
  EXPECT_TRUE(valid_client_id(std::string(64, 'x')));
  EXPECT_FALSE(valid_client_id(""));
  EXPECT_FALSE(valid_client_id(std::string(65, 'x')));
  for (auto bad : {"a b", "a/b", "a%b", "é", "a\nb", "a:b"})
    EXPECT_FALSE(valid_client_id(bad)) << bad;
}

TEST(Token, MatchesOnlyTheWholeToken) {
  EXPECT_TRUE(token_matches("s3cret", "s3cret"));
  EXPECT_FALSE(token_matches("s3cre", "s3cret"));
  EXPECT_FALSE(token_matches("s3crett", "s3cret"));
  EXPECT_FALSE(token_matches("S3cret", "s3cret"));
  EXPECT_FALSE(token_matches("", ""));
  EXPECT_FALSE(token_matches("x", ""));
}

}  // namespace
}  // namespace taskwire::routes
