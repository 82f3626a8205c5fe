// ImageStore against a loopback HTTP server and the real qemu-img: downloads off the caller's
// thread, digests, destination checks, crafted images refused, conversion, failures remembered,
// garbage collection (with a fake clock).
#include "node-daemon/storage/image_store.h"

#include <cctype>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <stdlib.h>

#include "node-daemon/domain/naming.h"
#include "node-daemon/storage/process.h"
#include "tests/mocks/fake_clock.h"
#include "tests/mocks/fake_resolver.h"
#include "tests/unit/node-daemon/storage/test_http_server.h"

namespace novacron::node::storage {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::Response;
using testing::Routes;
using testing::TestHttpServer;

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

ImageStore::InUse inSet(std::set<std::string> paths) {
  return [paths = std::move(paths)](const std::string& path) { return paths.count(path) != 0; };
}

bool downloading(const core::Status& s) {
  return s.code() == core::StatusCode::kUnavailable && s.retryAfter().has_value();
}

class ImageStoreTest : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/novacron-images-XXXXXX";
    root_ = mkdtemp(tmpl);
    paths_ = std::make_unique<NodePaths>(root_ + "/vms", root_ + "/images");
    clock_ = std::make_shared<novacron::testing::FakeClock>();
    resolver_ = std::make_shared<novacron::testing::FakeResolver>();
    options_.clock = clock_;
    options_.fetch.resolver = resolver_;
    options_.fetch.policy = *DestinationPolicy::parse("127.0.0.0/8");
    options_.retry_after = 10ms;
    makeStore();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(root_);
  }

  void makeStore() {
    store_.reset();
    store_ = makeHttpImageStore(*paths_, options_);
    store_->setDownloadCallback([this](const std::string& url) {
      std::lock_guard lock(mu_);
      finished_.push_back(url);
      cv_.notify_all();
    });
  }

  // Resolves until the store stops answering "still downloading" (woken by the download
  // callback; bounded by a deadline).
  template <typename F>
  auto untilDone(F f) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (true) {
      auto r = f();
      if (r.isOk() || !downloading(r.status()) || std::chrono::steady_clock::now() > deadline) {
        return r;
      }
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, 50ms);
    }
  }
  core::StatusOr<std::string> resolve(const api::ImageSource& src) {
    return untilDone([&] { return store_->resolve(src); });
  }
  core::StatusOr<BaseImage> resolveDisk(const api::ImageSource& src) {
    return untilDone([&] { return store_->resolveDisk(src); });
  }
  api::ImageSource source(const std::string& url) {
    api::ImageSource s;
    s.url = url;
    return s;
  }
  std::string qcow2Bytes(const std::vector<std::string>& create_args) {
    const std::string path = root_ + "/made.qcow2";
    std::vector<std::string> argv = {"qemu-img", "create", "-q", "-f", "qcow2"};
    // qemu-img create [options] FILE [SIZE]: the size, when given, comes last.
    const bool sized = !create_args.empty() && std::isdigit(create_args.back()[0]);
    argv.insert(argv.end(), create_args.begin(), create_args.end() - (sized ? 1 : 0));
    argv.push_back(path);
    if (sized) {
      argv.push_back(create_args.back());
    }
    auto r = runProcess(argv, 30s);
    EXPECT_TRUE(r.isOk() && r->exit_code == 0) << (r.isOk() ? r->output : "");
    std::string bytes = readFile(path);
    fs::remove(path);
    return bytes;
  }
  int filesIn(const std::string& dir) {
    int n = 0;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      ++n;
    }
    return n;
  }

  std::string root_;
  std::unique_ptr<NodePaths> paths_;
  std::shared_ptr<novacron::testing::FakeClock> clock_;
  std::shared_ptr<novacron::testing::FakeResolver> resolver_;
  HttpImageStoreOptions options_;
  ImageStorePtr store_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> finished_;  // guarded by mu_
};

TEST_F(ImageStoreTest, DownloadsVerifiesAndCachesOnce) {
  const std::string body = "bytes-of-a-tiny-kernel";
  TestHttpServer server(testing::Bodies{{"/img", body}});
  api::ImageSource src = source(server.url("/img"));
  src.sha256 = domain::sha256Hex(body);

  std::vector<std::thread> threads;
  std::vector<core::StatusOr<std::string>> results(4, core::unavailableError("unset"));
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { results[i] = resolve(src); });
  }
  for (auto& t : threads) {
    t.join();
  }
  for (auto& r : results) {
    ASSERT_TRUE(r.isOk()) << r.status();
    EXPECT_EQ(*r, root_ + "/images/sha256/" + *src.sha256);
  }
  EXPECT_EQ(readFile(*results[0]), body);
  EXPECT_EQ(server.requests("/img"), 1) << "concurrent resolves must download once";
  EXPECT_EQ(filesIn(root_ + "/images/sha256"), 1) << "no temporary files left";
  // The worker calls back after the image is in place, so the resolves above can return before
  // it has: wait for the call (the deadline only bounds a hang).
  std::unique_lock lock(mu_);
  ASSERT_TRUE(cv_.wait_for(lock, 60s, [&] { return !finished_.empty(); })) << "no callback";
  EXPECT_EQ(finished_, std::vector<std::string>{src.url}) << "the callback names the URL";
}

TEST_F(ImageStoreTest, DigestMismatchIsTerminalRememberedAndLeavesNothing) {
  TestHttpServer server(testing::Bodies{{"/img", "tampered"}});
  api::ImageSource src = source(server.url("/img"));
  src.sha256 = std::string(64, 'a');
  auto r = resolve(src);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), core::StatusCode::kInvalidArgument) << r.status();
  EXPECT_FALSE(r.status().retryAfter()) << "a failure is not 'still downloading'";
  EXPECT_EQ(filesIn(root_ + "/images/sha256"), 0);
  EXPECT_EQ(store_->resolve(src).status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(server.requests("/img"), 1) << "a failure is remembered, not retried at once";
}

TEST_F(ImageStoreTest, HttpErrorIsUnavailableAndRetriedAfterTheFailureTtl) {
  TestHttpServer server(testing::Bodies{});
  api::ImageSource src = source(server.url("/missing"));
  auto r = resolve(src);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), core::StatusCode::kUnavailable) << r.status();
  EXPECT_FALSE(r.status().retryAfter());
  EXPECT_NE(r.status().message().find("HTTP 404"), std::string::npos) << r.status();
  EXPECT_FALSE(downloading(store_->resolve(src).status()));
  clock_->advance(options_.failure_ttl + 1s);
  EXPECT_TRUE(downloading(store_->resolve(src).status())) << "tried again after the TTL";
  EXPECT_EQ(resolve(src).status().code(), core::StatusCode::kUnavailable);
  EXPECT_EQ(server.requests("/missing"), 2);
}

TEST_F(ImageStoreTest, RefusedDestinationsByDefault) {
  options_.fetch.policy = DestinationPolicy();  // no allow-list
  options_.fetch.curl = "false";                // a failed-open check must not reach the network
  makeStore();
  TestHttpServer server(testing::Bodies{{"/img", "x"}});
  resolver_->set("metadata.test", {"169.254.169.254"});
  for (const auto& [url, cls] : std::vector<std::pair<std::string, std::string>>{
           {server.url("/img"), "loopback"},
           {"http://169.254.169.254/latest/meta-data/iam", "link-local"},
           {"http://metadata.test/x", "link-local"},
           {"http://[fd00::2]/x", "private"}}) {
    auto r = resolveDisk(source(url));
    ASSERT_FALSE(r.isOk()) << url;
    EXPECT_EQ(r.status().code(), core::StatusCode::kInvalidArgument) << r.status();
    EXPECT_NE(r.status().message().find(cls), std::string::npos) << r.status();
  }
  EXPECT_EQ(server.requests("/img"), 0);
}

TEST_F(ImageStoreTest, NamedImagesResolveInsideTheStoreOnly) {
  api::ImageSource src = source("image:tiny-kernel");
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
                          "/etc/passwd", "ftp://127.0.0.1/x", "image:", "http://u@h/x"}) {
    EXPECT_EQ(store_->resolve(source(bad)).status().code(), core::StatusCode::kInvalidArgument)
        << bad;
    EXPECT_EQ(store_->resolveDisk(source(bad)).status().code(), core::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST_F(ImageStoreTest, NamedDiskImagesMustBeStandaloneToo) {
  fs::create_directories(root_ + "/images/named");
  std::ofstream(root_ + "/images/named/evil", std::ios::binary)
      << qcow2Bytes({"-b", "/etc/hostname", "-F", "raw"});
  std::ofstream(root_ + "/images/named/plain.raw", std::ios::binary) << std::string(4096, 'r');
  auto evil = store_->resolveDisk(source("image:evil"));
  EXPECT_EQ(evil.status().code(), core::StatusCode::kInvalidArgument) << evil.status();
  auto plain = store_->resolveDisk(source("image:plain.raw"));
  ASSERT_TRUE(plain.isOk()) << plain.status();
  EXPECT_EQ(plain->format, ImageFormat::kRaw);
}

TEST_F(ImageStoreTest, ServedQcow2WithAHostBackingFileIsRefused) {
  TestHttpServer server(
      testing::Bodies{{"/evil.qcow2", qcow2Bytes({"-b", "/etc/hostname", "-F", "raw"})},
                      {"/data.qcow2", qcow2Bytes({"-o", "data_file=/etc/hostname", "1M"})}});
  auto r = resolveDisk(source(server.url("/evil.qcow2")));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), core::StatusCode::kInvalidArgument) << r.status();
  EXPECT_NE(r.status().message().find("refers to a backing file /etc/hostname; images with "
                                      "backing or data-file references are refused"),
            std::string::npos)
      << r.status();
  auto d = resolveDisk(source(server.url("/data.qcow2")));
  ASSERT_FALSE(d.isOk());
  EXPECT_EQ(d.status().code(), core::StatusCode::kInvalidArgument) << d.status();
  EXPECT_NE(d.status().message().find("data file"), std::string::npos) << d.status();
  EXPECT_EQ(filesIn(root_ + "/images/url"), 0) << "refused bytes are not kept";
}

TEST_F(ImageStoreTest, PlainQcow2AndRawAreConvertedIntoStandaloneQcow2) {
  TestHttpServer server(testing::Bodies{{"/plain.qcow2", qcow2Bytes({"8M"})},
                                        {"/plain.raw", std::string(1 << 20, 'r')}});
  for (const char* path : {"/plain.qcow2", "/plain.raw"}) {
    auto r = resolveDisk(source(server.url(path)));
    ASSERT_TRUE(r.isOk()) << path << ": " << r.status();
    EXPECT_EQ(r->format, ImageFormat::kQcow2);
    EXPECT_EQ(r->path, root_ + "/images/url/" + domain::sha256Hex(server.url(path)) + ".qcow2");
    EXPECT_EQ(*store_->cachedPath(source(server.url(path)), true), r->path);
    auto h = readImageHeader(r->path);
    ASSERT_TRUE(h.isOk());
    EXPECT_EQ(h->format, ImageFormat::kQcow2);
    EXPECT_FALSE(h->backing_file);
    EXPECT_FALSE(h->data_file);
  }
  EXPECT_EQ(filesIn(root_ + "/images/url"), 2) << "only the converted images stay";
}

TEST_F(ImageStoreTest, ASlowDownloadDoesNotBlockAnotherResolve) {
  auto gate = std::make_shared<testing::Gate>();
  Routes slow_routes;
  slow_routes["/slow"] = Response{200, std::string(4096, 's'), {}, true, gate};
  TestHttpServer slow(slow_routes);
  TestHttpServer fast(testing::Bodies{{"/fast", "fast-bytes"}});

  auto first = store_->resolve(source(slow.url("/slow")));
  ASSERT_TRUE(downloading(first.status())) << first.status();
  EXPECT_NE(first.status().message().find("downloading " + slow.url("/slow")), std::string::npos);
  auto other = resolve(source(fast.url("/fast")));
  ASSERT_TRUE(other.isOk()) << other.status() << " (blocked behind the slow download?)";
  auto still = store_->resolve(source(slow.url("/slow")));
  EXPECT_TRUE(downloading(still.status())) << still.status();
  EXPECT_NE(still.status().message().find("bytes so far"), std::string::npos) << still.status();
  gate->release();
  auto done = resolve(source(slow.url("/slow")));
  ASSERT_TRUE(done.isOk()) << done.status();
  EXPECT_EQ(readFile(*done), std::string(4096, 's'));
}

TEST_F(ImageStoreTest, GarbageCollectsImagesUnusedForTheGracePeriod) {
  TestHttpServer server(testing::Bodies{{"/a", "aaaa"}, {"/b", "bbbb"}});
  fs::create_directories(root_ + "/images/named");
  std::ofstream(root_ + "/images/named/keep") << "operator's";
  auto a = resolve(source(server.url("/a")));
  auto b = resolve(source(server.url("/b")));
  ASSERT_TRUE(a.isOk() && b.isOk());
  const std::set<std::string> in_use = {*a};
  EXPECT_EQ(store_->collectGarbage(inSet(in_use)), 0) << "b just became unused";
  clock_->advance(options_.gc_grace / 2);
  EXPECT_EQ(store_->collectGarbage(inSet(in_use)), 0);
  clock_->advance(options_.gc_grace / 2 + 1s);
  EXPECT_EQ(store_->collectGarbage(inSet(in_use)), 1);
  EXPECT_TRUE(fs::exists(*a));
  EXPECT_FALSE(fs::exists(*b));
  EXPECT_TRUE(fs::exists(root_ + "/images/named/keep")) << "named images are never collected";
  // Used again before the grace ran out: the clock starts over.
  EXPECT_EQ(store_->collectGarbage(inSet({})), 0);
  clock_->advance(options_.gc_grace - 1s);
  ASSERT_TRUE(store_->resolve(source(server.url("/a"))).isOk());
  EXPECT_EQ(store_->collectGarbage(inSet({})), 0);
  clock_->advance(2s);
  EXPECT_EQ(store_->collectGarbage(inSet({})), 0) << "a was resolved 2 s ago";
  // A collected image is downloaded again when needed.
  ASSERT_TRUE(resolve(source(server.url("/b"))).isOk());
  EXPECT_EQ(server.requests("/b"), 2);
}

}  // namespace
}  // namespace novacron::node::storage
