#include "lib/runtime/leader_election.h"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "tests/mocks/fake_clock.h"
#include "tests/mocks/mock_kube_client.h"
#include "tests/testing/eventually.h"

namespace novacron::runtime {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeClient;

using testing::eventually;

// A candidate running LeaderElector::run() on its own thread.
struct Candidate {
  std::unique_ptr<LeaderElector> elector;
  std::atomic<bool> working{false};
  std::atomic<bool> stopped_leading{false};
  std::future<core::Status> result;

  Candidate(kube::ClientPtr client, LeaderElectionConfig config) {
    LeaderCallbacks callbacks;
    callbacks.on_started_leading = [this](std::stop_token stop) {
      working = true;
      std::mutex mu;
      std::condition_variable_any cv;
      std::unique_lock lock(mu);
      cv.wait(lock, stop, [] { return false; });  // until the stop token fires
      working = false;
    };
    callbacks.on_stopped_leading = [this] { stopped_leading = true; };
    elector = std::make_unique<LeaderElector>(std::move(client), std::move(config), callbacks);
    result = std::async(std::launch::async, [this] { return elector->run(); });
  }
  ~Candidate() {
    elector->stop();
    if (result.valid()) {
      result.wait();
    }
  }
};

// A client whose lease updates hang, once block() was called, until unblock(): a request that
// never answers (half-open connection, client timeout longer than the lease).
class HangingLeaseClient final : public kube::Client {
public:
  explicit HangingLeaseClient(std::shared_ptr<FakeClient> inner) : inner_(std::move(inner)) {}
  void block() {
    std::lock_guard lock(mu_);
    blocking_ = true;
  }
  void unblock() {
    {
      std::lock_guard lock(mu_);
      blocking_ = false;
    }
    cv_.notify_all();
  }
  int hanging() {
    std::lock_guard lock(mu_);
    return hanging_;
  }

  core::StatusOr<json> get(const kube::ResourceType& r, std::string_view ns,
                           std::string_view name) override {
    return inner_->get(r, ns, name);
  }
  core::StatusOr<json> list(const kube::ResourceType& r, std::string_view ns,
                            const kube::ListOptions& o) override {
    return inner_->list(r, ns, o);
  }
  core::StatusOr<json> create(const kube::ResourceType& r, std::string_view ns,
                              const json& o) override {
    return inner_->create(r, ns, o);
  }
  core::StatusOr<json> update(const kube::ResourceType& r, std::string_view ns,
                              const json& o) override {
    std::unique_lock lock(mu_);
    ++hanging_;
    cv_.wait(lock, [this] { return !blocking_; });
    --hanging_;
    lock.unlock();
    return inner_->update(r, ns, o);
  }
  core::StatusOr<json> updateStatus(const kube::ResourceType& r, std::string_view ns,
                                    const json& o) override {
    return inner_->updateStatus(r, ns, o);
  }
  core::StatusOr<json> patch(const kube::ResourceType& r, std::string_view ns,
                             std::string_view name, kube::PatchType type, const json& p,
                             std::string_view sub) override {
    return inner_->patch(r, ns, name, type, p, sub);
  }
  core::Status remove(const kube::ResourceType& r, std::string_view ns, std::string_view name,
                      const kube::DeleteOptions& o) override {
    return inner_->remove(r, ns, name, o);
  }
  core::StatusOr<kube::WatchHandlePtr> watch(const kube::ResourceType& r, std::string_view ns,
                                             const kube::WatchOptions& o,
                                             kube::WatchCallback cb) override {
    return inner_->watch(r, ns, o, std::move(cb));
  }

private:
  std::shared_ptr<FakeClient> inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool blocking_ = false;  // guarded by mu_
  int hanging_ = 0;        // guarded by mu_
};

class LeaderElectionTest : public ::testing::Test {
protected:
  LeaderElectionConfig config(const std::string& identity) {
    LeaderElectionConfig c;
    c.lease_namespace = "kube-system";
    c.lease_name = "novacron-controller";
    c.identity = identity;
    c.retry_period = milliseconds(5);  // on the fake clock, like expiry
    c.clock = clock_;
    c.registry = registry_;
    return c;
  }
  json lease() {
    auto got = fake_->get(kube::kLease, "kube-system", "novacron-controller");
    return got.isOk() ? *got : json();
  }
  std::string holder() {
    json l = lease();
    return l.is_null() ? "" : l["spec"].value("holderIdentity", "");
  }
  // Advances the fake clock by `d` and waits until `n` candidates have each made their attempt and
  // wait out their retry period again (their new deadline lies after the advance, and within a
  // second of it): one observable attempt each. A leader whose renewal is still in flight waits
  // until its renew deadline instead, 10 s ahead; counting it as done would let the next advances
  // push the clock past that deadline before a slow machine ran the renewal.
  void advanceAndAwaitAttempts(std::chrono::nanoseconds d, size_t n) {
    clock_->advance(d);
    const auto now = clock_->now();
    ASSERT_TRUE(eventually([&] {
      auto next = clock_->nextDeadline();
      return clock_->waitersDueWithin(seconds(1)) >= n && next && *next > now;
    }));
  }
  // Advances the fake clock in 1 s steps, letting renewals happen in between. Each step waits
  // until all `candidates` wait out their retry period (not a renewal in flight, which waits until
  // its renew deadline), so that the advance wakes each of them for one more attempt.
  void advanceWithRenewals(int seconds_total, size_t candidates = 1) {
    for (int i = 0; i < seconds_total; ++i) {
      ASSERT_TRUE(eventually([&] { return clock_->waitersDueWithin(seconds(1)) >= candidates; }));
      const json before = lease();
      clock_->advance(seconds(1));
      ASSERT_TRUE(
          eventually([&] { return lease()["spec"]["renewTime"] != before["spec"]["renewTime"]; }));
    }
  }

  std::shared_ptr<testing::FakeClock> clock_ = std::make_shared<testing::FakeClock>();
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  std::shared_ptr<FakeClient> fake_ = std::make_shared<FakeClient>(clock_);
};

TEST_F(LeaderElectionTest, CreatesTheLeaseAndLeadsThenReleasesOnStop) {
  auto a = std::make_unique<Candidate>(fake_, config("a"));
  ASSERT_TRUE(eventually([&] { return a->elector->isLeader() && a->working; }));
  json l = lease();
  EXPECT_EQ(l["spec"]["holderIdentity"], "a");
  EXPECT_EQ(l["spec"]["leaseDurationSeconds"], 15);
  EXPECT_EQ(l["spec"]["leaseTransitions"], 0);
  EXPECT_EQ(l["spec"]["acquireTime"], l["spec"]["renewTime"]);
  EXPECT_EQ(a->elector->leader(), "a");
  advanceWithRenewals(3);
  EXPECT_TRUE(a->elector->isLeader());

  a->elector->stop();
  EXPECT_TRUE(a->result.get().isOk());
  EXPECT_FALSE(a->working);
  EXPECT_TRUE(a->stopped_leading);
  EXPECT_EQ(holder(), "");  // released for a fast hand-over
  EXPECT_EQ(lease()["spec"]["leaseDurationSeconds"], 1);
}

TEST_F(LeaderElectionTest, SecondCandidateWaitsUntilTheLeaseExpiresOnItsOwnClock) {
  auto ca = config("a");
  ca.release_on_cancel = false;  // a dies without releasing
  auto a = std::make_unique<Candidate>(fake_, ca);
  ASSERT_TRUE(eventually([&] { return a->elector->isLeader(); }));
  Candidate b(fake_, config("b"));
  ASSERT_TRUE(eventually([&] { return b.elector->leader() == "a"; }));
  advanceWithRenewals(20, 2);  // a keeps renewing: b never gets it
  EXPECT_FALSE(b.elector->isLeader());
  EXPECT_EQ(holder(), "a");

  a.reset();  // a stops renewing
  EXPECT_EQ(holder(), "a");
  ASSERT_TRUE(eventually([&] { return clock_->waiters() == 1; }));  // only b is left
  for (int s = 1; s <= 14; ++s) {
    advanceAndAwaitAttempts(seconds(1), 1);  // b tried once more
    ASSERT_EQ(holder(), "a") << "b took over after only " << s << " s";
  }
  clock_->advance(seconds(2));
  ASSERT_TRUE(eventually([&] { return b.elector->isLeader() && b.working; }));
  EXPECT_EQ(holder(), "b");
  EXPECT_EQ(lease()["spec"]["leaseTransitions"], 1);
}

TEST_F(LeaderElectionTest, LosingRenewalsPastTheDeadlineStopsTheWork) {
  Candidate a(fake_, config("a"));
  ASSERT_TRUE(eventually([&] { return a.elector->isLeader() && a.working; }));
  fake_->failNext(FakeClient::Verb::kUpdate, "leases", core::unavailableError("apiserver down"),
                  1'000'000);
  advanceAndAwaitAttempts(seconds(9), 1);  // one failed renewal, 1 s before the deadline
  EXPECT_TRUE(a.elector->isLeader());
  EXPECT_TRUE(a.working);
  clock_->advance(seconds(1));
  // A paused-then-resumed leader stops believing at once, before its renew loop notices.
  EXPECT_FALSE(a.elector->isLeader());
  ASSERT_EQ(a.result.wait_for(seconds(10)), std::future_status::ready);
  EXPECT_EQ(a.result.get().code(), core::StatusCode::kAborted);
  EXPECT_FALSE(a.working);
  EXPECT_TRUE(a.stopped_leading);
}

// Regression (issue 18): a renewal that hangs longer than the lease must not keep the work running.
TEST_F(LeaderElectionTest, AHangingRenewalLosesLeadershipAtTheRenewDeadline) {
  auto hanging = std::make_shared<HangingLeaseClient>(fake_);
  struct Unblock {
    std::shared_ptr<HangingLeaseClient> c;
    ~Unblock() { c->unblock(); }
  };
  Unblock unblock_first{hanging};  // declared before `a`: destroyed after it
  auto a = std::make_unique<Candidate>(hanging, config("a"));
  ASSERT_TRUE(eventually([&] { return a->elector->isLeader() && a->working; }));
  hanging->block();
  ASSERT_TRUE(eventually([&] { return clock_->waitersDueWithin(seconds(1)) == 1; }));  // idle
  clock_->advance(seconds(1));
  ASSERT_TRUE(eventually([&] { return hanging->hanging() == 1; }));  // a renewal hangs
  clock_->advance(seconds(10));                                      // past the renew deadline
  EXPECT_FALSE(a->elector->isLeader());
  ASSERT_EQ(a->result.wait_for(seconds(10)), std::future_status::ready)
      << "run() still waits for the hanging renewal";
  EXPECT_EQ(a->result.get().code(), core::StatusCode::kAborted);
  EXPECT_FALSE(a->working);
  EXPECT_TRUE(a->stopped_leading);
  hanging->unblock();
  a.reset();
}

// Regression (issue 18, seed 2017): the work's shutdown (workers in requests to a frozen API
// server) and the hung renewal can outlast the lease by far; the process must learn of the loss
// at once, so it can bound its exit (core::ExitDeadline), not after the work has returned.
TEST_F(LeaderElectionTest, ALostLeaseIsReportedAtOnceEvenWhileTheWorkStillRuns) {
  auto hanging = std::make_shared<HangingLeaseClient>(fake_);
  std::mutex work_mu;
  std::condition_variable work_cv;
  bool release_work = false;  // guarded by work_mu
  std::atomic<bool> working{false};
  std::atomic<int> lost_calls{0};
  LeaderCallbacks callbacks;
  callbacks.on_started_leading = [&](std::stop_token) {
    working = true;
    std::unique_lock lock(work_mu);
    work_cv.wait(lock, [&] { return release_work; });  // ignores the stop token: a hung worker
    working = false;
  };
  callbacks.on_lost_leadership = [&] { ++lost_calls; };
  auto elector = std::make_unique<LeaderElector>(hanging, config("a"), callbacks);
  auto result = std::async(std::launch::async, [&] { return elector->run(); });
  auto cleanup = [&] {
    {
      std::lock_guard lock(work_mu);
      release_work = true;
    }
    work_cv.notify_all();
    hanging->unblock();
    elector->stop();
    if (result.valid()) {
      result.wait();
    }
  };
  struct Guard {
    std::function<void()> f;
    ~Guard() { f(); }
  } guard{cleanup};  // also when an assertion below returns early
  ASSERT_TRUE(eventually([&] { return elector->isLeader() && working; }));
  hanging->block();
  ASSERT_TRUE(eventually([&] { return clock_->waitersDueWithin(seconds(1)) == 1; }));  // idle
  clock_->advance(seconds(1));
  ASSERT_TRUE(eventually([&] { return hanging->hanging() == 1; }));  // a renewal hangs
  clock_->advance(seconds(10));                                      // past the renew deadline
  EXPECT_TRUE(eventually([&] { return lost_calls.load() == 1; }))
      << "on_lost_leadership waits for the work to return";
  EXPECT_TRUE(working);  // still running: the loss was reported before the work stopped
  cleanup();
  EXPECT_EQ(result.get().code(), core::StatusCode::kAborted);
  EXPECT_EQ(lost_calls.load(), 1);
}

TEST_F(LeaderElectionTest, AStoppedElectorDoesNotReportALostLease) {
  std::atomic<int> lost_calls{0};
  LeaderCallbacks callbacks;
  callbacks.on_started_leading = [](std::stop_token stop) {
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock lock(mu);
    cv.wait(lock, stop, [] { return false; });
  };
  callbacks.on_lost_leadership = [&] { ++lost_calls; };
  LeaderElector elector(fake_, config("a"), callbacks);
  auto result = std::async(std::launch::async, [&] { return elector.run(); });
  ASSERT_TRUE(eventually([&] { return elector.isLeader(); }));
  elector.stop();
  EXPECT_TRUE(result.get().isOk());
  EXPECT_EQ(lost_calls.load(), 0);
}

TEST_F(LeaderElectionTest, OnlyOneOfManyCandidatesLeads) {
  std::vector<std::unique_ptr<Candidate>> candidates;
  for (int i = 0; i < 5; ++i) {
    candidates.push_back(std::make_unique<Candidate>(fake_, config("c" + std::to_string(i))));
  }
  ASSERT_TRUE(eventually([&] { return !holder().empty(); }));
  for (int round = 0; round < 20; ++round) {
    advanceAndAwaitAttempts(seconds(1), candidates.size());  // every candidate tried again
    int leaders = 0;
    for (auto& c : candidates) {
      leaders += c->elector->isLeader() ? 1 : 0;
    }
    ASSERT_LE(leaders, 1);
  }
}

TEST(LeaderElectionConfigTest, RejectsADeadlineLongerThanTheLease) {
  LeaderElectionConfig c;
  c.lease_namespace = "ns";
  c.lease_name = "l";
  c.identity = "a";
  c.renew_deadline = seconds(20);
  EXPECT_DEATH(LeaderElector(std::make_shared<FakeClient>(), c, {}), "renew_deadline");
}

}  // namespace
}  // namespace novacron::runtime
