// TokenSource re-reads a rotated token file and survives a missing file after the first read.
#include "lib/kube/token_source.h"

#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

namespace novacron::kube {
namespace {

namespace fs = std::filesystem;

TEST(TokenSourceTest, FixedToken) {
  TokenSource source("abc", "");
  EXPECT_EQ(*source.token(), "abc");
}

TEST(TokenSourceTest, RereadsRotatedFile) {
  std::random_device rd;
  fs::path dir = fs::temp_directory_path() / ("kube_token_test_" + std::to_string(rd()));
  fs::create_directories(dir);
  fs::path file = dir / "token";
  std::ofstream(file) << "first\n";
  TokenSource source("ignored", file.string());
  EXPECT_EQ(*source.token(), "first");

  // Rotation as the kubelet does it: a new file with a different size/mtime.
  std::ofstream(file) << "second-token\n";
  fs::last_write_time(file, fs::last_write_time(file) + std::chrono::seconds(1));
  EXPECT_EQ(*source.token(), "second-token");

  // A transiently missing file keeps the last good token.
  fs::remove(file);
  EXPECT_EQ(*source.token(), "second-token");
  fs::remove_all(dir);

  TokenSource missing("", (dir / "nope").string());
  EXPECT_EQ(missing.token().status().code(), core::StatusCode::kNotFound);
}

}  // namespace
}  // namespace novacron::kube
