// fetchToFile: every refused destination class (IPv4 and IPv6, literal and resolved), redirects
// re-checked per hop, the allow-list, size caps with and without a truthful Content-Length.
// Refusals happen before curl runs, so no test connects anywhere but loopback.
#include "node-daemon/storage/http_fetcher.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <stdlib.h>

#include "tests/mocks/fake_resolver.h"
#include "tests/unit/node-daemon/storage/test_http_server.h"

namespace novacron::node::storage {
namespace {
namespace fs = std::filesystem;
using testing::Response;
using testing::Routes;
using testing::TestHttpServer;

class HttpFetcherTest : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/novacron-fetch-XXXXXX";
    dir_ = mkdtemp(tmpl);
    resolver_ = std::make_shared<novacron::testing::FakeResolver>();
    options_.resolver = resolver_;
    options_.max_time = std::chrono::seconds(60);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void allow(const std::string& list) {
    auto p = DestinationPolicy::parse(list);
    ASSERT_TRUE(p.isOk()) << p.status();
    options_.policy = *p;
  }
  core::Status fetch(const std::string& url) { return fetchToFile(url, dir_ + "/out", options_); }
  std::string out() {
    std::ifstream in(dir_ + "/out");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::string dir_;
  std::shared_ptr<novacron::testing::FakeResolver> resolver_;
  FetchOptions options_;
};

void expectRefused(const core::Status& s, const std::string& cls) {
  EXPECT_EQ(s.code(), core::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find(cls), std::string::npos) << s;
}

TEST_F(HttpFetcherTest, RefusesEachDestinationClassBeforeConnecting) {
  TestHttpServer server(testing::Bodies{{"/img", "bytes"}});
  // If a check ever failed open, `false` stands in for curl: no packet can leave the machine.
  options_.curl = "false";
  const std::string port = std::to_string(server.port());
  // Literal addresses. The loopback one is a live server: refusing it proves the check, not luck.
  expectRefused(fetch(server.url("/img")), "loopback");
  expectRefused(fetch("http://[::1]:" + port + "/img"), "loopback");
  expectRefused(fetch("http://169.254.169.254/latest/meta-data/"), "link-local");
  expectRefused(fetch("http://[fe80::1]/x"), "link-local");
  expectRefused(fetch("http://10.0.0.1/x"), "private");
  expectRefused(fetch("http://192.168.0.10/x"), "private");
  expectRefused(fetch("http://100.64.1.1/x"), "CGNAT");
  expectRefused(fetch("http://[fd00::1]/x"), "private");
  expectRefused(fetch("http://224.0.0.251/x"), "multicast");
  expectRefused(fetch("http://[ff02::1]/x"), "multicast");
  expectRefused(fetch("http://0.0.0.0:" + port + "/img"), "unspecified");
  expectRefused(fetch("http://255.255.255.255/x"), "broadcast");
  expectRefused(fetch("http://[::ffff:127.0.0.1]:" + port + "/img"), "loopback");
  // Names, through the resolver.
  const std::vector<std::pair<std::string, std::string>> names = {
      {"metadata.test", "169.254.169.254"}, {"lo.test", "127.0.0.1"}, {"lo6.test", "::1"},
      {"lan.test", "172.20.0.4"},           {"ula.test", "fd12::4"},  {"mc.test", "239.0.0.1"},
  };
  for (const auto& [host, addr] : names) {
    resolver_->set(host, {addr});
    expectRefused(fetch("http://" + host + ":" + port + "/img"),
                  refusedClass(*IpAddress::parse(addr)));
  }
  // Every address counts: one private address among public ones refuses the host.
  resolver_->set("mixed.test", {"93.184.216.34", "10.1.1.1"});
  expectRefused(fetch("http://mixed.test/img"), "private");
  EXPECT_EQ(server.requests("/img"), 0) << "nothing may reach the server";
  EXPECT_FALSE(fs::exists(dir_ + "/out"));
}

TEST_F(HttpFetcherTest, AllowListLetsALoopbackServerThroughPinnedToTheCheckedAddress) {
  TestHttpServer server(testing::Bodies{{"/img", "image-bytes"}});
  allow("127.0.0.0/8");
  // "images.test" exists only in the fake resolver: curl can reach it only through --resolve.
  resolver_->set("images.test", {"127.0.0.1"});
  ASSERT_TRUE(fetch("http://images.test:" + std::to_string(server.port()) + "/img").isOk());
  EXPECT_EQ(out(), "image-bytes");
  ASSERT_TRUE(fetch(server.url("/img")).isOk());
  EXPECT_EQ(server.requests("/img"), 2);
}

TEST_F(HttpFetcherTest, RedirectsAreFollowedHereAndEveryHopIsChecked) {
  allow("127.0.0.0/8");
  resolver_->set("internal.test", {"10.0.0.7"});
  Routes routes;
  routes["/img"].body = "final-bytes";
  routes["/to-img"] = Response{302, "", {{"Location", "/img"}}};
  routes["/to-metadata"] =
      Response{302, "", {{"Location", "http://169.254.169.254/latest/meta-data/"}}};
  routes["/to-internal"] = Response{301, "", {{"Location", "http://internal.test/secret"}}};
  routes["/to-file"] = Response{302, "", {{"Location", "file:///etc/passwd"}}};
  routes["/loop"] = Response{302, "", {{"Location", "/loop"}}};
  TestHttpServer server(routes);

  ASSERT_TRUE(fetch(server.url("/to-img")).isOk());
  EXPECT_EQ(out(), "final-bytes");
  expectRefused(fetch(server.url("/to-metadata")), "link-local");
  expectRefused(fetch(server.url("/to-internal")), "private");
  EXPECT_EQ(fetch(server.url("/to-file")).code(), core::StatusCode::kInvalidArgument);
  auto loop = fetch(server.url("/loop"));
  EXPECT_EQ(loop.code(), core::StatusCode::kInvalidArgument) << loop;
  EXPECT_EQ(server.requests("/loop"), options_.max_redirects + 1);
}

TEST_F(HttpFetcherTest, TooLargeWithAndWithoutATruthfulContentLength) {
  allow("127.0.0.0/8");
  options_.max_bytes = 256 * 1024;
  const std::string big(1 << 20, 'z');
  Routes routes;
  routes["/announced"].body = big;
  routes["/unannounced"] = Response{200, big, {}, /*content_length=*/false};
  routes["/fits"] = Response{200, std::string(1000, 'a'), {}, false};
  TestHttpServer server(routes);
  for (const char* path : {"/announced", "/unannounced"}) {
    auto s = fetch(server.url(path));
    EXPECT_EQ(s.code(), core::StatusCode::kInvalidArgument) << path << ": " << s;
    EXPECT_NE(s.message().find("larger than the node's limit"), std::string::npos) << s;
    EXPECT_FALSE(fs::exists(dir_ + "/out")) << path << ": a cut-off body is not kept";
  }
  ASSERT_TRUE(fetch(server.url("/fits")).isOk());
  EXPECT_EQ(out().size(), 1000u);
}

TEST_F(HttpFetcherTest, NoGlobbingAndHttpErrorsAreUnavailable) {
  allow("127.0.0.0/8");
  TestHttpServer server(testing::Bodies{{"/img[1-2]{a,b}", "literal"}});
  ASSERT_TRUE(fetch(server.url("/img[1-2]{a,b}")).isOk());
  EXPECT_EQ(out(), "literal");
  EXPECT_EQ(server.requests("/img[1-2]{a,b}"), 1);
  auto s = fetch(server.url("/missing"));
  EXPECT_EQ(s.code(), core::StatusCode::kUnavailable) << s;
  EXPECT_NE(s.message().find("HTTP 404"), std::string::npos) << s;
}

}  // namespace
}  // namespace novacron::node::storage
