#include "lib/runtime/manager.h"

#include <future>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "tests/mocks/fake_clock.h"
#include "tests/mocks/mock_kube_client.h"

namespace novacron::runtime {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class ManagerTest : public ::testing::Test {
protected:
  void record(const std::string& what) {
    std::lock_guard lock(mu_);
    log_.push_back(what);
  }
  std::vector<std::string> log() {
    std::lock_guard lock(mu_);
    return log_;
  }
  bool eventually(const std::function<bool()>& cond) {
    const auto deadline = std::chrono::steady_clock::now() + seconds(10);
    while (!cond()) {
      if (std::chrono::steady_clock::now() > deadline) {
        return false;
      }
      std::this_thread::yield();
    }
    return true;
  }
  void addComponents(Manager& m) {
    m.add(
        "a", [this] { record("start a"); }, [this] { record("stop a"); });
    m.add(
        "b", [this] { record("start b"); }, [this] { record("stop b"); });
  }
  LeaderElectionConfig election() {
    LeaderElectionConfig c;
    c.lease_namespace = "novacron-system";
    c.lease_name = "novacron-controller";
    c.identity = "me";
    c.retry_period = milliseconds(500);
    c.clock = clock_;
    c.registry = std::make_shared<prometheus::Registry>();
    return c;
  }

  std::shared_ptr<testing::FakeClock> clock_ = std::make_shared<testing::FakeClock>();
  std::shared_ptr<testing::FakeClient> client_ = std::make_shared<testing::FakeClient>(clock_);
  std::mutex mu_;
  std::vector<std::string> log_;  // guarded by mu_
};

TEST_F(ManagerTest, WithoutLeaderElectionStartsAtOnceAndStopsInReverseOrder) {
  Manager m(client_, {.leader_elect = false, .election = {}});
  addComponents(m);
  auto result = std::async(std::launch::async, [&] { return m.run(); });
  ASSERT_TRUE(eventually([&] { return log().size() == 2; }));
  EXPECT_EQ(log(), (std::vector<std::string>{"start a", "start b"}));
  m.stop();
  EXPECT_TRUE(result.get().isOk());
  EXPECT_EQ(log(), (std::vector<std::string>{"start a", "start b", "stop b", "stop a"}));
}

TEST_F(ManagerTest, StopBeforeRunReturnsWithoutStarting) {
  Manager m(client_, {.leader_elect = true, .election = election()});
  addComponents(m);
  m.stop();
  EXPECT_TRUE(m.run().isOk());
  EXPECT_TRUE(log().empty());
}

TEST_F(ManagerTest, StartsWhenLeadingAndStopsOnStop) {
  Manager m(client_, {.leader_elect = true, .election = election()});
  addComponents(m);
  auto result = std::async(std::launch::async, [&] { return m.run(); });
  ASSERT_TRUE(eventually([&] { return log().size() == 2; }));
  auto lease = client_->get(kube::kLease, "novacron-system", "novacron-controller");
  ASSERT_TRUE(lease.isOk());
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "me");
  m.stop();
  EXPECT_TRUE(result.get().isOk());
  EXPECT_EQ(log(), (std::vector<std::string>{"start a", "start b", "stop b", "stop a"}));
}

TEST_F(ManagerTest, LostLeadershipStopsComponentsAndReturnsAborted) {
  Manager m(client_, {.leader_elect = true, .election = election(), .on_lost_leadership = [this] {
                        record("lost");
                      }});
  addComponents(m);
  auto result = std::async(std::launch::async, [&] { return m.run(); });
  ASSERT_TRUE(eventually([&] { return log().size() == 2; }));
  client_->failNext(testing::FakeClient::Verb::kUpdate, "leases",
                    core::unavailableError("apiserver down"), 1'000'000);
  // Renewals fail on every retry period until the renew deadline (10 s) passes.
  auto done = [&] { return result.wait_for(milliseconds(0)) == std::future_status::ready; };
  for (int step = 0; step < 100 && !done(); ++step) {
    ASSERT_TRUE(eventually([&] { return clock_->waiters() >= 1 || done(); }));
    clock_->advance(milliseconds(500));
  }
  EXPECT_EQ(result.get().code(), core::StatusCode::kAborted);
  // The loss is reported before the components stop (issue 18: the process bounds its exit).
  EXPECT_EQ(log(), (std::vector<std::string>{"start a", "start b", "lost", "stop b", "stop a"}));
}

}  // namespace
}  // namespace novacron::runtime
