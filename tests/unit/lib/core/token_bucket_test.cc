// TokenBucket with an injected clock: burst, refill rate, queueing of reservations.
#include "lib/core/token_bucket.h"

#include <thread>

#include <gtest/gtest.h>

#include "tests/mocks/fake_clock.h"

namespace novacron::core {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

TEST(TokenBucketTest, BurstThenRate) {
  auto clock = std::make_shared<testing::FakeClock>();
  TokenBucket bucket(10.0, 3, clock);
  EXPECT_EQ(bucket.reserve(), nanoseconds(0));
  EXPECT_EQ(bucket.reserve(), nanoseconds(0));
  EXPECT_EQ(bucket.reserve(), nanoseconds(0));
  // Empty: the next token arrives after 1/qps, the one after that 2/qps (waiters queue up).
  EXPECT_EQ(bucket.reserve(), milliseconds(100));
  EXPECT_EQ(bucket.reserve(), milliseconds(200));
  EXPECT_FALSE(bucket.tryAccept());
  clock->advance(milliseconds(300));  // pays back the two reserved tokens and one more
  EXPECT_TRUE(bucket.tryAccept());
  EXPECT_FALSE(bucket.tryAccept());
}

TEST(TokenBucketTest, RefillCapsAtBurst) {
  auto clock = std::make_shared<testing::FakeClock>();
  TokenBucket bucket(100.0, 2, clock);
  EXPECT_TRUE(bucket.tryAccept());
  EXPECT_TRUE(bucket.tryAccept());
  EXPECT_FALSE(bucket.tryAccept());
  clock->advance(std::chrono::seconds(60));
  EXPECT_TRUE(bucket.tryAccept());
  EXPECT_TRUE(bucket.tryAccept());
  EXPECT_FALSE(bucket.tryAccept());
  clock->advance(milliseconds(10));
  EXPECT_TRUE(bucket.tryAccept());
}

TEST(TokenBucketTest, ZeroQpsIsUnlimited) {
  auto clock = std::make_shared<testing::FakeClock>();
  TokenBucket bucket(0, 1, clock);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(bucket.reserve(), nanoseconds(0));
  }
}

TEST(TokenBucketTest, AcceptWaitsOnTheClock) {
  auto clock = std::make_shared<testing::FakeClock>();
  TokenBucket bucket(10.0, 1, clock);
  bucket.accept();  // the burst token: no wait
  EXPECT_EQ(clock->waiters(), 0u);
  std::thread waiter([&] { bucket.accept(); });
  ASSERT_TRUE(clock->awaitWaiters(1));
  EXPECT_EQ(clock->nextDeadline(), clock->now() + milliseconds(100));
  clock->advance(milliseconds(100));
  waiter.join();
}

TEST(TokenBucketTest, FullOnceRefilled) {
  auto clock = std::make_shared<testing::FakeClock>();
  TokenBucket bucket(1.0, 2, clock);
  EXPECT_TRUE(bucket.full());
  EXPECT_TRUE(bucket.tryAccept());
  EXPECT_FALSE(bucket.full());
  clock->advance(std::chrono::seconds(1));
  EXPECT_TRUE(bucket.full());
}

}  // namespace
}  // namespace novacron::core
