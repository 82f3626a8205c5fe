#include "lib/runtime/controller.h"

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "tests/mocks/fake_clock.h"
#include "tests/testing/eventually.h"

namespace novacron::runtime {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

using testing::eventually;

class ControllerTest : public ::testing::Test {
protected:
  ControllerOptions options(int workers = 1) {
    ControllerOptions o;
    o.name = "test";
    o.workers = workers;
    o.clock = clock_;
    o.registry = registry_;
    return o;
  }
  double reconciles(const std::string& result) {
    for (const auto& f : registry_->Collect()) {
      if (f.name != "controller_runtime_reconcile_total") {
        continue;
      }
      for (const auto& m : f.metric) {
        for (const auto& l : m.label) {
          if (l.name == "result" && l.value == result) {
            return m.counter.value;
          }
        }
      }
    }
    return -1;
  }
  int calls(const std::string& key) {
    std::lock_guard lock(mu_);
    return calls_[key];
  }
  void count(const std::string& key) {
    std::lock_guard lock(mu_);
    ++calls_[key];
  }

  std::shared_ptr<testing::FakeClock> clock_ = std::make_shared<testing::FakeClock>();
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  std::mutex mu_;
  std::map<std::string, int> calls_;
};

TEST_F(ControllerTest, WaitsForCachesToSyncBeforeReconciling) {
  std::mutex sync_mu;
  std::condition_variable_any sync_cv;
  bool synced = false;  // guarded by sync_mu
  std::atomic<int> sync_waits{0};
  auto o = options();
  o.synced = {[&](milliseconds timeout) {
    ++sync_waits;
    std::unique_lock lock(sync_mu);
    return sync_cv.wait_for(lock, timeout, [&] { return synced; });
  }};
  Controller c(std::move(o), [&](const std::string& key) -> core::StatusOr<ReconcileResult> {
    count(key);
    return ReconcileResult::done();
  });
  c.queue().add("ns/a");
  c.start();
  // The controller has waited for the cache at least once and is waiting again: an observable
  // attempt, so "nothing reconciled yet" cannot pass vacuously.
  ASSERT_TRUE(eventually([&] { return sync_waits.load() >= 2; }));
  EXPECT_FALSE(c.running());
  EXPECT_EQ(calls("ns/a"), 0);
  {
    std::lock_guard lock(sync_mu);
    synced = true;
  }
  sync_cv.notify_all();
  EXPECT_TRUE(eventually([&] { return calls("ns/a") == 1; }));
  EXPECT_TRUE(c.running());
  EXPECT_TRUE(eventually([&] { return reconciles("success") == 1; }));
}

TEST_F(ControllerTest, RetryableErrorsBackOffPerKeyUntilSuccess) {
  std::atomic<int> failures_left{3};
  Controller c(options(), [&](const std::string& key) -> core::StatusOr<ReconcileResult> {
    count(key);
    if (failures_left.fetch_sub(1) > 0) {
      return core::unavailableError("libvirt down");
    }
    return ReconcileResult::done();
  });
  c.start();
  c.queue().add("k");
  ASSERT_TRUE(eventually([&] { return calls("k") == 1; }));
  // Backoff 5 ms, 10 ms, 20 ms on the fake clock: nothing happens until it moves.
  for (auto [delay, expected] : std::vector<std::pair<milliseconds, int>>{
           {milliseconds(5), 2}, {milliseconds(10), 3}, {milliseconds(20), 4}}) {
    ASSERT_TRUE(eventually([&] { return c.queue().numDelayed() == 1; }));
    EXPECT_EQ(calls("k"), expected - 1);
    clock_->advance(delay);
    ASSERT_TRUE(eventually([&] { return calls("k") == expected; })) << expected;
  }
  EXPECT_TRUE(eventually([&] { return reconciles("success") == 1; }));
  EXPECT_EQ(reconciles("error"), 3);
  EXPECT_EQ(c.queue().numRequeues("k"), 0);  // forgotten after success
}

TEST_F(ControllerTest, NotFoundFromASubCallIsRetried) {
  // Only core::terminal() stops retries: a NotFound (e.g. a Secret not created yet) is retried.
  Controller c(options(), [&](const std::string& key) -> core::StatusOr<ReconcileResult> {
    count(key);
    if (calls(key) == 1) {
      return core::notFoundError("secret default/tls not found");
    }
    return ReconcileResult::done();
  });
  c.start();
  c.queue().add("k");
  ASSERT_TRUE(eventually([&] { return c.queue().numDelayed() == 1; }));
  EXPECT_EQ(calls("k"), 1);
  clock_->advance(milliseconds(5));
  EXPECT_TRUE(eventually([&] { return reconciles("success") == 1; }));
  EXPECT_EQ(calls("k"), 2);
  EXPECT_EQ(reconciles("error"), 1);
}

TEST_F(ControllerTest, UnmarkedInvalidArgumentIsRetriedToo) {
  Controller c(options(), [&](const std::string& key) -> core::StatusOr<ReconcileResult> {
    count(key);
    return calls(key) == 1 ? core::StatusOr<ReconcileResult>(core::invalidArgumentError("x"))
                           : ReconcileResult::done();
  });
  c.start();
  c.queue().add("k");
  ASSERT_TRUE(eventually([&] { return c.queue().numDelayed() == 1; }));
  clock_->advance(milliseconds(5));
  EXPECT_TRUE(eventually([&] { return calls("k") == 2; }));
}

TEST_F(ControllerTest, TerminalErrorsAreNotRetried) {
  Controller c(options(), [&](const std::string& key) -> core::StatusOr<ReconcileResult> {
    count(key);
    return core::terminal(core::invalidArgumentError("spec.cpus: must be positive"));
  });
  c.start();
  c.queue().add("k");
  ASSERT_TRUE(eventually([&] { return reconciles("error") == 1; }));
  clock_->advance(seconds(3600));
  EXPECT_EQ(c.queue().numDelayed(), 0u);
  EXPECT_EQ(c.queue().len(), 0u);
  EXPECT_EQ(calls("k"), 1);
  // A change to the object (a new add) reconciles it again.
  c.queue().add("k");
  EXPECT_TRUE(eventually([&] { return calls("k") == 2; }));
}

TEST_F(ControllerTest, RetryAfterFromTheErrorIsHonoured) {
  Controller c(options(), [&](const std::string& key) -> core::StatusOr<ReconcileResult> {
    count(key);
    if (calls(key) == 1) {
      return core::resourceExhaustedError("429").withRetryAfter(seconds(7));
    }
    return ReconcileResult::done();
  });
  c.start();
  const auto due = clock_->now() + seconds(7);
  c.queue().add("k");
  ASSERT_TRUE(eventually([&] { return c.queue().numDelayed() == 1; }));
  // The worker waits on the clock for exactly the Retry-After, not the 5 ms backoff.
  ASSERT_TRUE(eventually([&] { return clock_->nextDeadline() == due; }));
  clock_->advance(seconds(6));
  ASSERT_TRUE(eventually([&] { return clock_->nextDeadline() == due; }));
  EXPECT_EQ(calls("k"), 1);
  clock_->advance(seconds(1));
  EXPECT_TRUE(eventually([&] { return calls("k") == 2; }));
}

TEST_F(ControllerTest, RequeueAfterAndRequeue) {
  Controller c(options(), [&](const std::string& key) -> core::StatusOr<ReconcileResult> {
    count(key);
    if (key == "periodic" && calls(key) == 1) {
      return ReconcileResult::after(seconds(30));
    }
    if (key == "again" && calls(key) == 1) {
      return ReconcileResult{true, {}};
    }
    return ReconcileResult::done();
  });
  c.start();
  c.queue().add("periodic");
  c.queue().add("again");
  ASSERT_TRUE(eventually([&] { return c.queue().numDelayed() == 2; }));
  clock_->advance(milliseconds(5));  // rate-limited requeue: first backoff step
  EXPECT_TRUE(eventually([&] { return calls("again") == 2; }));
  EXPECT_EQ(calls("periodic"), 1);
  clock_->advance(seconds(30));
  EXPECT_TRUE(eventually([&] { return calls("periodic") == 2; }));
  EXPECT_EQ(reconciles("requeue_after"), 1);
  EXPECT_EQ(reconciles("requeue"), 1);
}

TEST_F(ControllerTest, ExceptionsAreRetriedNotFatal) {
  Controller c(options(), [&](const std::string& key) -> core::StatusOr<ReconcileResult> {
    count(key);
    if (calls(key) == 1) {
      throw std::runtime_error("boom");
    }
    return ReconcileResult::done();
  });
  c.start();
  c.queue().add("k");
  ASSERT_TRUE(eventually([&] { return c.queue().numDelayed() == 1; }));
  clock_->advance(milliseconds(5));
  EXPECT_TRUE(eventually([&] { return reconciles("success") == 1; }));
}

TEST_F(ControllerTest, WorkersRunInParallelButNeverOnTheSameKey) {
  constexpr int kWorkers = 4;
  std::atomic<int> active{0};
  std::atomic<int> max_active{0};
  std::mutex keys_mu;
  std::set<std::string> in_flight;
  std::atomic<int> overlaps{0};
  std::atomic<int> total{0};
  Controller c(options(kWorkers), [&](const std::string& key) -> core::StatusOr<ReconcileResult> {
    {
      std::lock_guard lock(keys_mu);
      if (!in_flight.insert(key).second) {
        ++overlaps;
      }
    }
    const int now = ++active;
    int seen = max_active.load();
    while (now > seen && !max_active.compare_exchange_weak(seen, now)) {
    }
    // Real work takes time; this real sleep lets the workers overlap (what the test checks).
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    --active;
    {
      std::lock_guard lock(keys_mu);
      in_flight.erase(key);
    }
    ++total;
    return ReconcileResult::done();
  });
  c.start();
  for (int round = 0; round < 50; ++round) {
    for (int k = 0; k < 8; ++k) {
      c.queue().add("k" + std::to_string(k));
    }
    std::this_thread::yield();
  }
  ASSERT_TRUE(eventually([&] { return c.queue().len() == 0 && active == 0; }));
  c.stop();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_GE(max_active.load(), 2);
  EXPECT_LE(max_active.load(), kWorkers);
  EXPECT_GE(total.load(), 8);
}

TEST_F(ControllerTest, StopWaitsForARunningReconcile) {
  std::promise<void> entered;
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<bool> finished{false};
  Controller c(options(), [&](const std::string&) -> core::StatusOr<ReconcileResult> {
    entered.set_value();
    released.wait();
    finished = true;
    return ReconcileResult::done();
  });
  c.start();
  c.queue().add("k");
  entered.get_future().wait();
  auto stopped = std::async(std::launch::async, [&] { c.stop(); });
  ASSERT_TRUE(eventually([&] { return c.queue().shuttingDown(); }));  // stop() has begun
  EXPECT_EQ(stopped.wait_for(milliseconds(0)), std::future_status::timeout);
  release.set_value();
  stopped.wait();
  EXPECT_TRUE(finished.load());
  EXPECT_FALSE(c.running());
}

TEST_F(ControllerTest, ResyncRunsEveryPeriodOnTheClock) {
  std::atomic<int> resyncs{0};
  auto o = options();
  o.resync = seconds(30);
  o.on_resync = [&](WorkQueue& queue) {
    ++resyncs;
    queue.add("resynced");
  };
  Controller c(std::move(o), [&](const std::string& key) -> core::StatusOr<ReconcileResult> {
    count(key);
    return ReconcileResult::done();
  });
  c.start();
  // Workers and the resync loop wait on the clock; the resync's deadline is 30 s away.
  ASSERT_TRUE(eventually([&] { return c.running() && clock_->waiters() >= 2; }));
  EXPECT_EQ(resyncs.load(), 0);
  clock_->advance(seconds(30));
  EXPECT_TRUE(eventually([&] { return calls("resynced") == 1; }));
  EXPECT_EQ(resyncs.load(), 1);
  ASSERT_TRUE(eventually([&] { return clock_->waiters() >= 2; }));
  clock_->advance(seconds(30));
  EXPECT_TRUE(eventually([&] { return calls("resynced") == 2; }));
  c.stop();  // wakes the resync loop without advancing the clock
}

}  // namespace
}  // namespace novacron::runtime
