// WatchHub::waitNext() with a key prefix: a watcher is woken by events under its prefix (issue 15:
// one condition variable for every watcher woke them all on every event) and still receives every
// event past its cursor, of any key, in revision order. Runs the hub on the DevCluster's etcd.
// A missed wake-up shows as a hang (the waits have no deadline), which ctest's timeout fails.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "dev-apiserver/etcd_client.h"
#include "dev-apiserver/watch_hub.h"
#include "tests/testing/dev_cluster.h"
#include "tests/testing/eventually.h"

namespace novacron::devapi {
namespace {

using namespace std::chrono_literals;

const auto kNever = std::chrono::steady_clock::now() + std::chrono::hours(24);

class WatchHubWakeTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto cluster = testing::DevCluster::start();
    ASSERT_TRUE(cluster.isOk()) << cluster.status();
    cluster_ = std::move(*cluster);
    auto etcd = EtcdClient::create(cluster_->etcdEndpoint());
    ASSERT_TRUE(etcd.isOk()) << etcd.status();
    etcd_ = std::move(*etcd);
    hub_ = std::make_unique<WatchHub>(*etcd_, "/test-hub/", 10000);
    // The newest revision the hub's subscribers were given. A member, not a test's local: the
    // subscribers of an event run after its wake-ups, so the last one may still run after the
    // test body returned (writing a local that was gone crashed the test now and then).
    hub_->subscribe([this](const HubEvent& e) { seen_ = std::max(seen_.load(), e.revision); });
    ASSERT_TRUE(hub_->start().isOk());
  }
  void TearDown() override {
    if (hub_) {
      hub_->stop();
    }
  }
  int64_t put(const std::string& key) {
    auto r = etcd_->create(key, "{}");
    EXPECT_TRUE(r.isOk()) << r.status();
    return r.isOk() ? r->revision : 0;
  }

  std::atomic<int64_t> seen_{0};  // declared first: the hub (stopped in TearDown) goes before it
  std::unique_ptr<testing::DevCluster> cluster_;
  std::unique_ptr<EtcdClient> etcd_;
  std::unique_ptr<WatchHub> hub_;
};

TEST_F(WatchHubWakeTest, AWatcherIsWokenByItsPrefixAndGetsEveryEventSinceItsCursor) {
  auto cursor = hub_->cursorAfter(hub_->latestRevision());
  ASSERT_TRUE(cursor);
  std::atomic<bool> returned{false};
  std::vector<HubEventPtr> got;
  std::thread waiter([&] {
    int64_t progress = 0;
    // Until it has the event under its prefix (events of other keys may come first).
    while (std::none_of(got.begin(), got.end(),
                        [](const HubEventPtr& e) { return e->key == "/test-hub/b/1"; })) {
      auto events = hub_->waitNext(*cursor, kNever, &progress, "/test-hub/b/");
      ASSERT_TRUE(events.isOk()) << events.status();
      got.insert(got.end(), events->begin(), events->end());
    }
    returned = true;
  });
  const int64_t a = put("/test-hub/a/1");
  ASSERT_TRUE(hub_->waitForRevision(a, 10s));
  const int64_t b = put("/test-hub/b/1");
  waiter.join();
  ASSERT_TRUE(returned);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0]->key, "/test-hub/a/1");
  EXPECT_EQ(got[0]->revision, a);
  EXPECT_EQ(got[1]->key, "/test-hub/b/1");
  EXPECT_EQ(got[1]->revision, b);
}

TEST_F(WatchHubWakeTest, WatchersOfDifferentPrefixesAndOfEverythingAreAllWoken) {
  std::vector<std::thread> waiters;
  std::atomic<int> done{0};
  for (const std::string prefix : {"/test-hub/a/", "/test-hub/b/", "", "/test-hub/"}) {
    auto cursor = hub_->cursorAfter(hub_->latestRevision());
    ASSERT_TRUE(cursor);
    waiters.emplace_back([&, prefix, cursor]() mutable {
      int64_t progress = 0;
      const std::string want = prefix.empty() ? "/test-hub/b/" : prefix;
      bool seen = false;
      while (!seen) {
        auto events = hub_->waitNext(*cursor, kNever, &progress, prefix);
        ASSERT_TRUE(events.isOk()) << events.status();
        for (const auto& e : *events) {
          seen = seen || e->key.compare(0, want.size(), want) == 0;
        }
      }
      ++done;
    });
  }
  put("/test-hub/a/1");
  put("/test-hub/b/1");
  for (auto& t : waiters) {
    t.join();
  }
  EXPECT_EQ(done.load(), 4);
}

// The hub wakes only the watchers whose prefix an event falls under: a watcher of another prefix,
// parked before the event, is not woken by it (with one condition variable for all it was; this
// test fails if the hub wakes every group). The subscriber runs after the event's wake-ups, so
// once it saw the event the counts are final.
TEST_F(WatchHubWakeTest, AnEventDoesNotWakeAWatcherOfAnotherPrefix) {
  auto quiet_cursor = hub_->cursorAfter(hub_->latestRevision());
  auto busy_cursor = hub_->cursorAfter(hub_->latestRevision());
  ASSERT_TRUE(quiet_cursor && busy_cursor);
  core::Status quiet_result = core::okStatus();
  std::thread quiet([&] {
    int64_t progress = 0;
    quiet_result = hub_->waitNext(*quiet_cursor, kNever, &progress, "/test-hub/quiet/").status();
  });
  std::thread busy([&] {
    int64_t progress = 0;
    auto events = hub_->waitNext(*busy_cursor, kNever, &progress, "/test-hub/b/");
    EXPECT_TRUE(events.isOk()) << events.status();
  });
  ASSERT_TRUE(testing::eventually([&] {
    return hub_->waitersOn("/test-hub/quiet/") == 1 && hub_->waitersOn("/test-hub/b/") == 1;
  }));
  const int64_t b = put("/test-hub/b/1");
  busy.join();  // woken: the attempt the assertion below waits for
  ASSERT_TRUE(testing::eventually([&] { return seen_.load() >= b; }));
  EXPECT_EQ(hub_->wakeupsOf("/test-hub/b/"), 1u);
  EXPECT_EQ(hub_->wakeupsOf("/test-hub/quiet/"), 0u) << "woken by an event of another prefix";
  EXPECT_EQ(hub_->waitersOn("/test-hub/quiet/"), 1);
  hub_->stop();  // wakes every waiter
  quiet.join();
  EXPECT_EQ(quiet_result.code(), core::StatusCode::kCancelled);
  EXPECT_EQ(hub_->wakeupsOf("/test-hub/quiet/"), 1u);
}

// With an interest, a watcher sleeps through the events under its prefix it would not send
// (another node's VMs) and is woken by the first it would, getting every event since its cursor.
// Fails if the hub wakes it for the uninteresting one (it would return with that event alone).
TEST_F(WatchHubWakeTest, AWatcherIsWokenOnlyByTheEventsItIsInterestedIn) {
  auto cursor = hub_->cursorAfter(hub_->latestRevision());
  ASSERT_TRUE(cursor);
  std::atomic<int> calls{0};
  std::vector<HubEventPtr> got;
  std::thread picky([&] {
    int64_t progress = 0;
    const WatchHub::Interest mine = [](const HubEvent& e) { return e.key == "/test-hub/b/mine"; };
    auto events = hub_->waitNext(*cursor, kNever, &progress, "/test-hub/b/", mine);
    ++calls;
    ASSERT_TRUE(events.isOk()) << events.status();
    got = *events;
  });
  ASSERT_TRUE(testing::eventually([&] { return hub_->waitersOn("/test-hub/b/") == 1; }));
  const int64_t other = put("/test-hub/b/other");
  ASSERT_TRUE(testing::eventually([&] { return seen_.load() >= other; }));
  EXPECT_EQ(calls.load(), 0) << "woken by an event it has no interest in";
  EXPECT_EQ(hub_->waitersOn("/test-hub/b/"), 1);
  const int64_t mine = put("/test-hub/b/mine");
  picky.join();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0]->revision, other);
  EXPECT_EQ(got[1]->revision, mine);
}

// Events already past the cursor when the watcher calls again do not make it return unless one
// of them interests it: it sleeps until one does, then gets all of them (fails if waitNext returns
// at once with the uninteresting event, as it did before).
TEST_F(WatchHubWakeTest, PendingEventsItIsNotInterestedInDoNotEndTheWait) {
  auto cursor = hub_->cursorAfter(hub_->latestRevision());
  ASSERT_TRUE(cursor);
  const int64_t other = put("/test-hub/b/other");
  ASSERT_TRUE(testing::eventually([&] { return seen_.load() >= other; }));
  std::atomic<bool> returned{false};
  std::vector<HubEventPtr> got;
  std::thread picky([&] {
    int64_t progress = 0;
    const WatchHub::Interest mine = [](const HubEvent& e) { return e.key == "/test-hub/b/mine"; };
    auto events = hub_->waitNext(*cursor, kNever, &progress, "/test-hub/b/", mine);
    returned = true;
    ASSERT_TRUE(events.isOk()) << events.status();
    got = *events;
  });
  EXPECT_TRUE(testing::eventually([&] { return hub_->waitersOn("/test-hub/b/") == 1; }))
      << "returned at once with an event it has no interest in";
  EXPECT_FALSE(returned);
  const int64_t mine = put("/test-hub/b/mine");
  picky.join();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0]->revision, other);
  EXPECT_EQ(got[1]->revision, mine);
}

// Events it has no interest in must not push a sleeping watcher out of the window: it is woken
// once half the window went by (here 2 of 4 events), and its cursor is still in the window.
TEST_F(WatchHubWakeTest, AnUninterestedWatcherIsWokenBeforeItFallsOutOfTheWindow) {
  WatchHub small(*etcd_, "/test-hub/", 4);
  ASSERT_TRUE(small.start().isOk());
  auto cursor = small.cursorAfter(small.latestRevision());
  ASSERT_TRUE(cursor);
  core::StatusOr<std::vector<HubEventPtr>> result = core::internalError("not returned");
  std::thread picky([&] {
    int64_t progress = 0;
    const WatchHub::Interest nothing = [](const HubEvent&) { return false; };
    result = small.waitNext(*cursor, kNever, &progress, "/test-hub/", nothing);
  });
  ASSERT_TRUE(testing::eventually([&] { return small.waitersOn("/test-hub/") == 1; }));
  for (int i = 0; i < 3; ++i) {
    put("/test-hub/w/" + std::to_string(i));
  }
  picky.join();  // a hang here (ctest's timeout) means it was never woken
  ASSERT_TRUE(result.isOk()) << result.status();
  EXPECT_GE(result->size(), 3u);
  small.stop();
}

TEST_F(WatchHubWakeTest, StopWakesEveryWaiter) {
  auto cursor = hub_->cursorAfter(hub_->latestRevision());
  ASSERT_TRUE(cursor);
  core::Status result = core::okStatus();
  std::thread waiter([&] {
    int64_t progress = 0;
    auto events = hub_->waitNext(*cursor, kNever, &progress, "/test-hub/quiet/");
    result = events.status();
  });
  hub_->stop();
  waiter.join();
  EXPECT_EQ(result.code(), core::StatusCode::kCancelled);
}

}  // namespace
}  // namespace novacron::devapi
