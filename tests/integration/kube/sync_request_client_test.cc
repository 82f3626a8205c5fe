// SyncRequestClient's pool of idle keep-alive connections against a local HTTPS server: one
// connection reused by sequential requests, idle connections closed after the idle timeout (an
// injected clock), and no more than max_idle kept after a burst of concurrent requests.
#include "lib/kube/sync_request_client.h"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/kube/test_pki.h"
#include "tests/integration/kube/tls_test_server.h"
#include "tests/mocks/fake_clock.h"
#include "tests/testing/eventually.h"

namespace novacron::kube {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::FakeClock;
using testing::TestHttpRequest;
using testing::TestResponder;
using testing::TlsTestServer;

const testing::TestPki& pki() {
  return testing::sharedTestPki();
}

std::shared_ptr<const TlsMaterial> trust() {
  static const auto kTls = std::make_shared<const TlsMaterial>(TlsMaterial{pki().ca_pem, "", ""});
  return kTls;
}

core::StatusOr<HttpResponse> get(SyncRequestClient& client) {
  return client.send(HttpRequest{"GET", "/api", {}, "", {}}, {}, trust(), 10s);
}

TEST(SyncRequestClientTest, SequentialRequestsReuseOneConnection) {
  TlsTestServer server(pki(), false,
                       [](const TestHttpRequest&, TestResponder& out) { out.respond(200, "{}"); });
  auto client = SyncRequestClient::create(server.url(), false);
  ASSERT_TRUE(client.isOk()) << client.status();
  for (int i = 0; i < 3; ++i) {
    auto response = get(**client);
    ASSERT_TRUE(response.isOk()) << response.status();
    EXPECT_EQ(response->status, 200);
  }
  EXPECT_EQ(server.requests(), 3);
  EXPECT_EQ(server.connectionsAccepted(), 1);
}

TEST(SyncRequestClientTest, ClosesAConnectionIdleForTheIdleTimeout) {
  TlsTestServer server(pki(), false,
                       [](const TestHttpRequest&, TestResponder& out) { out.respond(200, "{}"); });
  auto clock = std::make_shared<FakeClock>();
  ConnectionPoolOptions pool;
  pool.idle_timeout = 90s;
  pool.clock = clock;
  auto client = SyncRequestClient::create(server.url(), false, pool);
  ASSERT_TRUE(client.isOk()) << client.status();
  ASSERT_TRUE(get(**client).isOk());
  ASSERT_TRUE(clock->awaitWaiters(1));  // the reaper waits for the clock

  // Idle for less than the timeout: the next request still finds it.
  clock->advance(89s);
  ASSERT_TRUE(get(**client).isOk());
  EXPECT_EQ(server.connectionsAccepted(), 1);
  EXPECT_EQ(server.connectionsOpen(), 1);

  // Idle for the timeout since that request: closed without any request to notice it.
  clock->advance(90s);
  EXPECT_TRUE(eventually([&] { return server.connectionsOpen() == 0; }));
  ASSERT_TRUE(get(**client).isOk());
  EXPECT_EQ(server.connectionsAccepted(), 2);
}

TEST(SyncRequestClientTest, KeepsAtMostMaxIdleConnectionsAfterABurst) {
  constexpr int kConcurrent = 3;
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  // Answers only once all requests are in, so each had a connection of its own.
  TlsTestServer server(pki(), false, [&](const TestHttpRequest&, TestResponder& out) {
    {
      std::unique_lock lock(mu);
      ++arrived;
      cv.notify_all();
      cv.wait_for(lock, 10s, [&] { return arrived >= kConcurrent; });
    }
    out.respond(200, "{}");
  });
  ConnectionPoolOptions pool;
  pool.max_idle = 1;
  auto client = SyncRequestClient::create(server.url(), false, pool);
  ASSERT_TRUE(client.isOk()) << client.status();
  std::vector<std::thread> threads;
  std::vector<int> ok(kConcurrent,
                      0);  // not vector<bool>: its elements share words, concurrent writes race
  for (int i = 0; i < kConcurrent; ++i) {
    threads.emplace_back([&, i] { ok[i] = get(**client).isOk() ? 1 : 0; });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok, std::vector<int>(kConcurrent, 1));
  EXPECT_EQ(server.connectionsAccepted(), kConcurrent);
  EXPECT_TRUE(eventually([&] { return server.connectionsOpen() == 1; }))
      << server.connectionsOpen() << " connections still open";
  // The one kept is reused.
  ASSERT_TRUE(get(**client).isOk());
  EXPECT_EQ(server.connectionsAccepted(), kConcurrent);
}

}  // namespace
}  // namespace novacron::kube
