#include "lib/core/backoff.h"

#include <gtest/gtest.h>

using namespace std::chrono_literals;

namespace novacron::core {
namespace {

TEST(BackoffTest, GrowsExponentiallyWithoutJitterAndCaps) {
  ExponentialBackoff b({.initial = 100ms, .max = 1s, .multiplier = 2.0, .jitter = 0.0});
  EXPECT_EQ(b.next(), 100ms);
  EXPECT_EQ(b.next(), 200ms);
  EXPECT_EQ(b.next(), 400ms);
  EXPECT_EQ(b.next(), 800ms);
  EXPECT_EQ(b.next(), 1000ms);
  EXPECT_EQ(b.next(), 1000ms);
  EXPECT_EQ(b.attempts(), 6);
}

TEST(BackoffTest, ResetStartsOver) {
  ExponentialBackoff b({.initial = 10ms, .max = 1s, .multiplier = 3.0, .jitter = 0.0});
  (void)b.next();
  (void)b.next();
  b.reset();
  EXPECT_EQ(b.attempts(), 0);
  EXPECT_EQ(b.next(), 10ms);
}

TEST(BackoffTest, JitterAddsUpToTheConfiguredFraction) {
  double u = 0.0;
  ExponentialBackoff b({.initial = 100ms, .max = 10s, .multiplier = 2.0, .jitter = 0.5},
                       [&u] { return u; });
  u = 0.0;
  EXPECT_EQ(b.next(), 100ms);
  u = 0.999999;
  EXPECT_EQ(b.next(), 299ms);  // 200 * (1 + 0.5 * 0.999999)
  u = 0.5;
  EXPECT_EQ(b.next(), 500ms);  // 400 * 1.25
}

TEST(BackoffTest, JitterNeverExceedsMax) {
  ExponentialBackoff b({.initial = 1s, .max = 1s, .multiplier = 2.0, .jitter = 1.0},
                       [] { return 0.99; });
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(b.next(), 1s);
  }
}

TEST(BackoffTest, RandomJitterStaysInRange) {
  ExponentialBackoff b({.initial = 100ms, .max = 1h, .multiplier = 1.0, .jitter = 0.2});
  for (int i = 0; i < 1000; ++i) {
    auto d = b.next();
    EXPECT_GE(d, 100ms);
    EXPECT_LE(d, 120ms);
  }
}

TEST(BackoffTest, ManyAttemptsDoNotOverflow) {
  ExponentialBackoff b({.initial = 5ms, .max = 1000s, .multiplier = 2.0, .jitter = 0.0});
  std::chrono::milliseconds last{0};
  for (int i = 0; i < 5000; ++i) {
    last = b.next();
  }
  EXPECT_EQ(last, 1000s);
}

}  // namespace
}  // namespace novacron::core
