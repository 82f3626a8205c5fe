#include "lib/runtime/workqueue.h"

#include <atomic>
#include <future>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "tests/mocks/fake_clock.h"
#include "tests/testing/eventually.h"

namespace novacron::runtime {
namespace {

using novacron::testing::eventually;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Reads a metric value with the given name and label name=<queue> from a registry.
double metricValue(prometheus::Registry& registry, const std::string& family,
                   const std::string& queue) {
  for (const auto& f : registry.Collect()) {
    if (f.name != family) {
      continue;
    }
    for (const auto& m : f.metric) {
      for (const auto& l : m.label) {
        if (l.name == "name" && l.value == queue) {
          switch (f.type) {
          case prometheus::MetricType::Counter:
            return m.counter.value;
          case prometheus::MetricType::Gauge:
            return m.gauge.value;
          case prometheus::MetricType::Histogram:
            return static_cast<double>(m.histogram.sample_count);
          default:
            return -1;
          }
        }
      }
    }
  }
  return -1;
}

class WorkQueueTest : public ::testing::Test {
protected:
  WorkQueueOptions options(std::string name = "") {
    WorkQueueOptions o;
    o.name = std::move(name);
    o.clock = clock_;
    o.registry = registry_;
    return o;
  }

  std::shared_ptr<testing::FakeClock> clock_ = std::make_shared<testing::FakeClock>();
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
};

TEST_F(WorkQueueTest, DeduplicatesPendingKeys) {
  WorkQueue q(options());
  q.add("ns/a");
  q.add("ns/a");
  q.add("ns/b");
  q.add("ns/a");
  EXPECT_EQ(q.len(), 2u);
  EXPECT_EQ(q.get(), "ns/a");
  EXPECT_EQ(q.get(), "ns/b");
  EXPECT_EQ(q.len(), 0u);
  EXPECT_EQ(q.tryGet(milliseconds(0)), std::nullopt);
}

TEST_F(WorkQueueTest, KeyReaddedWhileProcessingIsQueuedAfterDone) {
  WorkQueue q(options());
  q.add("a");
  ASSERT_EQ(q.get(), "a");
  q.add("a");
  q.add("a");
  // Not handed to a second worker while the first still holds it.
  EXPECT_EQ(q.len(), 0u);
  EXPECT_EQ(q.tryGet(milliseconds(0)), std::nullopt);
  q.done("a");
  EXPECT_EQ(q.len(), 1u);
  EXPECT_EQ(q.get(), "a");
  q.done("a");
  EXPECT_EQ(q.len(), 0u);
}

TEST_F(WorkQueueTest, DoneWithoutReaddDoesNotRequeue) {
  WorkQueue q(options());
  q.add("a");
  ASSERT_EQ(q.get(), "a");
  q.done("a");
  EXPECT_EQ(q.len(), 0u);
  q.done("a");  // a second done is harmless
  EXPECT_EQ(q.len(), 0u);
}

TEST_F(WorkQueueTest, ConcurrentWorkersNeverShareAKeyAndLoseNoAdds) {
  WorkQueue q(WorkQueueOptions{});
  constexpr int kKeys = 40;
  constexpr int kProducers = 6;
  constexpr int kWorkers = 6;
  constexpr int kAddsPerProducer = 4000;
  std::array<std::atomic<int>, kKeys> generation{};
  std::array<std::atomic<int>, kKeys> in_flight{};
  std::array<std::atomic<int>, kKeys> processed_generation{};
  std::atomic<int> overlaps{0};
  std::atomic<int> processed{0};

  auto index = [](const std::string& key) { return std::stoi(key.substr(1)); };
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&] {
      while (auto key = q.get()) {
        const int i = index(*key);
        if (in_flight[i].fetch_add(1) != 0) {
          ++overlaps;
        }
        // Everything added before get() returned is covered by this pass.
        processed_generation[i] = generation[i].load();
        if (processed.fetch_add(1) % 7 == 0) {
          std::this_thread::yield();
        }
        in_flight[i].fetch_sub(1);
        q.done(*key);
      }
    });
  }
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      std::mt19937 rng(p);
      for (int n = 0; n < kAddsPerProducer; ++n) {
        const int i = static_cast<int>(rng() % kKeys);
        generation[i].fetch_add(1);
        q.add("k" + std::to_string(i));
      }
    });
  }
  for (auto& t : producers) {
    t.join();
  }
  q.shutDown();  // workers hand out what is left, then stop
  for (auto& t : workers) {
    t.join();
  }
  EXPECT_EQ(overlaps.load(), 0);
  for (int i = 0; i < kKeys; ++i) {
    EXPECT_EQ(processed_generation[i].load(), generation[i].load()) << "key k" << i;
  }
  // De-duplication: far fewer passes than adds.
  EXPECT_LT(processed.load(), kProducers * kAddsPerProducer);
  EXPECT_GE(processed.load(), kKeys);
}

TEST_F(WorkQueueTest, AddAfterReleasesInDueOrderOnTheClock) {
  WorkQueue q(options());
  q.addAfter("c", seconds(30));
  q.addAfter("a", seconds(10));
  q.addAfter("b", seconds(20));
  q.addAfter("now", seconds(0));
  EXPECT_EQ(q.numDelayed(), 3u);
  EXPECT_EQ(q.get(), "now");
  EXPECT_EQ(q.tryGet(milliseconds(0)), std::nullopt);
  clock_->advance(seconds(10));
  EXPECT_EQ(q.get(), "a");
  EXPECT_EQ(q.tryGet(milliseconds(0)), std::nullopt);
  clock_->advance(seconds(25));
  EXPECT_EQ(q.get(), "b");
  EXPECT_EQ(q.get(), "c");
  EXPECT_EQ(q.numDelayed(), 0u);
}

TEST_F(WorkQueueTest, AddAfterKeepsTheEarliestTimeForAKey) {
  WorkQueue q(options());
  q.addAfter("a", seconds(50));
  q.addAfter("a", seconds(5));
  q.addAfter("a", seconds(100));
  EXPECT_EQ(q.numDelayed(), 1u);
  clock_->advance(seconds(5));
  EXPECT_EQ(q.get(), "a");
  q.done("a");
  clock_->advance(seconds(200));
  // The superseded entries must not release the key again.
  EXPECT_EQ(q.tryGet(milliseconds(0)), std::nullopt);
}

TEST_F(WorkQueueTest, BlockedGetWakesForADelayedKey) {
  WorkQueue q(options());
  const auto due = clock_->now() + seconds(3);
  auto got = std::async(std::launch::async, [&] { return q.get(); });
  ASSERT_TRUE(clock_->awaitWaiters(1));
  q.addAfter("x", seconds(3));
  // The blocked get() now waits on the clock for exactly the key's due time.
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (clock_->nextDeadline() != due && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_EQ(clock_->nextDeadline(), due);
  clock_->advance(milliseconds(2999));
  EXPECT_EQ(q.len(), 0u);
  clock_->advance(milliseconds(1));
  EXPECT_EQ(got.get(), "x");
}

// The one real-time test here: it checks the system clock's waiting, not the queue's logic.
TEST_F(WorkQueueTest, DelayedKeyWithRealClockIsReleasedAfterItsDelay) {
  WorkQueue q(WorkQueueOptions{});
  const auto start = std::chrono::steady_clock::now();
  q.addAfter("x", milliseconds(30));
  EXPECT_EQ(q.get(), "x");
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(30));
}

TEST(RateLimiterTest, ItemExponentialBackoffDoublesToTheCapAndForgets) {
  ItemExponentialRateLimiter limiter(milliseconds(5), seconds(1000));
  std::vector<std::chrono::nanoseconds> got;
  for (int i = 0; i < 5; ++i) {
    got.push_back(limiter.when("a"));
  }
  EXPECT_EQ(got, (std::vector<std::chrono::nanoseconds>{milliseconds(5), milliseconds(10),
                                                        milliseconds(20), milliseconds(40),
                                                        milliseconds(80)}));
  EXPECT_EQ(limiter.numRequeues("a"), 5);
  EXPECT_EQ(limiter.when("b"), milliseconds(5));  // keys are independent
  for (int i = 0; i < 30; ++i) {
    (void)limiter.when("a");
  }
  EXPECT_EQ(limiter.when("a"), seconds(1000));
  for (int i = 0; i < 1000; ++i) {
    (void)limiter.when("a");
  }
  EXPECT_EQ(limiter.when("a"), seconds(1000));  // no overflow after many failures
  limiter.forget("a");
  EXPECT_EQ(limiter.numRequeues("a"), 0);
  EXPECT_EQ(limiter.when("a"), milliseconds(5));
}

TEST(RateLimiterTest, BucketAllowsBurstThenSpacesAtQps) {
  auto clock = std::make_shared<testing::FakeClock>();
  BucketRateLimiter limiter(10.0, 100, clock);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(limiter.when("k" + std::to_string(i)), std::chrono::nanoseconds(0)) << i;
  }
  EXPECT_EQ(limiter.when("x"), milliseconds(100));
  EXPECT_EQ(limiter.when("y"), milliseconds(200));
  clock->advance(seconds(1));
  // 10 tokens refilled, 2 were already promised: 8 free, then 100 ms apart again.
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(limiter.when("z"), std::chrono::nanoseconds(0)) << i;
  }
  EXPECT_EQ(limiter.when("z"), milliseconds(100));
  clock->advance(seconds(1000));
  EXPECT_EQ(limiter.when("z"), std::chrono::nanoseconds(0));  // capped at burst, not 10000
}

TEST(RateLimiterTest, DefaultControllerLimiterIsTheMaxOfBoth) {
  auto clock = std::make_shared<testing::FakeClock>();
  auto limiter = defaultControllerRateLimiter(clock);
  EXPECT_EQ(limiter->when("a"), milliseconds(5));
  EXPECT_EQ(limiter->when("a"), milliseconds(10));
  // Exhaust the bucket with other keys: the bucket delay then dominates a fresh key's 5 ms.
  for (int i = 0; i < 98; ++i) {
    (void)limiter->when("k" + std::to_string(i));
  }
  EXPECT_EQ(limiter->when("fresh"), milliseconds(100));
  EXPECT_EQ(limiter->numRequeues("a"), 2);
  limiter->forget("a");
  EXPECT_EQ(limiter->numRequeues("a"), 0);
}

TEST_F(WorkQueueTest, AddRateLimitedBacksOffPerKeyAndCountsRetries) {
  WorkQueue q(options("rl"));
  q.addRateLimited("a");  // 5 ms
  EXPECT_EQ(q.tryGet(milliseconds(0)), std::nullopt);
  clock_->advance(milliseconds(5));
  ASSERT_EQ(q.get(), "a");
  q.addRateLimited("a");  // 10 ms
  q.done("a");
  clock_->advance(milliseconds(9));
  EXPECT_EQ(q.tryGet(milliseconds(0)), std::nullopt);
  clock_->advance(milliseconds(1));
  ASSERT_EQ(q.get(), "a");
  EXPECT_EQ(q.numRequeues("a"), 2);
  q.forget("a");
  q.done("a");
  EXPECT_EQ(q.numRequeues("a"), 0);
  EXPECT_EQ(metricValue(*registry_, "workqueue_retries_total", "rl"), 2);
}

TEST_F(WorkQueueTest, ShutDownWakesBlockedGetAndIgnoresNewAdds) {
  WorkQueue q(options());
  auto got = std::async(std::launch::async, [&] { return q.get(); });
  ASSERT_TRUE(clock_->awaitWaiters(1));  // get() is blocked
  q.shutDown();
  EXPECT_EQ(got.get(), std::nullopt);
  EXPECT_TRUE(q.shuttingDown());
  q.add("late");
  q.addAfter("later", seconds(1));
  EXPECT_EQ(q.len(), 0u);
  EXPECT_EQ(q.numDelayed(), 0u);
}

TEST_F(WorkQueueTest, ShutDownStillHandsOutQueuedKeys) {
  WorkQueue q(options());
  q.add("a");
  q.add("b");
  q.addAfter("delayed", seconds(1));
  q.shutDown();
  EXPECT_EQ(q.get(), "a");
  EXPECT_EQ(q.get(), "b");
  EXPECT_EQ(q.get(), std::nullopt);  // delayed keys are dropped
}

TEST_F(WorkQueueTest, ShutDownWithDrainWaitsForInFlightKeys) {
  WorkQueue q(options());
  q.add("a");
  ASSERT_EQ(q.get(), "a");
  auto drained = std::async(std::launch::async, [&] { q.shutDownWithDrain(); });
  // Shutdown is already in effect while draining. The 60 s deadlines only bound a hang: on a
  // loaded machine the drain thread can take seconds to start or to return. (EXPECT, not ASSERT:
  // returning early would leave `drained` waiting for "a" in its destructor.)
  EXPECT_TRUE(eventually([&] { return q.shuttingDown(); }, seconds(60)));
  // "a" is still in flight, so the drain cannot have finished.
  EXPECT_EQ(drained.wait_for(milliseconds(0)), std::future_status::timeout);
  q.done("a");
  EXPECT_EQ(drained.wait_for(seconds(60)), std::future_status::ready);
}

TEST_F(WorkQueueTest, ExportsControllerRuntimeMetrics) {
  WorkQueue q(options("vm"));
  q.add("a");
  q.add("a");
  q.add("b");
  EXPECT_EQ(metricValue(*registry_, "workqueue_adds_total", "vm"), 3);
  EXPECT_EQ(metricValue(*registry_, "workqueue_depth", "vm"), 2);
  ASSERT_EQ(q.get(), "a");
  EXPECT_EQ(metricValue(*registry_, "workqueue_depth", "vm"), 1);
  EXPECT_EQ(metricValue(*registry_, "workqueue_queue_duration_seconds", "vm"), 1);
  clock_->advance(seconds(2));
  ASSERT_EQ(q.get(), "b");
  EXPECT_DOUBLE_EQ(metricValue(*registry_, "workqueue_longest_running_processor_seconds", "vm"),
                   2.0);
  q.done("a");
  q.done("b");
  EXPECT_EQ(metricValue(*registry_, "workqueue_work_duration_seconds", "vm"), 2);
  EXPECT_EQ(metricValue(*registry_, "workqueue_unfinished_work_seconds", "vm"), 0);
}

}  // namespace
}  // namespace novacron::runtime
