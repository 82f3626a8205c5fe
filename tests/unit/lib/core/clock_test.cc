#include "lib/core/clock.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "tests/mocks/fake_clock.h"

using namespace std::chrono_literals;

namespace novacron::core {
namespace {

TEST(ClockTest, SystemClockIsMonotonicAndShared) {
  ClockPtr c = systemClock();
  EXPECT_EQ(c.get(), systemClock().get());
  auto a = c->now();
  auto b = c->now();
  EXPECT_LE(a, b);
  // Wall time is near the real calendar time (after 2020-01-01).
  EXPECT_GT(c->wallNow().time_since_epoch(), std::chrono::seconds(1'577'836'800));
}

TEST(ClockTest, FakeClockMovesOnlyWhenAdvanced) {
  testing::FakeClock fake;
  auto t0 = fake.now();
  auto w0 = fake.wallNow();
  EXPECT_EQ(fake.now(), t0);
  fake.advance(1500ms);
  EXPECT_EQ(fake.now() - t0, 1500ms);
  EXPECT_EQ(fake.wallNow() - w0, 1500ms);
}

TEST(ClockTest, SystemClockWaitEndsAtDeadlineOrWhenDone) {
  ClockPtr c = systemClock();
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  const auto start = c->now();
  EXPECT_FALSE(c->waitFor(lock, cv, 20ms, [] { return false; }));
  EXPECT_GE(c->now() - start, 20ms);
  EXPECT_TRUE(c->waitFor(lock, cv, 1h, [] { return true; }));
}

TEST(ClockTest, FakeClockAdvanceWakesWaiterAtItsDeadline) {
  testing::FakeClock fake;
  std::mutex mu;
  std::condition_variable_any cv;
  std::atomic<bool> woke{false};
  std::thread waiter([&] {
    std::unique_lock lock(mu);
    EXPECT_FALSE(fake.waitFor(lock, cv, 10s, [] { return false; }));
    woke = true;
  });
  ASSERT_TRUE(fake.awaitWaiters(1));
  ASSERT_TRUE(fake.nextDeadline().has_value());
  fake.advance(9s);  // not yet: the waiter re-checks and keeps waiting
  ASSERT_TRUE(fake.awaitWaiters(1));
  EXPECT_FALSE(woke.load());
  fake.advance(1s);
  waiter.join();
  EXPECT_TRUE(woke.load());
  EXPECT_EQ(fake.waiters(), 0u);
}

TEST(ClockTest, FakeClockWaiterWakesOnNotifyWhenDone) {
  testing::FakeClock fake;
  std::mutex mu;
  std::condition_variable_any cv;
  bool ready = false;  // guarded by mu
  std::thread waiter([&] {
    std::unique_lock lock(mu);
    EXPECT_TRUE(fake.waitFor(lock, cv, 1h, [&] { return ready; }));
  });
  ASSERT_TRUE(fake.awaitWaiters(1));
  {
    std::lock_guard lock(mu);
    ready = true;
  }
  cv.notify_all();
  waiter.join();
}

TEST(ClockTest, FakeClockSleepForReturnsWhenAdvanced) {
  testing::FakeClock fake;
  std::thread sleeper([&] { fake.sleepFor(5s); });
  ASSERT_TRUE(fake.awaitWaiters(1));
  fake.advance(5s);
  sleeper.join();
  EXPECT_EQ(fake.waiters(), 0u);
}

}  // namespace
}  // namespace novacron::core
