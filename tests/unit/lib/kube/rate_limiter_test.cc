// TokenBucket with an injected clock: burst, refill rate, queueing of reservations.
#include "lib/kube/rate_limiter.h"

#include <gtest/gtest.h>

#include "tests/mocks/fake_clock.h"

namespace novacron::kube {
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

}  // namespace
}  // namespace novacron::kube
