#include "node-daemon/storage/image_store.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <stdlib.h>

#include "node-daemon/domain/naming.h"
#include "tests/unit/node-daemon/storage/test_http_server.h"

namespace novacron::node::storage {
namespace {
namespace fs = std::filesystem;

class ImageStoreTest : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/novacron-images-XXXXXX";
    root_ = mkdtemp(tmpl);
    paths_ = std::make_unique<NodePaths>(root_ + "/vms", root_ + "/images");
    store_ = makeHttpImageStore(*paths_);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::string root_;
  std::unique_ptr<NodePaths> paths_;
  ImageStorePtr store_;
};

TEST_F(ImageStoreTest, DownloadsVerifiesAndCachesOnce) {
  const std::string body = "qcow2-bytes-of-a-tiny-image";
  testing::TestHttpServer server(testing::Bodies{{"/img", body}});
  api::ImageSource src;
  src.url = server.url("/img");
  src.sha256 = domain::sha256Hex(body);

  std::vector<std::thread> threads;
  std::vector<core::StatusOr<std::string>> results(4, core::unavailableError("unset"));
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { results[i] = store_->resolve(src); });
  }
  for (auto& t : threads) {
    t.join();
  }
  for (auto& r : results) {
    ASSERT_TRUE(r.isOk()) << r.status();
    EXPECT_EQ(*r, root_ + "/images/sha256/" + *src.sha256);
  }
  EXPECT_EQ(read(*results[0]), body);
  EXPECT_EQ(server.requests("/img"), 1) << "concurrent resolves must download once";
  // No temporary files left in the cache.
  int files = 0;
  for (const auto& e : fs::directory_iterator(root_ + "/images/sha256")) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST_F(ImageStoreTest, DigestMismatchIsTerminalAndLeavesNothing) {
  testing::TestHttpServer server(testing::Bodies{{"/img", "tampered"}});
  api::ImageSource src;
  src.url = server.url("/img");
  src.sha256 = std::string(64, 'a');
  auto r = store_->resolve(src);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), core::StatusCode::kInvalidArgument) << r.status();
  EXPECT_FALSE(fs::exists(root_ + "/images/sha256/" + *src.sha256));
  EXPECT_TRUE(fs::is_empty(root_ + "/images/sha256"));
}

TEST_F(ImageStoreTest, HttpErrorIsUnavailable) {
  testing::TestHttpServer server(testing::Bodies{});
  api::ImageSource src;
  src.url = server.url("/missing");
  auto r = store_->resolve(src);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), core::StatusCode::kUnavailable) << r.status();
}

TEST_F(ImageStoreTest, NamedImagesResolveInsideTheStoreOnly) {
  api::ImageSource src;
  src.url = "image:tiny-kernel";
  EXPECT_EQ(store_->resolve(src).status().code(), core::StatusCode::kNotFound);
  fs::create_directories(root_ + "/images/named");
  std::ofstream(root_ + "/images/named/tiny-kernel") << "kernel";
  auto r = store_->resolve(src);
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_EQ(*r, root_ + "/images/named/tiny-kernel");

  src.sha256 = domain::sha256Hex("kernel");
  EXPECT_TRUE(store_->resolve(src).isOk());
  src.sha256 = std::string(64, 'b');
  EXPECT_EQ(store_->resolve(src).status().code(), core::StatusCode::kInvalidArgument);

  for (std::string bad : {"image:../../etc/passwd", "image:/etc/passwd", "file:///etc/passwd",
                          "/etc/passwd", "ftp://127.0.0.1/x", "image:"}) {
    api::ImageSource b;
    b.url = bad;
    EXPECT_EQ(store_->resolve(b).status().code(), core::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace novacron::node::storage
